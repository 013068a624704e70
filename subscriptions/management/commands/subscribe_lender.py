"""manage.py subscribe_lender SLUG --plan starter [--card 4242424242424242]: the platform screen's subscribe, for
operations and the demo (the card only against localstripe)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from subscriptions import services
from subscriptions.models import Plan
from tenants.models import Lender


class Command(BaseCommand):
    help = "Subscribe a lender to a plan through Stripe Billing."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--plan", default="")
        parser.add_argument("--card", default="", help="a Stripe test card number (demo mode only)")

    def handle(self, *args, slug, plan, card, **options):
        try:
            lender = Lender.objects.serving().get(organisation__slug=slug)
        except Lender.DoesNotExist as error:
            raise CommandError(f"no lender {slug!r}") from error
        chosen = Plan.objects.get(code=plan) if plan else Plan.objects.order_by("monthly_price").first()
        try:
            subscription = services.subscribe(lender=lender, plan=chosen, card_number=card or None)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{lender.slug}: {subscription.plan.code} {subscription.status} read_only={subscription.read_only}")
