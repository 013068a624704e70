import argparse
import json
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from demo import seeding as demo
from tenants import services
from tenants.models import Lender


def foreign_lenders(*, cast, existing) -> list[str]:
    """Slugs of the ``existing`` (slug, name) lenders that are not the demo's own: a demo lender has the slug
    and the name the cast gives it. Any other lender is real, or might be, and the demo must not join it."""
    own = {(spec.slug, spec.name) for spec in cast.lenders}
    return sorted(slug for slug, name in existing if (slug, name) not in own)


class Command(BaseCommand):
    help = "Create the demo: two lenders, their agencies and law firm, a login for every role, realistic cases (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=demo.DEFAULT_CASES_PER_LENDER, help="cases per lender (default 200)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object describing logins and canary cases")
        parser.add_argument("--force", action="store_true", help="seed even with DEBUG off (the demo's passwords and 2FA keys are public)")
        # Tests seed a second, renamed cast next to the test world's acme/beta (which they name with --beside).
        parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
        parser.add_argument("--beside", action="append", default=[], help=argparse.SUPPRESS)

    def handle(self, *args, cases: int, as_json: bool, force: bool, prefix: str, beside: list, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo logins with DEBUG off; pass --force if this really is a demo site.")
        if cases < 0:
            raise CommandError("--cases must not be negative.")
        cast = demo.demo_cast(prefix=prefix)
        existing = [(lender.slug, lender.name) for lender in Lender.objects.serving().select_related("organisation")]
        foreign = [slug for slug in foreign_lenders(cast=cast, existing=existing) if slug not in beside]
        if foreign:
            # Not even --force: the demo's passwords and 2FA keys are public, and never belong next to real debtors' data.
            raise CommandError(f"Refusing to seed the demo: this database holds lenders the demo did not create ({', '.join(foreign)}).")
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
            self.stdout.write(
                f"{lender.slug}: {lender.cases} cases ({lender.cases_created} new), {lender.placements} placements"
                f" ({lender.placements_created} new), {lender.matters_created} new litigation matters, subscription: {lender.billing}"
            )
        self.stdout.write(f"Demo ready in {seconds:.1f} s.\n")
        self.stdout.write(demo.format_logins(summary=summary, url=services.public_url("/")))
