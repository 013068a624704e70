"""Conduct rules: contact outside the window or over the cap is refused, with the reason.

Every moment is passed in explicitly (the services' ``now``, the views' pinned clock); nothing here
depends on the wall clock.
"""

import datetime

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, strategies as st

from outsourcing.workbench import conduct, services, views
from outsourcing.workbench.errors import ConductRefused, WorkbenchError
from outsourcing.workbench.models import ContactAttempt, ContactPolicy
from tests.matrix_workbench import at, in_acme, make_case

DEFAULT = ContactPolicy()  # 08:00–21:00, 3 a day, Asia/Shanghai


def start(world, case, placement, now, *, collector="x_collector", agency="xagency", number_kind="mobile", policy=None):
    return services.start_attempt(
        case=case,
        placement=placement,
        agency=world.orgs[agency],
        collector=world.people[collector].user,
        channel="phone",
        number_kind=number_kind,
        now=now,
        policy=policy,
    )


def close(world, attempt, now, collector="x_collector"):
    return services.record_outcome(attempt=attempt, collector=world.people[collector].user, outcome="no_answer", now=now)


@pytest.mark.parametrize(
    "hour,minute,allowed", [(7, 59, False), (8, 0, True), (12, 30, True), (20, 59, True), (21, 0, False), (23, 30, False), (0, 0, False)]
)
def test_the_default_window_is_eight_to_nine_debtor_local(hour, minute, allowed):
    assert conduct.is_within_window(datetime.time(hour, minute), DEFAULT) is allowed


