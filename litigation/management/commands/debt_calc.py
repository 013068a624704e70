"""`python manage.py debt_calc FILE [--json]`: the debt calculation statement (债权计算表) of one accelerated loan
described in a JSON file — the same function the statement and the filing packet use (litigation.debt)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _, gettext_lazy

from litigation.debt import COMPONENT_LABELS, LoanTerms, calculate, money_text, rate_text

KIND_LABELS = {
    "interest": gettext_lazy("Interest"),
    "penalty_interest": gettext_lazy("Penalty interest"),
    "compound_interest": gettext_lazy("Compound interest"),
    "payment": gettext_lazy("Payment"),
    "cap_reduction": gettext_lazy("Cap reduction"),
}


class Command(BaseCommand):
    help = gettext_lazy(
        "The debt calculation of one loan after acceleration, from a JSON file (principal, annual_rate, penalty_rate, compound, "
        "basis, interest_from, due_date, cutoff, payments, lender_type, contract_date, apply_cap)."
    )
    requires_system_checks = []  # a calculation: nothing to check, no database
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) with FILE "-"

    def add_arguments(self, parser):
        parser.add_argument("file", help=gettext_lazy("the JSON description of the loan ('-' reads standard input)"))
        parser.add_argument("--json", action="store_true", help=gettext_lazy("print the statement as a JSON object"))

    def handle(self, *args, file: str, **options):
        try:
            text = (options.get("stdin") or sys.stdin).read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror or error}) from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(_("%(file)s is not valid JSON: %(error)s") % {"file": file, "error": error}) from error
        try:
            statement = calculate(LoanTerms.from_json(data))
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(statement.as_json(), ensure_ascii=False))
            return
        self.write_table(statement)

    def write_table(self, statement):
        rows = [
            (
                segment.start.isoformat(),
                segment.end.isoformat(),
                str(segment.days),
                str(KIND_LABELS[segment.kind]),
                segment.formula,
                ("-" if segment.kind in ("payment", "cap_reduction") else "") + money_text(segment.amount),
            )
            for segment in statement.segments
        ]
        header = (_("From"), _("To"), _("Days"), _("Item"), _("Formula"), _("Amount"))
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
        for row in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
            self.stdout.write("  ".join([*cells, row[-1].rjust(widths[-1])]))
        self.stdout.write("")
        for label, amount in (
            (COMPONENT_LABELS["principal"], statement.principal),
            (COMPONENT_LABELS["interest"], statement.interest),
            (COMPONENT_LABELS["penalty_interest"], statement.penalty_interest),
            (COMPONENT_LABELS["compound_interest"], statement.compound_interest),
            (COMPONENT_LABELS["fees"], statement.fees),
            (_("total"), statement.total),
        ):
            self.stdout.write(f"{str(label):<20}{money_text(amount):>16}")
        cap = statement.cap
        if cap is not None:
            self.stdout.write("")
            state = _("applied") if cap.applied else (_("not applied") if cap.reduction else _("not exceeded"))
            self.stdout.write(
                _("Cap %(limit)s%% a year: charged %(charged)s, allowed %(allowed)s, reduction %(reduction)s (%(state)s).")
                % {
                    "limit": rate_text(cap.limit),
                    "charged": money_text(cap.charged),
                    "allowed": money_text(cap.allowed),
                    "reduction": money_text(cap.reduction),
                    "state": state,
                }
            )
            self.stdout.write(cap.basis)
        self.stdout.write("")
        for text in statement.conventions:
            self.stdout.write(f"* {text}")
