"""The litigation pipeline: counts, claims, recoveries and days per stage, against figures worked out by hand."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from litigation import escalation, pipeline
from litigation.access import visible_matters
from litigation.models import Matter, Outcome, Stage
from litigation.stages import record_stage
from portal.access import Principal
from tenants.models import Role
from tests.factories import CaseFactory, PaymentFactory
from tests.litigation.support import fee_agreement, legal_manager

D = datetime.date


# ----------------------------------------------------------------- days per stage (pure)


def test_average_days_per_stage_from_entries_by_hand():
    rows = [
        # matter A: escalated 1 Jan, mediation 11 Jan (10 days escalated), filed 10 Feb (30 days in mediation),
        # judgment 11 Apr (60 days filed: 10 Feb → 10 Mar 28 days, → 10 Apr 31, +1); the judgment stay is still under way.
        ("A", Stage.ESCALATED, D(2026, 1, 1)),
        ("A", Stage.PRE_SUIT_MEDIATION, D(2026, 1, 11)),
        ("A", Stage.FILED, D(2026, 2, 10)),
        ("A", Stage.JUDGMENT, D(2026, 4, 11)),
        # matter B, given out of order: escalated 1 Jan, filed 21 Jan (20 days), a corrected filing entry 25 Jan (the same
        # stay), judgment 1 Mar (filed 21 Jan → 1 Mar = 39 days in 2026), closed 11 Mar (10 days judged).
        ("B", Stage.CLOSED, D(2026, 3, 11)),
        ("B", Stage.FILED, D(2026, 1, 25)),
        ("B", Stage.ESCALATED, D(2026, 1, 1)),
        ("B", Stage.FILED, D(2026, 1, 21)),
        ("B", Stage.JUDGMENT, D(2026, 3, 1)),
    ]
    times = {t.stage: t for t in pipeline.average_days(rows)}
    assert times[Stage.ESCALATED].average_days == Decimal("15.0")  # (10 + 20) / 2
    assert times[Stage.PRE_SUIT_MEDIATION].average_days == Decimal("30.0")
    assert times[Stage.FILED].average_days == Decimal("49.5")  # (60 + 39) / 2
    assert (times[Stage.FILED].finished, times[Stage.FILED].ongoing) == (2, 0)
    assert times[Stage.JUDGMENT].average_days == Decimal("10.0")  # B's 10 days; A's judgment has not ended
    assert (times[Stage.JUDGMENT].finished, times[Stage.JUDGMENT].ongoing) == (1, 1)
    assert times[Stage.HEARING].average_days is None and times[Stage.HEARING].finished == 0
    assert Stage.CLOSED not in times  # a closed matter's stay has no end to time


def test_average_days_round_half_up_to_a_tenth():
    rows = [("A", Stage.ESCALATED, D(2026, 1, 1)), ("A", Stage.FILED, D(2026, 1, 2))]
    rows += [("B", Stage.ESCALATED, D(2026, 1, 1)), ("B", Stage.FILED, D(2026, 1, 2))]
    rows += [("C", Stage.ESCALATED, D(2026, 1, 1)), ("C", Stage.FILED, D(2026, 1, 3))]
    rows += [("E", Stage.ESCALATED, D(2026, 1, 1)), ("E", Stage.FILED, D(2026, 1, 3))]
    rows += [("F", Stage.ESCALATED, D(2026, 1, 1)), ("F", Stage.FILED, D(2026, 1, 3))]
    rows += [("G", Stage.ESCALATED, D(2026, 1, 1)), ("G", Stage.FILED, D(2026, 1, 3))]
    rows += [("H", Stage.ESCALATED, D(2026, 1, 1)), ("H", Stage.FILED, D(2026, 1, 3))]
    rows += [("I", Stage.ESCALATED, D(2026, 1, 1)), ("I", Stage.FILED, D(2026, 1, 2))]
    # 1,1,2,2,2,2,2,1 days → 13 / 8 = 1.625 → 1.6
    escalated = next(t for t in pipeline.average_days(rows) if t.stage == Stage.ESCALATED)
    assert escalated.average_days == Decimal("1.6")
    assert escalated.finished == 8


# ----------------------------------------------------------------- the funnel (database)

COURT_A = "测试市第一中级人民法院管道甲"
COURT_B = "测试市第二基层人民法院管道乙"


def _case(principal, interest="0.00"):
    return CaseFactory(principal_due=Decimal(principal), interest_due=Decimal(interest), penalty_due=Decimal("0"), fees_due=Decimal("0"))


@pytest.fixture
def three_matters(acme):
    """Three matters escalated 100 days ago, with hand-known balances, stages and payments."""
    world = acme
    today = timezone.localdate()
    d0 = today - datetime.timedelta(days=100)
    escalated_at = timezone.make_aware(datetime.datetime.combine(d0, datetime.time(10, 0)))
    manager = legal_manager(world)
    fee_agreement(world, firm="lfirm")

    # M1, in-house: 10,500 owed; 500 paid 10 days BEFORE escalation (applied to interest first, Civil Code art. 561): 10,000 on
    # the books at escalation, none of it recovered by litigation. Mediation failed, filed, judged.
    c1 = _case("10000.00", "500.00")
    PaymentFactory(case=c1, amount=Decimal("500.00"), paid_on=d0 - datetime.timedelta(days=10))
    (m1,) = escalation.escalate(cases=[c1], by=manager, reason="test pipeline", now=escalated_at)
    record_stage(matter=m1, stage=Stage.PRE_SUIT_MEDIATION, entered_on=d0 + datetime.timedelta(days=10), outcome=Outcome.FAILED, by=manager)
    record_stage(
        matter=m1,
        stage=Stage.FILED,
        entered_on=d0 + datetime.timedelta(days=30),
        court=COURT_A,
        court_case_number="（2026）测0101民初1号",
        by=manager,
    )
    record_stage(
        matter=m1,
        stage=Stage.JUDGMENT,
        entered_on=d0 + datetime.timedelta(days=90),
        outcome=Outcome.WON,
        amount=Decimal("10000"),
        by=manager,
    )

    # M2, law firm L: 20,000; payment order not objected to (an enforceable title), then enforcement.
    c2 = _case("20000.00")
    (m2,) = escalation.escalate(cases=[c2], firm=world.orgs["lfirm"], by=manager, reason="test pipeline", now=escalated_at)
    record_stage(
        matter=m2,
        stage=Stage.PAYMENT_ORDER,
        entered_on=d0 + datetime.timedelta(days=20),
        outcome=Outcome.NOT_OBJECTED,
        court=COURT_B,
        by=manager,
    )
    record_stage(matter=m2, stage=Stage.ENFORCEMENT, entered_on=d0 + datetime.timedelta(days=50), by=manager)

    # M3, in-house: 5,000 at escalation; 1,000 paid 5 days after it (the balance is 4,000 now).
    c3 = _case("5000.00")
    (m3,) = escalation.escalate(cases=[c3], by=manager, reason="test pipeline", now=escalated_at)
    PaymentFactory(case=c3, amount=Decimal("1000.00"), paid_on=d0 + datetime.timedelta(days=5))
    return m1, m2, m3


def _only(matters):
    return Matter.objects.filter(pk__in=[m.pk for m in matters])


def test_funnel_counts_claims_and_recoveries_by_hand(three_matters):
    steps = {s.key: s for s in pipeline.funnel(_only(three_matters))}
    assert [s for s in pipeline.STEPS] == ["escalated", "mediated", "filed", "judged", "enforced", "recovered"]
    assert (steps["escalated"].count, steps["escalated"].claim) == (3, Decimal("35000.00"))  # 10,000 + 20,000 + 5,000
    assert (steps["mediated"].count, steps["mediated"].claim) == (1, Decimal("10000.00"))
    assert (steps["filed"].count, steps["filed"].claim) == (2, Decimal("30000.00"))  # a suit and a payment order
    assert (steps["judged"].count, steps["judged"].claim) == (2, Decimal("30000.00"))  # judgment; order not objected to
    assert (steps["enforced"].count, steps["enforced"].claim) == (1, Decimal("20000.00"))
    assert (steps["recovered"].count, steps["recovered"].amount) == (1, Decimal("1000.00"))  # M1's 500 was paid before
    assert steps["escalated"].recovered == Decimal("1000.00")


def test_recovered_agrees_with_recovered_on_per_matter(three_matters):
    from litigation.stages import recovered_on

    annotated = {m.pk: m.recovered for m in pipeline.annotated(_only(three_matters))}
    for matter in three_matters:
        assert annotated[matter.pk] == recovered_on(matter)


def test_funnel_is_one_query_whatever_the_number_of_matters(three_matters, django_assert_num_queries):
    with django_assert_num_queries(1):
        pipeline.funnel(_only(three_matters))
    with django_assert_num_queries(1):
        pipeline.stage_times(_only(three_matters))


def test_by_firm_and_by_court_tables(three_matters):
    m1, m2, m3 = three_matters
    firms = {row.key: row for row in pipeline.by_firm(_only(three_matters))}
    inhouse, firm = firms[None], firms[m2.firm_id]
    assert (inhouse.escalated.count, inhouse.escalated.claim, inhouse.recovered.recovered) == (2, Decimal("15000.00"), Decimal("1000.00"))
    assert inhouse.recovery_rate == Decimal("0.0667")  # 1,000 / 15,000
    assert (firm.escalated.count, firm.step("enforced").count, firm.escalated.claim) == (1, 1, Decimal("20000.00"))
    courts = {row.key: row for row in pipeline.by_court(_only(three_matters))}
    assert courts[COURT_A].step("judged").count == 1 and courts[COURT_B].step("filed").count == 1
    assert courts[""].escalated.count == 1  # M3 is before no court yet


def test_stage_times_from_the_recorded_entries(three_matters):
    times = {t.stage: t for t in pipeline.stage_times(_only(three_matters))}
    # escalated: M1 10 days, M2 20 days; M3 still escalated.
    assert (times[Stage.ESCALATED].average_days, times[Stage.ESCALATED].ongoing) == (Decimal("15.0"), 1)
    assert times[Stage.PRE_SUIT_MEDIATION].average_days == Decimal("20.0")
    assert times[Stage.FILED].average_days == Decimal("60.0")
    assert times[Stage.PAYMENT_ORDER].average_days == Decimal("30.0")
    assert times[Stage.ENFORCEMENT].average_days is None and times[Stage.ENFORCEMENT].ongoing == 1


def test_filters_per_court_and_firm(three_matters):
    m1, m2, m3 = three_matters
    scope = _only(three_matters)
    assert set(pipeline.filtered(scope, court=COURT_A).values_list("pk", flat=True)) == {m1.pk}
    assert set(pipeline.filtered(scope, firm="inhouse").values_list("pk", flat=True)) == {m1.pk, m3.pk}
    assert set(pipeline.filtered(scope, firm=str(m2.firm_id)).values_list("pk", flat=True)) == {m2.pk}


def test_a_law_firm_sees_only_its_own_matters_in_the_funnel(three_matters, acme):
    m1, m2, m3 = three_matters
    lawyer = acme.people["l_lawyer"]
    principal = Principal(user=lawyer.user, organisation=acme.orgs["lfirm"], roles=frozenset({Role.LAWYER}))
    mine = visible_matters(principal).filter(pk__in=[m.pk for m in three_matters])
    steps = {s.key: s for s in pipeline.funnel(mine)}
    assert steps["escalated"].count == 1 and steps["escalated"].claim == Decimal("20000.00")
    assert steps["recovered"].count == 0