@given(st.times(), st.times(min_value=datetime.time(8, 0), max_value=datetime.time(20, 59)), st.integers(min_value=1, max_value=780))
def test_any_window_admits_exactly_the_times_inside_it(moment, start_time, length):
    start_minutes = start_time.hour * 60 + start_time.minute
    end_minutes = min(start_minutes + length, 21 * 60)
    policy = ContactPolicy(window_start=start_time, window_end=datetime.time(end_minutes // 60, end_minutes % 60))
    assert conduct.is_within_window(moment, policy) == (policy.window_start <= moment < policy.window_end)


def test_the_window_is_read_in_the_debtors_time_zone():
    utc_evening = datetime.datetime(2025, 6, 2, 13, 30, tzinfo=datetime.UTC)  # 21:30 in Beijing, 19:30 in Urumqi
    assert conduct.debtor_local(utc_evening, DEFAULT).time() == datetime.time(21, 30)
    urumqi = ContactPolicy(debtor_time_zone="Asia/Urumqi")
    assert conduct.is_within_window(conduct.debtor_local(utc_evening, urumqi).time(), urumqi)


@pytest.mark.django_db
def test_a_call_before_eight_is_refused_with_the_reason_and_nothing_is_recorded(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-CONDUCT-001")
        with pytest.raises(ConductRefused) as refusal:
            start(world, case, placement, at(7, 59))
        assert "07:59" in refusal.value.message and "08:00" in refusal.value.message and "21:00" in refusal.value.message
        assert not ContactAttempt.objects.filter(case=case).exists()
        assert start(world, case, placement, at(8, 0)).debtor_local_date == datetime.date(2025, 6, 2)


@pytest.mark.django_db
def test_a_call_at_nine_in_the_evening_is_refused(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-CONDUCT-002")
        with pytest.raises(ConductRefused):
            start(world, case, placement, at(21, 0))
        with pytest.raises(ConductRefused):
            start(world, case, placement, datetime.datetime(2025, 6, 2, 13, 30, tzinfo=datetime.UTC))  # 21:30 debtor-local


@pytest.mark.django_db
def test_a_stricter_lender_window_is_enforced(world):
    with in_acme(world):
        services.set_contact_policy(
            window_start=datetime.time(9, 0),
            window_end=datetime.time(20, 0),
            daily_cap=3,
            time_zone="Asia/Shanghai",
            updated_by=world.people["acme_admin"].user,
            now=at(7),
        )
        case, placement = make_case(world, "WB-CONDUCT-003")
        with pytest.raises(ConductRefused) as refusal:
            start(world, case, placement, at(8, 30))
        assert "09:00" in refusal.value.message
        start(world, case, placement, at(9, 0))


@pytest.mark.django_db
def test_the_cap_counts_every_agency_and_refuses_the_next_attempt(world):
    """One attempt by X, then two by agency Y after a handover, use up the default three; X's next, after the case comes back, is refused."""
    from outsourcing.models import Placement, PlacementStatus

    with in_acme(world):
        case, placement = make_case(world, "WB-CONDUCT-004")
        close(world, start(world, case, placement, at(9, 0)), at(9, 5))
        placement.status = PlacementStatus.RECALLED
        placement.save()
        y_placement = Placement.objects.create(
            case=case,
            partner=world.orgs["yagency"],
            assigned_to=world.people["y_collector"].user,
            starts_at=at(0, 0, datetime.date(2020, 1, 1)),
            ends_at=placement.ends_at,
        )
        close(world, start(world, case, y_placement, at(10, 0), agency="yagency", collector="y_collector"), at(10, 2), "y_collector")
        close(
            world,
            start(world, case, y_placement, at(11, 0), agency="yagency", collector="y_collector", number_kind="home"),
            at(11, 1),
            "y_collector",
        )
        y_placement.status = PlacementStatus.RECALLED
        y_placement.save()
        x_again = Placement.objects.create(
            case=case,
            partner=world.orgs["xagency"],
            assigned_to=world.people["x_collector"].user,
            starts_at=at(0, 0, datetime.date(2020, 1, 1)),
            ends_at=placement.ends_at,
        )
        with pytest.raises(ConductRefused) as refusal:
            start(world, case, x_again, at(15, 0))
        assert "3" in refusal.value.message and "2025-06-02" in refusal.value.message
        assert ContactAttempt.objects.filter(case=case).count() == 3
        # The next debtor-local day starts afresh.
        assert start(world, case, x_again, at(8, 0, datetime.date(2025, 6, 3))).debtor_local_date == datetime.date(2025, 6, 3)


@pytest.mark.django_db
def test_the_cap_is_per_debtor_across_their_cases(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-CONDUCT-005")
        second, second_placement = make_case(world, "WB-CONDUCT-006", debtor=case.debtor)
        policy = ContactPolicy(daily_cap_per_debtor=2)
        close(world, start(world, case, placement, at(9), policy=policy), at(9, 1))
        close(world, start(world, second, second_placement, at(10), policy=policy), at(10, 1))
        with pytest.raises(ConductRefused):
            start(world, second, second_placement, at(11), policy=policy)


@pytest.mark.django_db
def test_the_window_cannot_be_widened_by_the_service_or_the_database(world):
    admin = world.people["acme_admin"].user
    with in_acme(world):
        with pytest.raises(WorkbenchError):
            services.set_contact_policy(
                window_start=datetime.time(7, 30),
                window_end=datetime.time(21, 0),
                daily_cap=3,
                time_zone="Asia/Shanghai",
                updated_by=admin,
                now=at(7),
            )
        with pytest.raises(WorkbenchError):
            services.set_contact_policy(
                window_start=datetime.time(8, 0),
                window_end=datetime.time(22, 0),
                daily_cap=3,
                time_zone="Asia/Shanghai",
                updated_by=admin,
                now=at(7),
            )
        with pytest.raises(IntegrityError), transaction.atomic():
            ContactPolicy.objects.create(window_start=datetime.time(8, 0), window_end=datetime.time(22, 0))


@pytest.mark.django_db
def test_the_collector_sees_the_refusal_reason_on_the_page(world, client_for, monkeypatch):
    with in_acme(world):
        case, _placement = make_case(world, "WB-CONDUCT-007")
    monkeypatch.setattr(views, "now", lambda: at(21, 15))
    client = client_for("x_collector", host="acme")
    response = client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "it is 21:15 in Asia/Shanghai" in page and "Outside the contact window" in page
    assert "13912345678" not in page  # the number is revealed only for an attempt that was allowed
    with in_acme(world):
        assert not ContactAttempt.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_the_collector_over_the_cap_is_refused_on_the_page(world, client_for, monkeypatch):
    with in_acme(world):
        case, placement = make_case(world, "WB-CONDUCT-008")
        for hour in (9, 10, 11):
            close(world, start(world, case, placement, at(hour)), at(hour, 1))
    monkeypatch.setattr(views, "now", lambda: at(14))
    response = client_for("x_collector", host="acme").post(
        f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "home"}, follow=True
    )
    page = response.content.decode()
    assert "already been contacted 3 times" in page and "Daily limit reached" in page
    with in_acme(world):
        assert ContactAttempt.objects.filter(case=case).count() == 3


@pytest.mark.django_db
def test_a_call_within_the_rules_reveals_the_number_to_dial(world, client_for, monkeypatch):
    with in_acme(world):
        case, _placement = make_case(world, "WB-CONDUCT-009")
    monkeypatch.setattr(views, "now", lambda: at(10))
    page = (
        client_for("x_collector", host="acme")
        .post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"}, follow=True)
        .content.decode()
    )
    assert "13912345678" in page and "Call in progress" in page
    with in_acme(world):
        attempt = ContactAttempt.objects.get(case=case)
        assert attempt.started_at == at(10) and attempt.number_dialled == "13912345678" and attempt.is_open
