"""Commissions (佣金): which placement a payment belongs to, and what it earned.

Attribution: a payment belongs to the placement that was in force on the payment's date (lender-local
day, Asia/Shanghai), whoever received the money — a payment made straight to the lender during the
term still earns the agency its commission (landscape.md §3.1 [O5, O6]). Recalled and expired
placements count for the days they were in force; an approved hold (留案) extends the days through
``ends_at``. If two placements overlap the day (recalled in the morning, re-placed in the afternoon),
the one that was in force first that day takes it. No placement in force: no commission.

Amount: recovered × rate of the placement's agreement version for its bucket and round, rounded
half up to the fen (ROUND_HALF_UP, portal.lib.money.to_fen) once, per line. Totals are sums of
rounded lines, so a statement always equals the sum of what it lists.
"""
from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from portal.lib.money import to_fen

from .models import CommissionLine, Placement


def commission_for(recovered, rate) -> Decimal:
    """recovered × rate, half up to the fen; never negative, never more than recovered (0 ≤ rate ≤ 1)."""
    recovered, rate = to_fen(recovered), Decimal(rate)
    if recovered <= 0:
        raise ValueError("a recovery is positive")
    if not Decimal(0) <= rate <= Decimal(1):
        raise ValueError("a commission rate is a fraction between 0 and 1")
    return to_fen(recovered * rate)


def _day_bounds(day: datetime.date):
    tz = timezone.get_default_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    return start, start + datetime.timedelta(days=1)


def placement_on(case_id, day: datetime.date) -> Placement | None:
    """The placement in force on that day (see the module's note), or None."""
    start, end = _day_bounds(day)
    return (Placement.objects.select_related("agreement_version")
            .annotate(until=Least(Coalesce("ended_at", "ends_at"), "ends_at"))
            .filter(case_id=case_id, starts_at__lt=end, until__gt=start)
            .order_by("starts_at", "id").first())


def rate_of(placement: Placement) -> Decimal:
    version = placement.agreement_version
    if version is None:
        return Decimal(0)
    rate = version.rate_for(placement.bucket, placement.round)
    return Decimal(rate) if rate is not None else Decimal(0)


def attribute(*, payment, now: datetime.datetime | None = None) -> CommissionLine | None:
    """Write the payment's commission line (once; a second call returns the first line)."""
    existing = CommissionLine.objects.filter(payment=payment, reversal__isnull=True).first()
    if existing is not None:
        return existing
    placement = placement_on(payment.case_id, payment.paid_on)
    if placement is None:
        return None
    rate = rate_of(placement)
    return CommissionLine.objects.create(
        payment=payment, placement=placement, partner_id=placement.partner_id, agreement_version=placement.agreement_version,
        case_id=payment.case_id, paid_on=payment.paid_on, bucket=placement.bucket, round=placement.round,
        recovered=payment.amount, rate=rate, commission=commission_for(payment.amount, rate), created_at=now or timezone.now(),
    )


def claw_back(*, reversal, now: datetime.datetime | None = None) -> CommissionLine | None:
    """The clawback line of a reversed payment (once): the earned line negated, dated the day of the reversal.
    None when the payment earned nothing. The negation is exact: the earned line was rounded once, and its
    negative needs no rounding."""
    existing = CommissionLine.objects.filter(reversal=reversal).first()
    if existing is not None:
        return existing
    earned = CommissionLine.objects.filter(payment_id=reversal.payment_id, reversal__isnull=True).first()
    if earned is None:
        return None
    return CommissionLine.objects.create(
        payment_id=earned.payment_id, reversal=reversal, placement_id=earned.placement_id, partner_id=earned.partner_id,
        agreement_version_id=earned.agreement_version_id, case_id=earned.case_id, paid_on=reversal.reversed_on, bucket=earned.bucket,
        round=earned.round, recovered=-earned.recovered, rate=earned.rate, commission=-earned.commission, created_at=now or timezone.now(),
    )
