import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services


class Command(BaseCommand):
    help = "Provision a lender: organisation, schema (cloned from the template) and domain."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--domain", default=None)
        parser.add_argument(
            "--replay-migrations", action="store_true", help="migrate the new schema from scratch instead of cloning the template"
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, slug, name, domain, replay_migrations, json: bool, **options):
        services.ensure_public_tenant()
        started = time.perf_counter()
        try:
            lender = services.create_lender(slug=slug, name=name, domain=domain, clone=not replay_migrations)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        seconds = time.perf_counter() - started
        result = {"slug": slug, "schema": lender.schema_name, "domain": lender.get_primary_domain().domain, "seconds": round(seconds, 3)}
        if json:
            self.stdout.write(__import__("json").dumps(result))
        else:
            self.stdout.write(f"Lender {name} ready at {result['domain']} (schema {lender.schema_name}) in {seconds:.2f} s")
