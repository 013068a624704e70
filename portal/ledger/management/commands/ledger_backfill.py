"""python manage.py ledger_backfill [--tenant SLUG] [--batch N]: post to the fee ledger every source row recorded
before it existed (payments, reversals, corrections, commission lines, legal costs). Idempotent: a second run
posts nothing; each batch is one transaction, so an interrupted run is resumed by running it again."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from tenants.models import Lender


class Command(BaseCommand):
    help = "Post every existing payment, reversal, correction, commission line and legal cost not yet on the fee ledger."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="one lender's organisation slug (default: every lender)")
        parser.add_argument("--batch", type=int, default=500, help="source rows per transaction (default 500)")

    def handle(self, *args, tenant=None, batch=500, **options):
        from portal.ledger import sources

        lenders = Lender.objects.serving().select_related("organisation").order_by("schema_name")
        if tenant:
            lenders = lenders.filter(organisation__slug=tenant)
            if not lenders.exists():
                raise CommandError(f"no lender with the slug {tenant!r}")
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        verbose = options.get("verbosity", 1) > 1
        for lender in lenders:
            with tenant_context(lender):
                posted = sources.backfill(batch_size=batch, log=self.stdout.write if verbose else None)
            summary = ", ".join(f"{name} {count}" for name, count in posted.items())
            self.stdout.write(f"{lender.organisation.slug}: {summary}")
