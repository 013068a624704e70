"""The payment ledger: the list finance filters (by contract or reference, by payment date, standing or
reversed) and the same rows as a CSV file to reconcile against the bank's statement.

A partner's file has its own payment lines only (visibility.visible_payments) and only the columns of
a money line (date, contract no., reference, amount, its commission, statement, reversal): nothing of
how the lender posted the money, nothing about the debtor. The file is ``spreadsheet.csv_bytes`` (text neutralised: a
reference such as "=HYPERLINK(…)" stays text, CWE-1236); amounts are Decimals to the fen.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from . import hooks

EXPORT_LIMIT = 50_000  # rows in one file; more is refused with a request to narrow the dates (never cut silently)
CHUNK = 1_000  # payments annotated per query
STANDING, REVERSED = "standing", "reversed"


@dataclass(frozen=True)
class Filters:
    q: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    state: str = ""  # "", STANDING or REVERSED

    def as_query(self) -> dict:
        """The filters as GET parameters (for the next page's link and the export's)."""
        return {
            key: value
            for key, value in (
                ("q", self.q),
                ("from", self.date_from.isoformat() if self.date_from else ""),
                ("to", self.date_to.isoformat() if self.date_to else ""),
                ("state", self.state),
            )
            if value
        }


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def parse_filters(params) -> tuple[Filters, list[str]]:
    """The filters from GET parameters, and what could not be used (a bad date is left out, and said)."""
    problems = []
    raw_from, raw_to = params.get("from", ""), params.get("to", "")
    date_from, date_to = _date(raw_from), _date(raw_to)
    for raw, parsed in ((raw_from, date_from), (raw_to, date_to)):
        if raw.strip() and parsed is None:
            problems.append(_("“%(value)s” is not a date (YYYY-MM-DD); it was left out.") % {"value": raw.strip()[:20]})
    if date_from and date_to and date_from > date_to:
        problems.append(_("The start date is after the end date; they were swapped."))
        date_from, date_to = date_to, date_from
    state = params.get("state", "")
    return Filters(
        q=params.get("q", "").strip()[:64], date_from=date_from, date_to=date_to, state=state if state in (STANDING, REVERSED) else ""
    ), problems


def apply(payments, filters: Filters):
    if filters.q:
        payments = payments.filter(Q(case__contract_no__icontains=filters.q) | Q(reference__icontains=filters.q))
    if filters.date_from:
        payments = payments.filter(paid_on__gte=filters.date_from)
    if filters.date_to:
        payments = payments.filter(paid_on__lte=filters.date_to)
    if filters.state == STANDING:
        payments = payments.filter(reversal__isnull=True)
    elif filters.state == REVERSED:
        payments = payments.filter(reversal__isnull=False)
    return payments


def _columns(partner: bool) -> list[tuple[str, object]]:
    """(heading, function(payment, note, reversal) -> cell) for the file's columns."""

    def amount(name):
        return lambda p, n, r: getattr(p, name)

    common_head = [
        (_("Paid on"), lambda p, n, r: p.paid_on.isoformat()),
        (_("Contract no."), lambda p, n, r: p.case.contract_no),
        (_("Reference"), lambda p, n, r: p.reference),
        (_("Amount"), amount("amount")),
    ]
    lender_only = [
        (_("Source"), lambda p, n, r: p.get_source_display()),
        # The split as it stands (its own + the corrections reversals of earlier payments made): models.effective_split.
        (_("Applied to fees"), amount("effective_to_fees")),
        (_("Applied to penalty interest"), amount("effective_to_penalty")),
        (_("Applied to interest"), amount("effective_to_interest")),
        (_("Applied to principal"), amount("effective_to_principal")),
        (_("Paid beyond the balance"), amount("effective_unapplied")),
        (_("Agency"), lambda p, n, r: n.get("partner", "")),
    ]
    common_tail = [
        (_("Commission"), lambda p, n, r: n.get("commission", "")),
        (_("Statement"), lambda p, n, r: n.get("statement", "")),
        (_("Reversed on"), lambda p, n, r: r.reversed_on.isoformat() if r else ""),
        (_("Reversal reason"), lambda p, n, r: r.get_reason_display() if r else ""),
        (_("Commission clawed back"), lambda p, n, r: n.get("clawback", "")),
    ]
    return common_head + ([] if partner else lender_only) + common_tail


def rows(payments, *, partner: bool):
    """The heading, then one row per payment (at most EXPORT_LIMIT), newest payment date first."""
    columns = _columns(partner)
    yield [heading for heading, _cell in columns]
    selected = payments.select_related("case", "reversal").with_effective_split().order_by("-paid_on", "-recorded_at", "pk")[:EXPORT_LIMIT]
    batch = []
    for payment in selected.iterator(chunk_size=CHUNK):
        batch.append(payment)
        if len(batch) == CHUNK:
            yield from _rows_of(batch, columns)
            batch = []
    yield from _rows_of(batch, columns)


def _rows_of(batch, columns):
    if not batch:
        return
    notes = hooks.annotations([payment.pk for payment in batch])
    for payment in batch:
        note, reversal = notes.get(payment.pk, {}), getattr(payment, "reversal", None)
        yield [cell(payment, note, reversal) for _heading, cell in columns]
