"""Placement terms (issue item 7): whole local days (Asia/Shanghai), so a payment's date decides its agency
without ambiguity; a case whose bucket has no rate cell in the agreement is refused with the reason."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Max

from outsourcing import allocation, placement
from outsourcing.models import AgreementVersion, CommissionRate, PlacementStatus
from outsourcing.placement import PlacementRefused
from tests.factories import manager
from tests.matrix_outsourcing import make_cases

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def on(days, hour, minute=0):
    """A moment ``days`` after today (cases are made overdue relative to today, so their bucket is M2)."""
    from django.utils import timezone

    return datetime.datetime.combine(timezone.localdate() + datetime.timedelta(days=days), datetime.time(hour, minute), tzinfo=SHANGHAI)


def midnight(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=SHANGHAI)


def test_a_term_begins_and_ends_at_local_midnight(acme):
    world = acme
    version = world.outsourcing["agreement"].current_version
    placed_at = on(0, 14, 37)
    p = placement.place_cases(cases=make_cases(1, prefix="TERM-A"), partner=world.orgs["xagency"], placed_by=manager(world), now=placed_at)[
        0
    ]
    assert p.starts_at == midnight(placed_at.date())
    assert p.ends_at == midnight(placed_at.date() + datetime.timedelta(days=version.term_days)) == p.term_ends_at
    assert p.last_day == placed_at.date() + datetime.timedelta(days=version.term_days - 1)


def test_a_hold_until_a_date_keeps_the_whole_day(acme):
    world = acme
    placed_at = on(0, 9)
    p = placement.place_cases(cases=make_cases(1, prefix="TERM-H"), partner=world.orgs["xagency"], placed_by=manager(world), now=placed_at)[
        0
    ]
    until = p.last_day + datetime.timedelta(days=5)
    hold = placement.request_hold(placement=p, by=world.people["x_admin"].user, until=until, reason="承诺下周还款", now=placed_at)
    placement.decide_hold(hold=hold, by=manager(world), approve=True, now=placed_at)
    p.refresh_from_db()
    assert p.ends_at == midnight(until + datetime.timedelta(days=1)) and p.last_day == until


def test_each_local_date_belongs_to_exactly_one_placement_across_a_recall_and_replacement(acme):
    world = acme
    day = on(5, 0).date()
    case = make_cases(1, prefix="TERM-R")[0]
    x = placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=manager(world), now=on(0, 10))[0]
    # Recalled at 10:00 on the day, re-placed with agency Y at 15:00 the same day.
    placement.recall_placements(placements=[x], by=manager(world), reason="投诉", now=on(5, 10))
    from tests.outsourcing.test_outsourcing_placement import y_agreement

    y_agreement(world)
    y = placement.place_cases(cases=[case], partner=world.orgs["yagency"], placed_by=manager(world), now=on(5, 15))[0]
    x.refresh_from_db()
    assert x.status == PlacementStatus.RECALLED and x.ended_at == on(5, 10)  # access ended at once
    assert placement.placement_covering(case.pk, on(0, 0).date()) == x
    assert placement.placement_covering(case.pk, on(4, 0).date()) == x
    assert placement.placement_covering(case.pk, day) == y  # the day of a handover belongs to the new placement
    assert placement.placement_covering(case.pk, on(-1, 0).date()) is None


def test_a_recall_day_without_a_new_placement_stays_with_the_recalled_one(acme):
    world = acme
    case = make_cases(1, prefix="TERM-S")[0]
    x = placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=manager(world), now=on(0, 10))[0]
    placement.recall_placements(placements=[x], by=manager(world), reason="投诉", now=on(5, 10))
    assert placement.placement_covering(case.pk, on(5, 0).date()) == x
    assert placement.placement_covering(case.pk, on(6, 0).date()) is None


def _version_without(world, bucket):
    agreement = world.outsourcing["agreement"]
    number = (agreement.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AgreementVersion.objects.create(agreement=agreement, number=number, term_days=60, capacity=1000, allowed_actions=["phone"])
    CommissionRate.objects.bulk_create(
        [
            CommissionRate(version=version, bucket=b, round=r, rate=Decimal("0.15"))
            for b in ("M1", "M2", "M3", "M4", "M5", "M6+")
            for r in (1, 2, 3)
            if b != bucket
        ]
    )
    if hasattr(agreement, "_current_version"):
        del agreement._current_version
    return version


def test_placing_a_case_without_a_rate_cell_is_refused_naming_bucket_and_agreement(acme):
    world = acme
    version = _version_without(world, "M2")
    cases = make_cases(1, dpd=45, prefix="TERM-NR")  # 45 days overdue: bucket M2
    with pytest.raises(PlacementRefused) as refused:
        placement.place_cases(cases=cases, partner=world.orgs["xagency"], placed_by=manager(world))
    assert refused.value.codes == ["no_rate"]
    text = placement.message_for("no_rate", refused.value.error_list[0].params)
    assert "M2" in text and world.orgs["xagency"].name in text and f"version {version.number}" in text


def test_allocation_preview_and_commit_refuse_a_missing_rate_cell(acme):
    world = acme
    _version_without(world, "M3")
    make_cases(2, dpd=75, prefix="TERM-NRA", region="无率区")  # bucket M3
    rules = {"filters": {"buckets": ["M3"]}, "mode": "percent", "champion": [[str(world.orgs["xagency"].pk), "100"]]}
    plan = allocation.preview(rules=rules, seed=7)
    assert "no_rate" in [error.code for error in plan.refusals]
    batch = allocation.prepare_batch(rules=rules, created_by=manager(world), seed=7)
    with pytest.raises(PlacementRefused) as refused:
        allocation.commit(batch=batch, by=manager(world))
    assert "no_rate" in refused.value.codes
