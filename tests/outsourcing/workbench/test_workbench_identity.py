"""Identity verification gates the debt: details appear for a call with the verified debtor only,
and a third party is never shown them."""

import pytest

from outsourcing.workbench import services, views
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import ContactAttempt, Party
from portal.audit.models import Action, AuditEvent
from portal.models import LimitationEvent
from tests.factories import phone_call
from tests.matrix_workbench import at, in_acme, make_case

BALANCE = "¥15,812.35"  # principal 15,000.00 + interest 812.35


@pytest.fixture
def call(world, client_for, monkeypatch):
    """A collector's client with the clock pinned at 10:00 on 2 June 2025, and a fresh case."""
    monkeypatch.setattr(views, "now", lambda: at(10))
    with in_acme(world):
        case, _placement = make_case(world, "WB-ID-001")
    return client_for("x_collector", host="acme"), case


def page(client, case):
    response = client.get(f"/workbench/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def open_attempt(world, case):
    with in_acme(world):
        return ContactAttempt.objects.get(case=case, outcome="")


@pytest.mark.django_db
def test_debt_details_appear_only_after_verification_and_only_for_that_call(world, call):
    client, case = call
    assert BALANCE not in page(client, case) and "data-debt-hidden" in page(client, case)
    client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"})
    attempt = open_attempt(world, case)
    assert BALANCE not in page(client, case)  # dialled, but who answered is not known yet
    response = client.post(
        f"/workbench/attempts/{attempt.pk}/verify/", {"method": "id_last4", "name": "王测试", "answer": "2343"}, follow=True
    )
    assert BALANCE in response.content.decode() and "Identity verified" in response.content.decode()
    client.post(f"/workbench/attempts/{attempt.pk}/outcome/", {"outcome": "debtor_reached", "note": "称下周回电"})
    after = page(client, case)
    assert BALANCE not in after and "data-debt-hidden" in after  # the next call verifies again
    with in_acme(world):
        closed = ContactAttempt.objects.get(pk=attempt.pk)
        assert closed.party_reached == Party.DEBTOR and closed.identity_method == "id_last4" and closed.ended_at == at(10)
        # The verified debtor was reached: a demand, evidence for the limitation period (民法典 art. 195).
        demand = LimitationEvent.objects.get(case=case, kind="demand", source_id=str(attempt.pk))
        # Written in the document language with the choices' labels, though this screen is English.
        assert demand.evidence == "致电债务人（手机号），已核实身份（姓名及身份证号码后四位）；结果：联系到借款人，未承诺还款", (
            demand.evidence
        )
        assert AuditEvent.objects.filter(action=Action.VIEW_PERSONAL_DATA, case_id=str(case.pk), detail__debt_details=True).exists()


@pytest.mark.django_db
def test_a_wrong_answer_does_not_verify_and_three_lock_the_call(world, call):
    client, case = call
    client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"})
    attempt = open_attempt(world, case)
    for answer in ("1111", "2222", "3333"):
        response = client.post(
            f"/workbench/attempts/{attempt.pk}/verify/", {"method": "id_last4", "name": "王测试", "answer": answer}, follow=True
        )
        assert "do not match" in response.content.decode() and BALANCE not in response.content.decode()
    locked = client.post(
        f"/workbench/attempts/{attempt.pk}/verify/", {"method": "id_last4", "name": "王测试", "answer": "2343"}, follow=True
    )
    assert "Too many wrong answers" in locked.content.decode() and BALANCE not in locked.content.decode()
    with in_acme(world):
        attempt.refresh_from_db()
        assert attempt.identity_failures == 3 and not attempt.identity_verified


@pytest.mark.django_db
def test_the_right_number_with_the_wrong_name_is_not_the_debtor(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ID-002")
        attempt = services.start_attempt(
            case=case,
            placement=placement,
            agency=world.orgs["xagency"],
            collector=world.people["x_collector"].user,
            channel="phone",
            number_kind="mobile",
            now=at(10),
        )
        with pytest.raises(WorkbenchError):
            services.verify_identity(
                attempt=attempt, collector=world.people["x_collector"].user, method="id_last4", name="李四", answer="2343", now=at(10, 1)
            )
        verified = services.verify_identity(
            attempt=attempt,
            collector=world.people["x_collector"].user,
            method="birth_date",
            name="王 测试",
            answer="1990-11-11",
            now=at(10, 2),
        )
        assert verified.identity_verified and verified.identity_method == "birth_date"


@pytest.mark.django_db
def test_debtor_outcomes_need_a_verified_identity(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ID-003")
        collector = world.people["x_collector"].user
        attempt = phone_call(world, case=case, placement=placement, collector=collector, now=at(10))
        for outcome in ("promise_to_pay", "refuses", "dispute", "claims_paid", "debtor_reached"):
            with pytest.raises(WorkbenchError):
                services.record_outcome(
                    attempt=attempt,
                    collector=collector,
                    outcome=outcome,
                    now=at(10, 5),
                    **({"promise_amount": "3000", "promise_due_on": at(0).date()} if outcome == "promise_to_pay" else {}),
                )
        assert ContactAttempt.objects.get(pk=attempt.pk).is_open
        assert not LimitationEvent.objects.filter(case=case).exists()


@pytest.mark.django_db
def test_a_third_party_call_never_shows_the_debt(world, call):
    client, case = call
    with in_acme(world):
        contact = case.debtor.contacts.get()
    started = client.post(
        f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "contact", "contact": str(contact.pk)}, follow=True
    ).content.decode()
    assert "13700001111" in started and BALANCE not in started and "Do not mention the debt" in started
    attempt = open_attempt(world, case)
    logged = client.post(f"/workbench/attempts/{attempt.pk}/outcome/", {"outcome": "third_party", "note": "朋友表示会转告"}, follow=True)
    assert BALANCE not in logged.content.decode()
    with in_acme(world):
        attempt.refresh_from_db()
        assert attempt.party_reached == Party.THIRD_PARTY and attempt.contact == contact
        assert not LimitationEvent.objects.filter(case=case).exists()  # nothing reached the debtor


@pytest.mark.django_db
def test_an_outcome_of_a_conversation_with_someone_else_is_refused_after_verification(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ID-004")
        collector = world.people["x_collector"].user
        attempt = phone_call(world, case=case, placement=placement, collector=collector, now=at(10))
        services.verify_identity(attempt=attempt, collector=collector, method="id_last4", name="王测试", answer="2343", now=at(10, 1))
        with pytest.raises(WorkbenchError):
            services.record_outcome(attempt=attempt, collector=collector, outcome="third_party", now=at(10, 3))


@pytest.mark.django_db
def test_another_collector_cannot_verify_or_close_my_call(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ID-005")
        attempt = services.start_attempt(
            case=case,
            placement=placement,
            agency=world.orgs["xagency"],
            collector=world.people["x_collector"].user,
            channel="phone",
            number_kind="mobile",
            now=at(10),
        )
        other = world.people["x_admin"].user
        with pytest.raises(WorkbenchError):
            services.verify_identity(attempt=attempt, collector=other, method="id_last4", name="王测试", answer="2343", now=at(10, 1))
        with pytest.raises(WorkbenchError):
            services.record_outcome(attempt=attempt, collector=other, outcome="no_answer", now=at(10, 1))


@pytest.mark.django_db
def test_the_verification_window_closes_after_half_an_hour(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ID-006")
        collector = world.people["x_collector"].user
        attempt = phone_call(world, case=case, placement=placement, collector=collector, now=at(10))
        attempt = services.verify_identity(
            attempt=attempt, collector=collector, method="id_last4", name="王测试", answer="2343", now=at(10, 1)
        )
        assert services.reveals_debt(attempt, now=at(10, 30))
        assert not services.reveals_debt(attempt, now=at(10, 32))


@pytest.mark.django_db
def test_a_closed_attempt_cannot_be_rewritten_even_in_the_database(world):
    from django.db import ProgrammingError, transaction

    with in_acme(world):
        case, placement = make_case(world, "WB-ID-007")
        collector = world.people["x_collector"].user
        attempt = phone_call(world, case=case, placement=placement, collector=collector, now=at(10))
        services.record_outcome(attempt=attempt, collector=collector, outcome="no_answer", now=at(10, 1))
        with pytest.raises(ProgrammingError), transaction.atomic():
            ContactAttempt.objects.filter(pk=attempt.pk).update(outcome="promise_to_pay")
        with pytest.raises(ProgrammingError), transaction.atomic():
            ContactAttempt.objects.filter(pk=attempt.pk).delete()


@pytest.mark.django_db
def test_the_numbers_are_listed_in_dial_order_and_masked(world, call):
    client, case = call
    body = page(client, case)
    positions = [body.index(label) for label in ("Mobile", "Home phone", "Company phone", "李联系")]
    assert positions == sorted(positions)
    assert "139****5678" in body and "13912345678" not in body and "021****9999" in body
