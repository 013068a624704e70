from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Create the public tenant, its domain and the migrated lender template schema (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--spares", type=int, default=0, help="also clone this many spare schemas for instant provisioning")

    def handle(self, *args, **options):
        services.ensure_public_tenant()
        template = services.ensure_template()
        services.ensure_clone_function(refresh=True)  # pick up a newer django-tenants' clone_schema()
        if options["spares"]:
            services.ensure_spare_schemas(count=options["spares"])
        self.stdout.write(f"platform ready; template schema {template.schema_name}")
