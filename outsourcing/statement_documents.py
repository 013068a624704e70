"""The commission statement's lines (佣金结算单明细): what the "commission" kind shows on screen and in its files.

``lines_of(statement)`` reads the statement's commission lines once, in their order (earned before its clawback);
``outsourcing.statements.rows`` turns them into the core's rows, and ``portal/fees/documents.py`` writes the one
document every kind of statement shares (screen, CSV, XLSX, and the PDF issued to the agency, byte-for-byte
reproducible, its SHA-256 stored), its totals summed from those rows (``sum_rows``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.utils.translation import gettext as _

from portal.fees.models import Statement


@dataclass(frozen=True)
class Line:
    contract_no: str
    paid_on: datetime.date
    reference: str
    bucket: str
    round: int
    rate: Decimal  # a fraction, as stored (0.1600)
    recovered: Decimal
    commission: Decimal
    payment_id: object = None  # for the screen (open disputes); not written to files
    line_id: object = None  # the CommissionLine (what a statement line dispute points to)
    case_id: object = None
    clawback: bool = False  # a reversed payment's line: dated the reversal, amounts negative
    adjustment: bool = False  # an earlier payment was reversed and this one applied again (民法典 art. 561): the difference

    @property
    def shown_reference(self) -> str:
        """The reference as the files show it, a clawback marked (in the active language: the PDF renders in its own)."""
        if self.clawback:
            marker = _("(reversed: clawback)")  # outside the f-string, where makemessages finds it
        elif self.adjustment:
            marker = _("(applied again after a reversal)")
        else:
            return self.reference
        return f"{self.reference} {marker}"

    @property
    def round_label(self) -> str:
        from .forms import round_label

        return round_label(self.round)


def lines_of(statement: Statement) -> tuple[Line, ...]:
    """The statement's commission lines in their order: by date, contract and payment, each earned line before its
    clawback."""
    return tuple(
        Line(
            contract_no=row.case.contract_no,
            paid_on=row.paid_on,
            reference=row.payment.reference,
            bucket=row.bucket,
            round=row.round,
            rate=row.rate,
            recovered=row.recovered,
            commission=row.commission,
            payment_id=row.payment_id,
            line_id=row.pk,
            case_id=row.case_id,
            clawback=row.reversal_id is not None,
            adjustment=row.correction_id is not None,
        )
        for row in statement.lines.select_related("case", "payment").order_by(
            "paid_on", "case__contract_no", "payment__reference", F("reversal").asc(nulls_first=True), "id"
        )
    )
