import argparse
import json
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal import demo
from tenants import services


class Command(BaseCommand):
    help = "Create the demo: two lenders, their agencies and law firm, a login for every role, realistic cases (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=demo.DEFAULT_CASES_PER_LENDER, help="cases per lender (default 200)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object describing logins and canary cases")
        parser.add_argument("--force", action="store_true", help="seed even with DEBUG off (the demo's passwords and 2FA keys are public)")
        # Tests seed a second, renamed cast next to the test world's acme/beta.
        parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)

    def handle(self, *args, cases: int, as_json: bool, force: bool, prefix: str, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo logins with DEBUG off; pass --force if this really is a demo site.")
        if cases < 0:
            raise CommandError("--cases must not be negative.")
        cast = demo.demo_cast(prefix=prefix)
        started = time.perf_counter()
        try:
            report = demo.seed_demo(cast=cast, cases_per_lender=cases)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        seconds = time.perf_counter() - started
        summary = demo.describe_demo(cast=cast)
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        for lender in report.lenders:
            self.stdout.write(f"{lender.slug}: {lender.cases} cases ({lender.cases_created} new), {lender.placements} placements ({lender.placements_created} new)")
        self.stdout.write(f"Demo ready in {seconds:.1f} s.\n")
        self.stdout.write(demo.format_logins(summary=summary, url=services.public_url("/")))
