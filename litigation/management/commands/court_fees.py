"""`python manage.py court_fees --amount X [--preserved Y] [--json]`: the court fees of a claim (诉讼费用交纳办法 arts. 13–16)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _, gettext_lazy

from litigation.court_fees import court_fees
from portal.lib.money import format_cny

LABELS = (
    ("amount", gettext_lazy("Claim amount")),
    ("acceptance_fee", gettext_lazy("Acceptance fee (art. 13)")),
    ("summary_procedure_fee", gettext_lazy("Acceptance fee halved: summary procedure, mediation or withdrawal (arts. 15–16)")),
    ("preservation_fee", gettext_lazy("Preservation fee (art. 14(2), at most 5,000)")),
    ("enforcement_fee", gettext_lazy("Enforcement fee (art. 14(1), paid after enforcement)")),
    ("payment_order_fee", gettext_lazy("Payment order fee (art. 14(3), one third)")),
)


class Command(BaseCommand):
    help = gettext_lazy("The court fees of a money claim under the Measures on the Payment of Litigation Costs (arts. 13–16).")
    requires_system_checks = []  # a calculation: nothing to check, no database

    def add_arguments(self, parser):
        parser.add_argument("--amount", required=True, help=gettext_lazy("the claim amount in yuan, e.g. 35000 or 10000.01"))
        parser.add_argument("--preserved", help=gettext_lazy("the amount preserved, if not the whole claim"))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("print the fees as a JSON object"))

    def handle(self, *args, **options):
        try:
            fees = court_fees(options["amount"], preserved=options["preserved"])
        except (TypeError, ValueError) as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(fees.as_json(), ensure_ascii=False))
            return
        rows = [(str(label), format_cny(getattr(fees, field))) for field, label in LABELS]
        width = max(len(label) for label, _value in rows)
        for label, value in rows:
            self.stdout.write(f"{label:<{width}}  {value:>16}")
        self.stdout.write(_("Rounded half up to the fen; the court's fee notice prevails."))
