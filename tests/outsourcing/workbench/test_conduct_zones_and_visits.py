"""Conduct rules (issue items 6 and 10): the window holds in China time and in the debtor's zone (the stricter
wins), field-visit approvals and reports obey it or carry a recorded justification, visits count toward the
daily limit, and the identity check asks for something the collector's screen does not show."""

import datetime

import pytest

from outsourcing.workbench import conduct, services, views
from outsourcing.workbench.errors import ConductRefused
from outsourcing.workbench.models import ContactPolicy, FieldVisitReport
from tests.matrix_workbench import TEST_ID_NUMBER, at, in_acme
from tests.outsourcing.workbench.test_workbench_field_visits import make_case, request_visit

URUMQI = ContactPolicy(debtor_time_zone="Asia/Urumqi")  # two hours behind Beijing in daily life


def test_an_urumqi_debtor_is_not_contacted_after_nine_china_time():
    # 21:30 Beijing is 19:30 in Urumqi: inside the window for the debtor, outside it on the regulator's clock.
    moment = at(21, 30)
    assert not conduct.is_allowed_moment(moment, URUMQI)
    assert "Asia/Shanghai" in conduct.window_refusal(moment, URUMQI)


def test_an_urumqi_debtor_is_not_contacted_before_eight_their_time():
    # 09:00 Beijing is 07:00 in Urumqi: inside the window in China time, outside it for the debtor.
    moment = at(9, 0)
    assert not conduct.is_allowed_moment(moment, URUMQI)
    assert "Asia/Urumqi" in conduct.window_refusal(moment, URUMQI)
    assert conduct.is_allowed_moment(at(10, 0), URUMQI)


@pytest.mark.django_db
def test_start_attempt_enforces_both_zones(world):
    with in_acme(world):
        case, placement = make_case(world, "CONDUCT-Z-001")
        with pytest.raises(ConductRefused, match="contact window"):
            services.start_attempt(
                case=case,
                placement=placement,
                agency=world.orgs["xagency"],
                collector=world.people["x_collector"].user,
                channel="phone",
                number_kind="mobile",
                now=at(9, 0),
                policy=URUMQI,
            )


@pytest.mark.django_db
def test_approving_a_visit_outside_the_window_needs_a_recorded_justification(world):
    manager = world.people["acme_manager"].user
    with in_acme(world):
        case, placement = make_case(world, "CONDUCT-V-001")
        visit = request_visit(world, case, placement)
        with pytest.raises(ConductRefused, match="contact window"):
            services.decide_field_visit(visit=visit, approve=True, decided_by=manager, now=at(22, 0))
        decided = services.decide_field_visit(
            visit=visit, approve=True, decided_by=manager, now=at(22, 0), window_justification="借款人明早离境，须当晚核实"
        )
        assert decided.status == "approved" and decided.decision_window_justification == "借款人明早离境，须当晚核实"


@pytest.mark.django_db
def test_a_visit_outside_the_window_is_refused_without_justification(world):
    with in_acme(world):
        case, placement = make_case(world, "CONDUCT-V-002")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        with pytest.raises(ConductRefused, match="contact window"):
            services.file_visit_report(
                visit=visit,
                findings="晚间上门",
                visited_at=at(21, 30),
                photos=[],
                visited_by=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                now=at(23),
            )
        assert not FieldVisitReport.objects.filter(request=visit).exists()


@pytest.mark.django_db
def test_a_visit_counts_toward_the_daily_limit(world):
    collector = world.people["x_collector"].user
    with in_acme(world):
        case, placement = make_case(world, "CONDUCT-V-003")
        policy = ContactPolicy(daily_cap_per_debtor=2)
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        services.file_visit_report(
            visit=visit,
            findings="上门未见本人",
            visited_at=at(11),
            photos=[],
            visited_by=collector,
            agency=world.orgs["xagency"],
            now=at(11, 30),
            policy=policy,
        )
        assert conduct.contacts_on(debtor_id=case.debtor_id, local_date=datetime.date(2025, 6, 2), policy=policy) == 1
        attempt = services.start_attempt(
            case=case,
            placement=placement,
            agency=world.orgs["xagency"],
            collector=collector,
            channel="phone",
            number_kind="mobile",
            now=at(12),
            policy=policy,
        )
        services.record_outcome(attempt=attempt, collector=collector, outcome="no_answer", now=at(12, 1))
        with pytest.raises(ConductRefused, match="field visits"):
            services.start_attempt(
                case=case,
                placement=placement,
                agency=world.orgs["xagency"],
                collector=collector,
                channel="phone",
                number_kind="home",
                now=at(13),
                policy=policy,
            )


@pytest.mark.django_db
def test_the_collectors_screen_does_not_show_the_identity_answers(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(11))
    with in_acme(world):
        case, placement = make_case(world, "CONDUCT-ID-001")
        services.start_attempt(
            case=case,
            placement=placement,
            agency=world.orgs["xagency"],
            collector=world.people["x_collector"].user,
            channel="phone",
            number_kind="mobile",
            now=at(11),
        )
    page = client_for("x_collector", host="acme").get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "I verified the debtor" in page  # the check is on screen…
    last4 = TEST_ID_NUMBER[-4:]
    birth = TEST_ID_NUMBER[6:14]
    # …and its answers are not: neither the last four characters nor the date of birth, in any form.
    assert last4 not in page
    assert birth not in page and f"{birth[:4]}-{birth[4:6]}-{birth[6:]}" not in page
    assert TEST_ID_NUMBER[:3] in page  # the province prefix stays, to tell two debtors apart
