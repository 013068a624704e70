"""The commission statement's lines (佣金结算单明细): what the "commission" kind shows on screen and in its files.

``build(statement)`` reads the statement's commission lines once, in their order (earned before its clawback);
``outsourcing.statements.rows`` turns them into the core's rows, and ``portal/fees/documents.py`` writes the one
document every kind of statement shares (screen, CSV, XLSX, and the PDF issued to the agency, byte-for-byte
reproducible, its SHA-256 stored). Totals are summed from the lines (``sum_lines``), so every file reconciles
with what it lists. ``to_csv``, ``to_xlsx`` and ``to_pdf`` are the core's writers, kept here by name.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F
from django.utils.translation import gettext as _

from portal.fees import documents as fee_documents
from portal.fees.models import Statement, StatementStatus
from portal.lib.money import percent, to_fen

sha256 = fee_documents.sha256
_refusing_fetcher = fee_documents._refusing_fetcher
font_configuration = fee_documents.font_configuration


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
    def rate_percent(self) -> Decimal:
        """The rate in per cent for the "Rate (%)" column (portal.lib.money.percent, the one definition)."""
        return percent(self.rate)

    @property
    def round_label(self) -> str:
        from .forms import round_label

        return round_label(self.round)


@dataclass(frozen=True)
class Totals:
    count: int
    recovered: Decimal
    commission: Decimal


def sum_lines(lines) -> Totals:
    """Count and sums of already-rounded line amounts (a pure function: the statement's rule)."""
    count, recovered, commission = 0, Decimal("0.00"), Decimal("0.00")
    for line in lines:
        count += 1
        recovered += line.recovered
        commission += line.commission
    return Totals(count, to_fen(recovered), to_fen(commission))


@dataclass(frozen=True)
class StatementDocument:
    statement: Statement
    lender_name: str
    partner_name: str
    lines: tuple[Line, ...]
    totals: Totals

    @property
    def month(self) -> str:
        return f"{self.statement.period:%Y-%m}"

    @property
    def is_draft(self) -> bool:
        return self.statement.status in (StatementStatus.DRAFT, StatementStatus.IN_REVIEW)

    @property
    def filename_stem(self) -> str:
        return f"{self.statement.number}"

    @property
    def created(self) -> datetime.datetime:
        """The document's date: approval (frozen from then on), or the draft's creation."""
        return self.statement.approved_at or self.statement.created_at


def build(statement: Statement) -> StatementDocument:
    lines = tuple(
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
        )  # earned, then its clawback
    )
    tenant = getattr(connection, "tenant", None)
    return StatementDocument(
        statement=statement,
        lender_name=getattr(tenant, "name", ""),
        partner_name=statement.partner.name,
        lines=lines,
        totals=sum_lines(lines),
    )


def to_csv(document: StatementDocument) -> bytes:
    return fee_documents.to_csv(fee_documents.build(document.statement))


def to_xlsx(document: StatementDocument) -> bytes:
    return fee_documents.to_xlsx(fee_documents.build(document.statement))


def to_pdf(document: StatementDocument) -> bytes:
    return fee_documents.to_pdf(fee_documents.build(document.statement))
