"""Legal costs (诉讼费用及律师费): what a matter cost, recorded once per line, and the totals the pages and exports show.

A cost line (LegalCost) is never edited: a mistake is corrected by a negative line with a note saying what it
corrects, so the history of what was paid stays whole. The fees issue's fee ledger reads these LegalCost rows
(kind, amount, date, advanced by the firm or by the lender, recoverable from the debtor or not): keep their meaning
stable. Which costs a court makes the debtor bear: the acceptance, preservation and enforcement fees follow the
losing party (诉讼费用交纳办法 arts. 29, 38); a lawyer's fee only where the contract provides for it and the court
allows it (a 实现债权的费用 claim) — hence ``recoverable`` per line, decided by whoever records it. What comes back
from the debtor once a decision put the costs on him is a CostRecovery (``record_recovery``, rules in
litigation/cost_recovery.py), money in, kept apart from the cost lines.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.lib.money import to_fen

from . import cost_recovery, ledger_attribution
from .models import CostKind, CostRecovery, LegalCost, Matter, RecoverySource

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
MAX_AMOUNT = Decimal("999999999999.99")  # LegalCost.amount: 14 digits, 2 decimals


class CostRefused(RuleError):
    pass


def refused(code, message) -> CostRefused:
    return CostRefused(message, code=code)


def cost_amount(value) -> Decimal:
    """An amount of money as a Decimal with at most two decimals; floats and other types are refused."""
    if isinstance(value, float) or isinstance(value, bool):
        raise refused("amount_type", _("An amount must be given as a decimal number, not a float."))
    try:
        amount = Decimal(value.strip().replace(",", "") if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise refused("amount", _("“%(value)s” is not an amount of money.") % {"value": value}) from None
    if not amount.is_finite():
        raise refused("amount", _("“%(value)s” is not an amount of money.") % {"value": value})
    if amount != to_fen(amount):
        raise refused("amount_places", _("An amount has at most two decimal places (fen)."))
    if abs(amount) > MAX_AMOUNT:
        raise refused("amount_size", _("The amount is too large."))
    return to_fen(amount)


def past_date(day, *, missing) -> datetime.date:
    """A date, today or earlier (lender-local): money is recorded when it has moved, never ahead."""
    if not isinstance(day, datetime.date):
        raise refused("date", missing)
    if day > timezone.localdate():
        raise refused("future_date", _("The date cannot be in the future."))
    return day


def record_cost(
    *,
    matter: Matter,
    kind: str,
    amount,
    incurred_on: datetime.date,
    by,
    paid_by_firm: bool = False,
    recoverable: bool = True,
    note: str = "",
    request=None,
) -> LegalCost:
    """Record one cost of ``matter``. A negative amount is a correction of an earlier line and needs a note saying so.

    Refused: an unknown kind; an amount that is zero, not money, or finer than the fen; a date in the future; a cost
    "advanced by the law firm" on an in-house matter (there is no firm to advance it)."""
    if kind not in CostKind.values:
        raise refused("kind", _("Choose what kind of cost this is."))
    amount = cost_amount(amount)
    note = (note or "").strip()
    if amount == 0:
        raise refused("amount_zero", _("A cost of zero records nothing."))
    if amount < 0 and not note:
        raise refused("correction_note", _("A negative amount corrects an earlier line: say which one, and why, in the note."))
    past_date(incurred_on, missing=_("Give the date the cost was incurred."))
    if paid_by_firm and matter.firm_id is None:
        raise refused("no_firm", _("This matter is handled in-house: no law firm advanced this cost."))
    with transaction.atomic():
        cost = LegalCost.objects.create(
            matter=matter,
            kind=kind,
            amount=amount,
            incurred_on=incurred_on,
            paid_by_firm=bool(paid_by_firm),
            recoverable=bool(recoverable),
            note=note[:300],
            recorded_by=by,
        )
        ledger_attribution.post_cost(cost)  # its fee-ledger entry, in this same transaction (portal.ledger)
        record(
            Action.CREATE,
            request=request,
            actor=by,
            obj=cost,
            event="legal_cost",
            matter=matter.number,
            kind=kind,
            amount=str(amount),
            correction=amount < 0,
        )
    return cost


# ----------------------------------------------------------------- court costs recovered


def recovery_position(matter: Matter) -> dict:
    """{"advanced", "recovered", "outstanding", "decided"}: the court costs advanced on the matter (its
    COURT_COST_KINDS lines, corrections included), what came back, what is still to come, and whether a decision
    has put the costs on the debtor (cost_recovery.costs_on_debtor). Two queries."""
    advanced = matter.costs.filter(kind__in=cost_recovery.COURT_COST_KINDS).aggregate(total=_sum())["total"]
    recovered = matter.cost_recoveries.aggregate(total=_sum())["total"]
    outcomes = matter.entries.exclude(outcome="").values_list("stage", "outcome")
    decided = cost_recovery.costs_on_debtor(outcomes)
    return {"advanced": advanced, "recovered": recovered, "outstanding": max(advanced - recovered, ZERO), "decided": decided}


def record_recovery(
    *,
    matter: Matter,
    amount,
    received_on: datetime.date,
    source: str,
    by,
    received_by_firm: bool = False,
    note: str = "",
    request=None,
) -> CostRecovery:
    """Record court costs got back from the debtor (cost_recovery: only after a decision put them on him, never more
    than was advanced), with its fee-ledger entry in the same transaction. The matter row is locked, so two clerks
    recording at once cannot together pass the cap."""
    if source not in RecoverySource.values:
        raise refused("source", _("Say where the money came from."))
    amount = cost_amount(amount)
    note = (note or "").strip()
    past_date(received_on, missing=_("Give the date the money was received."))
    if received_by_firm and matter.firm_id is None:
        raise refused("no_firm", _("This matter is handled in-house: no law firm received this money."))
    with transaction.atomic():
        Matter.objects.select_for_update().filter(pk=matter.pk).values_list("pk", flat=True).get()
        position = recovery_position(matter)
        problem = cost_recovery.refusal(
            amount=amount,
            note=note,
            decided=position["decided"],
            advanced=position["advanced"],
            recovered=position["recovered"],
        )
        if problem is not None:
            raise refused(*problem)
        recovery = CostRecovery.objects.create(
            matter=matter,
            amount=amount,
            received_on=received_on,
            source=source,
            received_by_firm=bool(received_by_firm),
            note=note[:300],
            recorded_by=by,
        )
        ledger_attribution.post_recovery(recovery)
        record(
            Action.CREATE,
            request=request,
            actor=by,
            obj=recovery,
            event="court_costs_recovered",
            matter=matter.number,
            amount=str(amount),
            correction=amount < 0,
        )
    return recovery


# ----------------------------------------------------------------- totals


def _sum(condition=None):
    return Coalesce(Sum("amount", filter=condition), Value(ZERO, output_field=MONEY))


def totals(costs) -> dict:
    """One query: the total, and the totals by kind, by who advanced the money, and recoverable or not.

    {"total", "count", "by_kind": [(kind, label, amount)], "by_firm", "by_lender", "recoverable", "not_recoverable"}"""
    # Aggregate names are prefixed: "recoverable" and "paid_by_firm" are also the model's fields.
    aggregates = {
        "sum_total": _sum(),
        "sum_count": Count("pk"),
        "sum_by_firm": _sum(Q(paid_by_firm=True)),
        "sum_by_lender": _sum(Q(paid_by_firm=False)),
        "sum_recoverable": _sum(Q(recoverable=True)),
        "sum_not_recoverable": _sum(Q(recoverable=False)),
    }
    for kind in CostKind.values:
        aggregates[f"kind_{kind}"] = _sum(Q(kind=kind))
    row = costs.order_by().aggregate(**aggregates)
    by_kind = [(kind, label, row[f"kind_{kind}"]) for kind, label in CostKind.choices if row[f"kind_{kind}"]]
    names = ("total", "count", "by_firm", "by_lender", "recoverable", "not_recoverable")
    return {name: row[f"sum_{name}"] for name in names} | {"by_kind": by_kind}


def monthly(costs) -> list[dict]:
    """Totals per calendar month of ``incurred_on``, newest first: [{"month", "total", "kinds": {kind: amount}}]. One query."""
    rows = costs.order_by().annotate(month=TruncMonth("incurred_on")).values("month", "kind").annotate(total=Sum("amount"))
    months: dict = {}
    for row in rows:
        month = months.setdefault(row["month"], {"month": row["month"], "total": ZERO, "kinds": {}})
        month["kinds"][row["kind"]] = row["total"]
        month["total"] += row["total"]
    return [months[key] for key in sorted(months, reverse=True)]


def export_rows(costs) -> list[list]:
    """Every cost line as spreadsheet rows, header first (amounts as numbers with two decimals)."""
    header = [
        gettext("Matter"),
        gettext("Debtor"),
        gettext("Law firm"),
        gettext("Date"),
        gettext("Kind"),
        gettext("Amount (CNY)"),
        gettext("Advanced by"),
        gettext("Recoverable"),
        gettext("Note"),
        gettext("Recorded by"),
        gettext("Recorded at"),
    ]
    rows = [header]
    for cost in costs.select_related("matter", "matter__debtor", "matter__firm", "recorded_by").order_by("incurred_on", "recorded_at"):
        rows.append(
            [
                cost.matter.number,
                cost.matter.debtor.name,
                cost.matter.firm.name if cost.matter.firm else gettext("In-house"),
                cost.incurred_on.isoformat(),
                str(CostKind(cost.kind).label),
                f"{cost.amount:.2f}",
                gettext("Law firm") if cost.paid_by_firm else gettext("Lender"),
                gettext("Yes") if cost.recoverable else gettext("No"),
                cost.note,
                (cost.recorded_by.email if cost.recorded_by else ""),
                timezone.localtime(cost.recorded_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return rows
