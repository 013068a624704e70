"""Commissions (佣金): which placement a payment belongs to, and what it earned.

Attribution: a payment belongs to the placement whose term covers the payment's date (lender-local
day, Asia/Shanghai), whoever received the money — a payment made straight to the lender during the
term still earns the agency its commission (landscape.md §3.1 [O5, O6]). Terms are whole local days
(outsourcing.placement's docstring): recalled and expired placements count for the days they covered,
an approved hold (留案) extends them through its last day, and the day of a handover (recalled in the
morning, re-placed in the afternoon) belongs to the new placement. No placement covers it: no commission.

Amount: money applied × rate of the placement's agreement version for its bucket and round, rounded
half up to the fen (ROUND_HALF_UP, portal.lib.money.to_fen) once, per line. Totals are sums of
rounded lines, so a statement always equals the sum of what it lists.

Recovered is the money the payment applied to the debt (payments.models.effective_split(...).applied:
amount − unapplied), never the amount: what the debtor paid beyond the whole balance is refunded or set
off, it was not collected, and earns nothing. A payment that applied nothing gets no line (there is no
zero line: the table holds money earned). When a reversal re-applies a later payment and the money it
applies changes, ``adjust`` adds an adjustment line for the difference, dated the reversal (like a
clawback: an approved statement is never touched), so the payment's lines always sum to
to_fen(applied × rate) — the same rate and placement as its earned line, or the placement in force on
its date if it earned none before.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from portal.lib.money import to_fen
from portal.payments.models import effective_split

from . import ledger_attribution
from .models import CommissionLine, Placement
from .placement import placement_covering


def commission_for(recovered, rate) -> Decimal:
    """recovered × rate, half up to the fen; never negative, never more than recovered (0 ≤ rate ≤ 1)."""
    recovered, rate = to_fen(recovered), Decimal(rate)
    if recovered <= 0:
        raise ValueError("a recovery is positive")
    if not Decimal(0) <= rate <= Decimal(1):
        raise ValueError("a commission rate is a fraction between 0 and 1")
    return to_fen(recovered * rate)


def placement_on(case_id, day: datetime.date) -> Placement | None:
    """The placement whose term covers that local date, or None: one rule, ``placement.placement_covering``."""
    return placement_covering(case_id, day)


def rate_of(placement: Placement) -> Decimal:
    version = placement.agreement_version
    if version is None:
        return Decimal(0)
    rate = version.rate_for(placement.bucket, placement.round)
    return Decimal(rate) if rate is not None else Decimal(0)


def _earned(payment_id):
    return CommissionLine.objects.filter(payment_id=payment_id, reversal__isnull=True, correction__isnull=True).first()


def attribute(*, payment, now: datetime.datetime | None = None) -> CommissionLine | None:
    """Write the payment's commission line on the money it applied (once; a second call returns the first line).
    None when no placement was in force on its date or when it applied nothing (all of it paid beyond the balance)."""
    existing = _earned(payment.pk)
    if existing is not None:
        return existing
    applied = effective_split(payment).applied
    if applied <= 0:
        return None
    placement = placement_on(payment.case_id, payment.paid_on)
    if placement is None:
        return None
    rate = rate_of(placement)
    line = CommissionLine.objects.create(
        payment=payment,
        placement=placement,
        partner_id=placement.partner_id,
        agreement_version=placement.agreement_version,
        case_id=payment.case_id,
        paid_on=payment.paid_on,
        bucket=placement.bucket,
        round=placement.round,
        recovered=applied,
        rate=rate,
        commission=commission_for(applied, rate),
        created_at=now or timezone.now(),
    )
    ledger_attribution.post_line(line)  # its fee-ledger entry, in this same transaction (portal.ledger)
    return line


def claw_back(*, reversal, now: datetime.datetime | None = None) -> CommissionLine | None:
    """The clawback line of a reversed payment (once): its lines so far (earned and adjustments) negated, dated
    the day of the reversal. None when the payment earned nothing. The negation is exact: each line was rounded
    once, and their negated sum needs no rounding."""
    existing = CommissionLine.objects.filter(reversal=reversal).first()
    if existing is not None:
        return existing
    lines = CommissionLine.objects.filter(payment_id=reversal.payment_id, reversal__isnull=True)
    earned = _earned(reversal.payment_id) or lines.order_by("created_at", "id").first()
    if earned is None:
        return None
    totals = lines.aggregate(recovered=Sum("recovered"), commission=Sum("commission"))
    if not totals["recovered"]:
        return None
    line = CommissionLine.objects.create(
        payment_id=earned.payment_id,
        reversal=reversal,
        placement_id=earned.placement_id,
        partner_id=earned.partner_id,
        agreement_version_id=earned.agreement_version_id,
        case_id=earned.case_id,
        paid_on=reversal.reversed_on,
        bucket=earned.bucket,
        round=earned.round,
        recovered=-totals["recovered"],
        rate=earned.rate,
        commission=-totals["commission"],
        created_at=now or timezone.now(),
    )
    ledger_attribution.post_line(line)  # its fee-ledger entry, in this same transaction (portal.ledger)
    return line


def adjust(*, correction, now: datetime.datetime | None = None) -> CommissionLine | None:
    """The adjustment line of a later payment whose applied money a reversal changed (once per correction):
    the recovery moves by the change in applied money (−Δunapplied) and the commission by
    to_fen(new applied × rate) − to_fen(old applied × rate), so the payment's lines sum to its applied money and
    to that money × rate rounded once. Dated the reversal. None when the applied money did not change, or the
    payment has no placement (no line before, none in force on its date)."""
    existing = CommissionLine.objects.filter(correction=correction).first()
    if existing is not None:
        return existing
    change = -correction.unapplied
    if change == 0:
        return None
    payment = correction.payment
    lines = CommissionLine.objects.filter(payment=payment, reversal__isnull=True)
    earned = _earned(payment.pk) or lines.order_by("created_at", "id").first()
    if earned is not None:
        placement_id, partner_id, version_id = earned.placement_id, earned.partner_id, earned.agreement_version_id
        bucket, round_, rate = earned.bucket, earned.round, earned.rate
    else:
        placement = placement_on(payment.case_id, payment.paid_on)
        if placement is None:
            return None
        placement_id, partner_id, version_id = placement.pk, placement.partner_id, placement.agreement_version_id
        bucket, round_, rate = placement.bucket, placement.round, rate_of(placement)
    totals = lines.aggregate(recovered=Sum("recovered"), commission=Sum("commission"))
    before_recovered, before_commission = totals["recovered"] or Decimal("0.00"), totals["commission"] or Decimal("0.00")
    after_recovered = before_recovered + change
    after_commission = commission_for(after_recovered, rate) if after_recovered > 0 else Decimal("0.00")
    line = CommissionLine.objects.create(
        payment=payment,
        correction=correction,
        placement_id=placement_id,
        partner_id=partner_id,
        agreement_version_id=version_id,
        case_id=payment.case_id,
        paid_on=correction.reversal.reversed_on,
        bucket=bucket,
        round=round_,
        recovered=change,
        rate=rate,
        commission=after_commission - before_commission,
        created_at=now or timezone.now(),
    )
    ledger_attribution.post_line(line)  # its fee-ledger entry, in this same transaction (portal.ledger)
    return line
