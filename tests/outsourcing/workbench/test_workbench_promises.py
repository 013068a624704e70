"""Promises to pay: recorded from a verified call, evidence for the limitation period, and kept,
partly kept or broken according to the payments on the case."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from outsourcing.workbench import services, views
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import PromiseStatus, PromiseToPay
from portal.lib.money import to_fen
from portal.models import Case, LimitationEvent
from tests.matrix_workbench import at, in_acme, make_case

MADE, DUE = datetime.date(2025, 6, 2), datetime.date(2025, 6, 20)


def evaluate(payments, as_of, amount="3000.00"):
    return services.evaluate_promise(amount=Decimal(amount), promised_on=MADE, due_on=DUE, payments=payments, as_of=as_of)


def test_paid_in_full_by_the_date_is_kept():
    result = evaluate([(datetime.date(2025, 6, 10), Decimal("1000")), (DUE, Decimal("2000.00"))], as_of=datetime.date(2025, 6, 25))
    assert result.status == PromiseStatus.KEPT and result.paid_amount == Decimal("3000.00")


def test_paid_in_full_early_is_kept_before_the_date():
    assert evaluate([(datetime.date(2025, 6, 3), Decimal("3000"))], as_of=datetime.date(2025, 6, 3)).status == PromiseStatus.KEPT


def test_part_paid_after_the_date_is_partly_kept():
    result = evaluate([(datetime.date(2025, 6, 15), Decimal("1200.50"))], as_of=datetime.date(2025, 6, 21))
    assert result.status == PromiseStatus.PARTLY_KEPT and result.paid_amount == Decimal("1200.50")


def test_nothing_paid_after_the_date_is_broken():
    assert evaluate([], as_of=datetime.date(2025, 6, 21)).status == PromiseStatus.BROKEN


def test_before_the_date_and_not_yet_paid_is_pending_even_on_the_day():
    assert evaluate([(datetime.date(2025, 6, 5), Decimal("100"))], as_of=DUE).status == PromiseStatus.PENDING


def test_payments_before_the_promise_or_after_the_date_do_not_count():
    result = evaluate(
        [(datetime.date(2025, 6, 1), Decimal("3000")), (datetime.date(2025, 6, 21), Decimal("3000"))], as_of=datetime.date(2025, 6, 30)
    )
    assert result.status == PromiseStatus.BROKEN and result.paid_amount == Decimal("0.00")


def test_floats_are_not_money():
    with pytest.raises(TypeError):
        evaluate([(MADE, 3000.0)], as_of=DUE)


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
DAYS = st.dates(min_value=datetime.date(2025, 5, 1), max_value=datetime.date(2025, 7, 31))


@given(amount=AMOUNTS, payments=st.lists(st.tuples(DAYS, AMOUNTS), max_size=8), as_of=DAYS)
def test_the_status_follows_from_what_was_paid_in_time(amount, payments, as_of):
    result = evaluate(payments, as_of=as_of, amount=amount)
    in_time = sum((value for day, value in payments if MADE <= day <= DUE), Decimal(0))
    # A promise takes at most its own amount: the rest of the money is left for the case's other promises.
    assert result.paid_amount == min(in_time, to_fen(amount))
    if in_time >= amount:
        assert result.status == PromiseStatus.KEPT
    elif as_of <= DUE:
        assert result.status == PromiseStatus.PENDING
    else:
        assert result.status == (PromiseStatus.PARTLY_KEPT if in_time > 0 else PromiseStatus.BROKEN)


@given(amount=AMOUNTS, payments=st.lists(st.tuples(DAYS, AMOUNTS), max_size=8), extra=st.tuples(DAYS, AMOUNTS))
def test_another_payment_never_makes_a_promise_worse(amount, payments, extra):
    rank = {PromiseStatus.BROKEN: 0, PromiseStatus.PENDING: 1, PromiseStatus.PARTLY_KEPT: 1, PromiseStatus.KEPT: 2}
    after_due = DUE + datetime.timedelta(days=1)
    before = evaluate(payments, as_of=after_due, amount=amount)
    after = evaluate([*payments, extra], as_of=after_due, amount=amount)
    assert rank[after.status] >= rank[before.status] and after.paid_amount >= before.paid_amount


def promise_call(world, case, placement, *, amount="3000", due_on=DUE):
    collector = world.people["x_collector"].user
    attempt = services.start_attempt(
        case=case, placement=placement, agency=world.orgs["xagency"], collector=collector, channel="phone", number_kind="mobile", now=at(10)
    )
    services.verify_identity(attempt=attempt, collector=collector, method="id_last4", name="王测试", answer="2343", now=at(10, 1))
    return services.record_outcome(
        attempt=attempt,
        collector=collector,
        outcome="promise_to_pay",
        note="承诺20日前还3000",
        promise_amount=Decimal(amount),
        promise_due_on=due_on,
        now=at(10, 6),
    )


@pytest.mark.django_db
def test_a_promise_in_a_verified_call_is_recorded_with_its_limitation_evidence(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-PTP-001")
        attempt = promise_call(world, case, placement)
        promise = PromiseToPay.objects.get(attempt=attempt)
        assert (promise.amount, promise.promised_on, promise.due_on, promise.status) == (
            Decimal("3000.00"),
            MADE,
            DUE,
            PromiseStatus.PENDING,
        )
        kinds = set(LimitationEvent.objects.filter(case=case).values_list("kind", flat=True))
        assert kinds == {"demand", "acknowledgment"}  # 民法典 art. 195(一)(二)
        assert Case.objects.get(pk=case.pk).limitation_expires_on == datetime.date(2028, 6, 2)


@pytest.mark.django_db
def test_a_promise_needs_an_amount_a_date_and_not_a_date_in_the_past(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-PTP-002")
        with pytest.raises(WorkbenchError):
            promise_call(world, case, placement, due_on=datetime.date(2025, 6, 1))
        assert not PromiseToPay.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_evaluations_are_stored_and_move_with_the_payments(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-PTP-003")
        promise_call(world, case, placement)
        after = datetime.date(2025, 6, 22)  # past the due date and the lender's default grace day (bank T+1)
        changed = services.store_promise_evaluations(case=case, payments=[], as_of=after, now=at(9, 0, after))
        assert [p.status for p in changed] == [PromiseStatus.BROKEN]
        # A payment dated in time but posted late turns the broken promise into a partly kept one, then a kept one.
        services.store_promise_evaluations(case=case, payments=[(datetime.date(2025, 6, 19), "1000")], as_of=after, now=at(9, 5, after))
        assert PromiseToPay.objects.get(case=case).status == PromiseStatus.PARTLY_KEPT
        services.store_promise_evaluations(
            case=case, payments=[(datetime.date(2025, 6, 19), "1000"), (DUE, "2000")], as_of=after, now=at(9, 9, after)
        )
        stored = PromiseToPay.objects.get(case=case)
        assert (stored.status, stored.paid_amount, stored.evaluated_at) == (PromiseStatus.KEPT, Decimal("3000.00"), at(9, 9, after))
        assert (
            services.store_promise_evaluations(
                case=case, payments=[(datetime.date(2025, 6, 19), "1000"), (DUE, "2000")], as_of=after, now=at(9, 10, after)
            )
            == []
        )


@pytest.mark.django_db
def test_the_collector_records_a_promise_from_the_page(world, client_for, monkeypatch):
    from outsourcing.workbench.models import ContactAttempt

    monkeypatch.setattr(views, "now", lambda: at(10))
    with in_acme(world):
        case, _placement = make_case(world, "WB-PTP-004")
    client = client_for("x_collector", host="acme")
    client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"})
    with in_acme(world):
        attempt = ContactAttempt.objects.get(case=case)
    client.post(f"/workbench/attempts/{attempt.pk}/verify/", {"method": "id_last4", "name": "王测试", "answer": "2343"})
    response = client.post(
        f"/workbench/attempts/{attempt.pk}/outcome/",
        {"outcome": "promise_to_pay", "note": "本月20日前还3000", "promise_amount": "3000.00", "promise_due_on": "2025-06-20"},
        follow=True,
    )
    page = response.content.decode()
    assert "Attempt logged" in page and "Promise to pay" in page and "2025-06-20" in page
    with in_acme(world):
        assert PromiseToPay.objects.get(case=case).amount == Decimal("3000.00")
