"""Escalation (移交诉讼): one matter per borrower, placements recalled first, a case in one open matter at a time,
and a law firm's sight of a matter only while it is assigned and open."""

import datetime
from decimal import Decimal

import pytest

from litigation import escalation, stages
from litigation.access import visible_matters
from litigation.models import DeadlineKind, LegalFeeAgreement, Matter, Outcome, Stage
from outsourcing.models import Placement, PlacementStatus
from portal.access import principal_for, visible_cases
from portal.models import CaseStatus, LimitationEventKind
from tests.factories import CaseFactory, DebtorFactory, place
from tests.litigation.support import complete_matter, escalated_matter, fee_agreement, legal_manager


def principal(world, key, lender="acme"):
    return principal_for(world.people[key].user, world.lenders[lender])


def test_loans_of_one_borrower_become_one_matter(acme):
    debtor = DebtorFactory()
    first, second = CaseFactory(debtor=debtor), CaseFactory(debtor=debtor)
    other = CaseFactory()
    matters = escalation.escalate(cases=[first, second, other], by=legal_manager(acme), reason="拒不还款")
    assert len(matters) == 2
    by_debtor = {m.debtor_id: m for m in matters}
    assert set(by_debtor[debtor.pk].loans.values_list("case_id", flat=True)) == {first.pk, second.pk}
    assert all(m.number.startswith("LIT-") for m in matters)
    assert len({m.number for m in matters}) == 2
    first.refresh_from_db()
    assert first.status == CaseStatus.LITIGATION


def test_a_placed_case_is_recalled_first(acme):
    case = CaseFactory()
    [placement] = place(acme, [case])
    escalation.escalate(cases=[case], by=legal_manager(acme), reason="拒不还款")
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.RECALLED
    assert not Placement.objects.active().filter(case=case).exists()
    assert case not in visible_cases(principal(acme, "x_admin"))


def test_a_case_in_an_open_matter_is_refused(acme):
    case = CaseFactory()
    escalated_matter(acme, cases=[case])
    with pytest.raises(escalation.EscalationRefused) as refused:
        escalation.escalate(cases=[case], by=legal_manager(acme), reason="again")
    assert refused.value.codes == ["already_in_matter"]


def test_a_reason_is_required(acme):
    with pytest.raises(escalation.EscalationRefused):
        escalation.escalate(cases=[CaseFactory()], by=legal_manager(acme), reason="  ")


def test_a_law_firm_needs_a_fee_agreement_and_the_matter_copies_its_terms(acme):
    case = CaseFactory()
    LegalFeeAgreement.objects.filter(firm=acme.orgs["lfirm"]).delete()  # the world's (rolled back after the test)
    with pytest.raises(escalation.EscalationRefused) as refused:
        escalation.escalate(cases=[case], firm=acme.orgs["lfirm"], by=legal_manager(acme), reason="x")
    assert refused.value.codes == ["no_fee_agreement"]
    fee_agreement(acme, fixed="500.00", success="10")
    [matter] = escalation.escalate(cases=[case], firm=acme.orgs["lfirm"], by=legal_manager(acme), reason="x")
    assert (matter.fixed_fee, matter.success_fee_percent) == (Decimal("500.00"), Decimal("10"))


def test_an_unengaged_or_non_law_firm_is_refused(acme):
    for org, code in ((acme.orgs["xagency"], "not_law_firm"),):
        with pytest.raises(escalation.EscalationRefused) as refused:
            escalation.escalate(cases=[CaseFactory()], firm=org, by=legal_manager(acme), reason="x")
        assert refused.value.codes == [code]


def test_law_firm_sees_its_matters_and_their_cases_only_while_assigned_and_open(acme):
    matter = complete_matter(acme)
    case = matter.loans.get().case
    lawyer = principal(acme, "l_lawyer")
    assert matter in visible_matters(lawyer)
    assert all(m.firm == acme.orgs["lfirm"] for m in visible_matters(lawyer))
    assert case in visible_cases(lawyer)
    assert not visible_matters(principal(acme, "x_collector")).exists()
    assert not visible_matters(principal(acme, "x_admin")).exists()
    escalation.reassign(matter=matter, firm=None, by=legal_manager(acme))
    assert not visible_matters(lawyer).filter(pk=matter.pk).exists()
    assert case not in visible_cases(lawyer)
    assert visible_matters(principal(acme, "acme_legal")).filter(pk=matter.pk).exists()


