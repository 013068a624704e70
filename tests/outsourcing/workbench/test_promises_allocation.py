"""Promises to pay (issue item 5): one payment keeps at most one promise (money allocated earliest due
first, counted once), and the lender's grace days let a promise due on D count a payment dated D+1 (bank T+1)."""

import datetime
from decimal import Decimal

import pytest

from outsourcing.workbench import services
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import ContactPolicy, PromiseStatus
from outsourcing.workbench.services import PromiseTerms, evaluate_promises
from tests.factories import phone_call
from tests.matrix_workbench import at, in_acme, make_case

D = datetime.date


def test_one_payment_keeps_one_of_two_open_promises():
    first = PromiseTerms(key="first", amount=Decimal("3000"), promised_on=D(2025, 6, 2), due_on=D(2025, 6, 20))
    second = PromiseTerms(key="second", amount=Decimal("3000"), promised_on=D(2025, 6, 5), due_on=D(2025, 6, 25))
    payments = [(D(2025, 6, 18), Decimal("3000"))]
    results = evaluate_promises([second, first], payments=payments, as_of=D(2025, 6, 22))
    assert results["first"].status == PromiseStatus.KEPT and results["first"].paid_amount == Decimal("3000.00")
    assert results["second"].status == PromiseStatus.PENDING and results["second"].paid_amount == Decimal("0.00")
    later = evaluate_promises([first, second], payments=payments, as_of=D(2025, 6, 30))
    assert later["second"].status == PromiseStatus.BROKEN


def test_money_left_over_after_the_earliest_promise_goes_to_the_next():
    first = PromiseTerms(key=1, amount=Decimal("1000"), promised_on=D(2025, 6, 2), due_on=D(2025, 6, 10))
    second = PromiseTerms(key=2, amount=Decimal("1000"), promised_on=D(2025, 6, 2), due_on=D(2025, 6, 20))
    results = evaluate_promises([first, second], payments=[(D(2025, 6, 8), Decimal("1500"))], as_of=D(2025, 6, 21))
    assert results[1].status == PromiseStatus.KEPT
    assert results[2].status == PromiseStatus.PARTLY_KEPT and results[2].paid_amount == Decimal("500.00")
    assert results[1].paid_amount + results[2].paid_amount == Decimal("1500.00")


def test_a_payment_booked_the_day_after_the_due_date_keeps_the_promise_with_one_grace_day():
    due = D(2025, 6, 20)
    payments = [(due + datetime.timedelta(days=1), Decimal("3000"))]
    kept = services.evaluate_promise(
        amount=Decimal("3000"), promised_on=D(2025, 6, 2), due_on=due, payments=payments, as_of=D(2025, 6, 25), grace_days=1
    )
    assert kept.status == PromiseStatus.KEPT
    strict = services.evaluate_promise(
        amount=Decimal("3000"), promised_on=D(2025, 6, 2), due_on=due, payments=payments, as_of=D(2025, 6, 25), grace_days=0
    )
    assert strict.status == PromiseStatus.BROKEN
    # On the grace day itself, nothing yet paid: still pending, not broken.
    assert (
        services.evaluate_promise(
            amount=Decimal("3000"), promised_on=D(2025, 6, 2), due_on=due, payments=[], as_of=D(2025, 6, 21), grace_days=1
        ).status
        == PromiseStatus.PENDING
    )


def _promise(world, case, placement, *, amount, due_on, hour):
    collector = world.people["x_collector"].user
    attempt = phone_call(world, case=case, placement=placement, collector=collector, now=at(hour))
    from tests.matrix_workbench import TEST_ID_NUMBER

    services.verify_identity(
        attempt=attempt, collector=collector, method="id_last4", name="王测试", answer=TEST_ID_NUMBER[-4:], now=at(hour, 1)
    )
    services.record_outcome(
        attempt=attempt,
        collector=collector,
        outcome="promise_to_pay",
        promise_amount=Decimal(amount),
        promise_due_on=due_on,
        now=at(hour, 5),
    )
    return attempt.promise


@pytest.mark.django_db
def test_stored_evaluations_use_the_lenders_grace_and_count_a_payment_once(world):
    with in_acme(world):
        services.set_contact_policy(
            window_start=datetime.time(8),
            window_end=datetime.time(21),
            daily_cap=3,
            time_zone="Asia/Shanghai",
            promise_grace_days=1,
            updated_by=world.people["acme_admin"].user,
            now=at(7),
        )
        case, placement = make_case(world, "PROMISE-ALLOC-001")
        first = _promise(world, case, placement, amount="2000", due_on=D(2025, 6, 10), hour=9)
        second = _promise(world, case, placement, amount="2000", due_on=D(2025, 6, 12), hour=10)
        services.store_promise_evaluations(
            case=case, payments=[(D(2025, 6, 11), Decimal("2000"))], as_of=D(2025, 6, 14), now=at(9, 0, D(2025, 6, 14))
        )
        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == PromiseStatus.KEPT  # due 6-10, paid 6-11: inside the one grace day
        assert second.status == PromiseStatus.BROKEN and second.paid_amount == 0  # the same money is not counted twice


@pytest.mark.django_db
def test_grace_days_are_set_on_the_contact_policy_page_and_bounded(world, client_for):
    client = client_for("acme_admin", host="acme")
    response = client.post(
        "/workbench/contact-rules/",
        {"window_start": "08:00", "window_end": "21:00", "daily_cap": "3", "time_zone": "Asia/Shanghai", "promise_grace_days": "2"},
    )
    assert response.status_code == 302
    with in_acme(world):
        assert ContactPolicy.current().promise_grace_days == 2
        with pytest.raises(WorkbenchError, match="grace"):
            services.set_contact_policy(
                window_start=datetime.time(8),
                window_end=datetime.time(21),
                daily_cap=3,
                time_zone="Asia/Shanghai",
                promise_grace_days=6,
                updated_by=world.people["acme_admin"].user,
                now=at(7),
            )
        services.set_contact_policy(
            window_start=datetime.time(8),
            window_end=datetime.time(21),
            daily_cap=3,
            time_zone="Asia/Shanghai",
            promise_grace_days=1,
            updated_by=world.people["acme_admin"].user,
            now=at(7),
        )