def test_closing_releases_the_loans_and_hides_the_matter_from_the_firm(acme):
    matter = complete_matter(acme)
    today = datetime.date.today()
    stages.record_stage(matter=matter, stage=Stage.CLOSED, entered_on=today, outcome=Outcome.WITHDRAWN, by=legal_manager(acme))
    assert not visible_matters(principal(acme, "l_lawyer")).filter(pk=matter.pk).exists()
    assert not matter.loans.filter(active=True).exists()
    escalated_matter(acme, cases=[matter.loans.get().case])  # free for a new matter


def test_filing_interrupts_limitation_and_sets_the_fee_deadline(acme):
    matter = complete_matter(acme)
    case = matter.loans.get().case
    filed_on = datetime.date.today() - datetime.timedelta(days=2)
    stages.record_stage(
        matter=matter,
        stage=Stage.FILED,
        entered_on=filed_on,
        court="上海市浦东新区人民法院",
        court_case_number="(2026)沪0115民初1号",
        by=legal_manager(acme),
    )
    case.refresh_from_db()
    # 民法典 art. 195(三): filing suit restarts the three-year period from that day.
    assert case.limitation_events.filter(kind=LimitationEventKind.LEGAL_ACTION, occurred_on=filed_on).exists()
    assert case.limitation_expires_on >= filed_on.replace(year=filed_on.year + 3) - datetime.timedelta(days=1)
    kinds = set(matter.deadlines.values_list("kind", flat=True))
    assert DeadlineKind.FEE_PAYMENT in kinds and DeadlineKind.LIMITATION not in kinds


def test_filing_needs_court_and_case_number_and_stages_follow_their_order(acme):
    matter = escalated_matter(acme)
    today = datetime.date.today()
    with pytest.raises(stages.StageRefused) as refused:
        stages.record_stage(matter=matter, stage=Stage.FILED, entered_on=today, by=legal_manager(acme))
    assert refused.value.codes == ["filing"]
    with pytest.raises(stages.StageRefused) as refused:
        stages.record_stage(matter=matter, stage=Stage.ENFORCEMENT, entered_on=today, by=legal_manager(acme))
    assert refused.value.codes == ["stage_order"]


def test_judgment_served_sets_the_appeal_and_enforcement_windows(acme):
    matter = complete_matter(acme)
    manager = legal_manager(acme)
    day = datetime.date(2026, 3, 2)  # a Monday
    stages.record_stage(
        matter=matter, stage=Stage.FILED, entered_on=day, court="某法院", court_case_number="(2026)沪0115民初2号", by=manager
    )
    Matter.objects.filter(pk=matter.pk).update(procedure="ordinary")
    matter.refresh_from_db()
    stages.record_stage(
        matter=matter,
        stage=Stage.JUDGMENT,
        entered_on=datetime.date(2026, 6, 1),
        outcome=Outcome.WON,
        amount=Decimal("16000.00"),
        served_on=datetime.date(2026, 6, 3),  # Wednesday
        performance_due_on=datetime.date(2026, 6, 30),
        by=manager,
    )
    deadlines = {d.kind: d.due_on for d in matter.deadlines.all()}
    # CPL art. 171: 15 days from service, the day of service not counted (art. 85): 3 June + 15 = 18 June (Thursday).
    assert deadlines[DeadlineKind.APPEAL] == datetime.date(2026, 6, 18)
    # CPL art. 250: two years from the last day of the performance period: 30 June 2028 (a Friday).
    assert deadlines[DeadlineKind.ENFORCEMENT] == datetime.date(2028, 6, 30)


def test_agreed_mediation_needs_a_plan_and_tracks_it_like_a_promise(acme):
    from tests.factories import PaymentFactory

    matter = complete_matter(acme)
    manager = legal_manager(acme)
    today = datetime.date.today()
    agreed_on = today - datetime.timedelta(days=40)
    with pytest.raises(stages.StageRefused):
        stages.record_stage(matter=matter, stage=Stage.PRE_SUIT_MEDIATION, entered_on=agreed_on, outcome=Outcome.AGREED, by=manager)
    stages.record_stage(
        matter=matter,
        stage=Stage.PRE_SUIT_MEDIATION,
        entered_on=agreed_on,
        outcome=Outcome.AGREED,
        by=manager,
        instalments=[
            (agreed_on + datetime.timedelta(days=10), Decimal("1000.00")),
            (agreed_on + datetime.timedelta(days=30), Decimal("1000.00")),
            (today + datetime.timedelta(days=20), Decimal("1000.00")),
        ],
    )
    PaymentFactory(case=matter.loans.get().case, amount="1000.00", paid_on=agreed_on + datetime.timedelta(days=5), reference="MED-1")
    statuses = [row.status for row in stages.plan_rows(matter, today=today)]
    assert statuses == ["kept", "broken", "pending"]
