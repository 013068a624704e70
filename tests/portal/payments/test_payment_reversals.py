"""Reversing a payment (冲正): the balances, the limitation date and the case's status are put back,
the agency's commission is clawed back on the statement of the reversal's month, promises are
evaluated without the money, and nothing of the payment itself is edited or lost."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from outsourcing import statement_documents, statements
from outsourcing.models import CommissionLine
from outsourcing.workbench.models import ContactAttempt, PromiseStatus, PromiseToPay
from portal.audit.models import AuditEvent
from portal.fees import documents as fee_documents
from portal.limitation import LIMITATION_YEARS, add_years
from portal.models import BalanceSnapshot, Case, CaseStatus, LimitationEvent
from portal.payments import services
from portal.payments.models import Payment, PaymentReversal, ReportStatus, ReversalReason
from tests.factories import CaseFactory, PaymentFactory, finance, place
from tests.matrix_workbench import make_case
from tests.outsourcing.test_statements import M1, M2, after, day, moment
from tests.portal.intake.test_intake_api import system, token_for

pytestmark = pytest.mark.django_db
D = Decimal


def reverse(payment, *, reason=ReversalReason.RETURNED, note="银行退票", **kw):
    return services.reverse_payment(payment=payment, reason=reason, note=note, **kw)


def balances(case):
    case.refresh_from_db()
    return (case.principal_due, case.interest_due, case.penalty_due, case.fees_due)


# ------------------------------------------------------------------ the case


def test_a_reversal_gives_the_parts_back_and_withdraws_the_limitation_evidence(acme):
    case = CaseFactory(prefix="REV-BAL", principal_due="1000.00")
    Case.objects.filter(pk=case.pk).update(interest_due=D("100.00"), fees_due=D("20.00"))
    before = balances(case)
    due_expiry = case.limitation_expires_on
    paid_on = timezone.localdate() - datetime.timedelta(days=10)
    payment = PaymentFactory(case=case, amount="300.00", paid_on=paid_on, reference="REV-BAL-1")
    assert balances(case) == (D("820.00"), D("0.00"), D("0.00"), D("0.00"))
    assert case.limitation_expires_on == add_years(paid_on, LIMITATION_YEARS) and case.last_payment_on == paid_on

    reversal = reverse(payment, reversed_by=finance(acme))
    assert balances(case) == before  # fees 20, interest 100, principal 180 all given back
    assert case.limitation_expires_on == due_expiry  # the payment no longer restarts the period
    assert case.last_payment_on is None
    event = LimitationEvent.objects.get(case=case, source_type="payments.payment", source_id=str(payment.pk))
    assert event.withdrawn_at is not None and "REV-BAL-1" in event.withdrawn_note
    snapshot = BalanceSnapshot.objects.get(case=case, source=f"reversal:{reversal.pk}")
    assert (snapshot.principal_due, snapshot.interest_due, snapshot.fees_due, snapshot.as_of) == (
        D("1000.00"),
        D("100.00"),
        D("20.00"),
        timezone.localdate(),
    )
    assert Payment.objects.filter(pk=payment.pk, amount=D("300.00")).exists()  # the payment itself stays as it was


def test_the_latest_standing_payment_becomes_the_last_payment(acme):
    case = CaseFactory(prefix="REV-LAST", principal_due="5000.00")
    today = timezone.localdate()
    PaymentFactory(case=case, amount="100.00", paid_on=today - datetime.timedelta(days=20), reference="REV-LAST-1")
    later = PaymentFactory(case=case, amount="100.00", paid_on=today - datetime.timedelta(days=5), reference="REV-LAST-2")
    reverse(later)
    case.refresh_from_db()
    assert case.last_payment_on == today - datetime.timedelta(days=20)
    assert case.limitation_expires_on == add_years(today - datetime.timedelta(days=20), LIMITATION_YEARS)


@pytest.mark.parametrize(
    "change,code",
    [
        ({"note": "  "}, "note"),
        ({"reason": "whim"}, "reason"),
        ({"reversed_on": timezone.localdate() + datetime.timedelta(days=1)}, "future"),
        ({"reversed_on": timezone.localdate() - datetime.timedelta(days=30)}, "before_payment"),
    ],
)
def test_bad_reversals_are_refused_and_change_nothing(acme, change, code):
    case = CaseFactory(prefix=f"REV-BAD-{code}", principal_due="1000.00")
    payment = PaymentFactory(
        case=case, amount="400.00", paid_on=timezone.localdate() - datetime.timedelta(days=3), reference=f"REV-BAD-{code}"
    )
    after_payment = balances(case)
    with pytest.raises(ValidationError) as refused:
        reverse(payment, **change)
    assert refused.value.code == code
    assert balances(case) == after_payment and not PaymentReversal.objects.filter(payment=payment).exists()


def test_a_payment_is_reversed_once(acme):
    case = CaseFactory(prefix="REV-TWICE", principal_due="1000.00")
    payment = PaymentFactory(case=case, amount="400.00", paid_on=timezone.localdate(), reference="REV-TWICE-1")
    reverse(payment)
    with pytest.raises(ValidationError) as refused:
        reverse(payment, reason=ReversalReason.ERROR, note="again")
    assert refused.value.code == "already_reversed"
    assert balances(case)[0] == D("1000.00")  # given back once, not twice
    assert PaymentReversal.objects.filter(payment=payment).count() == 1


def test_the_database_refuses_changes_to_a_reversal(acme):
    case = CaseFactory(prefix="REV-IMM", principal_due="1000.00")
    reversal = reverse(PaymentFactory(case=case, amount="10.00", paid_on=timezone.localdate(), reference="REV-IMM-1"))
    for change in (
        lambda: PaymentReversal.objects.filter(pk=reversal.pk).update(note="edited"),
        lambda: PaymentReversal.objects.filter(pk=reversal.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():  # the append-only trigger
            change()
    assert PaymentReversal.objects.get(pk=reversal.pk).note == "银行退票"


def test_a_reversal_reopens_a_settled_case_and_puts_it_back_with_its_agency(acme):
    world = acme
    alone, placed = CaseFactory.create_batch(2, prefix="REV-SETTLE", principal_due="500.00")
    place(world, [placed])
    today = timezone.localdate()
    first, second = (
        PaymentFactory(case=alone, amount="500.00", paid_on=today, reference="REV-SETTLE-1"),
        PaymentFactory(case=placed, amount="500.00", paid_on=today, reference="REV-SETTLE-2"),
    )
    for case in (alone, placed):
        case.refresh_from_db()
        assert case.status == CaseStatus.SETTLED
    reverse(first)
    reverse(second)
    alone.refresh_from_db()
    placed.refresh_from_db()
    assert (alone.status, placed.status) == (CaseStatus.INTERNAL, CaseStatus.PLACED)


def test_a_report_never_matches_a_reversed_payment(acme):
    world = acme
    case = CaseFactory(prefix="REV-RPT", principal_due="5000.00")
    place(world, [case])
    today = timezone.localdate()
    reverse(PaymentFactory(case=case, amount="700.00", paid_on=today, reference="REV-RPT-1"))
    report = services.report_payment(
        case=case, organisation=world.orgs["xagency"], amount="700.00", paid_on=today, reported_by=world.people["x_admin"].user
    )
    assert report.status == ReportStatus.PENDING


# ------------------------------------------------------------------ commission and statements


def test_the_commission_is_clawed_back_on_the_statement_of_the_reversals_month(acme):
    world = acme
    case = CaseFactory(prefix="REV-STM", dpd=150)
    place(world, [case], now=moment(M2, 8))
    payment = PaymentFactory(case=case, amount="1000.00", paid_on=day(M2, 5), reference="REV-STM-1", now=moment(day(M2, 5), 10))
    earned = CommissionLine.objects.get(payment=payment)
    approved = statements.approve(
        statement=statements.draft_statement(partner=world.orgs["xagency"], period=M2), approved_by=finance(world), now=after(M2)
    )
    reversal = reverse(payment, reversed_on=day(M1, 3), now=moment(day(M1, 3), 10))
    clawback = CommissionLine.objects.get(reversal=reversal)
    assert (clawback.recovered, clawback.commission, clawback.rate, clawback.paid_on, clawback.placement_id) == (
        -earned.recovered,
        -earned.commission,
        earned.rate,
        day(M1, 3),
        earned.placement_id,
    )
    earned.refresh_from_db()
    assert earned.statement_id == approved.pk and approved.lines.count() == 1  # the approved statement is untouched
    following = statements.draft_statement(partner=world.orgs["xagency"], period=M1)
    assert list(following.lines.all()) == [clawback]
    assert (following.recovered_total, following.commission_total) == (-earned.recovered, -earned.commission)


def test_a_payment_reversed_before_any_statement_nets_to_nothing(acme):
    world = acme
    case = CaseFactory(prefix="REV-NET", dpd=150)
    place(world, [case], now=moment(M2, 8))
    payment = PaymentFactory(case=case, amount="333.33", paid_on=day(M2, 5), reference="REV-NET-1", now=moment(day(M2, 5), 10))
    reverse(payment, reversed_on=day(M2, 9), now=moment(day(M2, 9), 10))
    statement = statements.draft_statement(partner=world.orgs["xagency"], period=M2)
    assert statement.line_count == 2 and statement.recovered_total == D("0.00") and statement.commission_total == D("0.00")
    assert statement.commission_total == sum(line.commission for line in statement.lines.all())


def test_the_database_keeps_clawbacks_negative_and_one_earned_line_per_payment(acme):
    world = acme
    case = CaseFactory(prefix="REV-CHK", dpd=150)
    place(world, [case])
    payment = PaymentFactory(case=case, amount="100.00", paid_on=timezone.localdate(), reference="REV-CHK-1")
    earned = CommissionLine.objects.get(payment=payment)
    reversal = reverse(payment)
    clawback = CommissionLine.objects.get(reversal=reversal)
    fields = {f.attname: getattr(earned, f.attname) for f in CommissionLine._meta.concrete_fields if f.attname not in ("id", "reversal_id")}
    with pytest.raises(IntegrityError, match="commission_one_line_per_payment"), transaction.atomic():
        CommissionLine.objects.create(**fields)  # a second earned line for the payment
    stray = PaymentFactory(
        case=CaseFactory(prefix="REV-CHK-O"), amount="5.00", paid_on=timezone.localdate(), reference="REV-CHK-2"
    )  # unplaced: no line of its own
    with pytest.raises(IntegrityError, match="commission_recovered_sign"), transaction.atomic():  # an "earned" line taking money back
        CommissionLine.objects.create(**(fields | {"payment_id": stray.pk, "recovered": D("-5.00"), "commission": D("-1.00")}))
    with pytest.raises(DatabaseError), transaction.atomic():  # the money of a line never changes
        CommissionLine.objects.filter(pk=clawback.pk).update(commission=D("1.00"))
    assert CommissionLine.objects.filter(payment=payment).count() == 2


def test_no_commission_no_clawback(acme):
    case = CaseFactory(prefix="REV-NONE", principal_due="1000.00")  # never placed: the payment earned nothing
    reversal = reverse(PaymentFactory(case=case, amount="50.00", paid_on=timezone.localdate(), reference="REV-NONE-1"))
    assert not CommissionLine.objects.filter(reversal=reversal).exists()


def test_a_kept_promise_is_open_again_once_its_payment_is_reversed(acme):
    world = acme
    case, placed = make_case(world, "REV-PTP-1")
    today = timezone.localdate()
    attempt = ContactAttempt.objects.create(
        case=case,
        debtor=case.debtor,
        placement=placed,
        organisation=world.orgs["xagency"],
        channel="phone",
        started_at=timezone.now(),
        ended_at=timezone.now(),
        outcome="promise_to_pay",
        party_reached="debtor",
        identity_verified=True,
        identity_method="id_last4",
        debtor_local_date=today,
    )
    promise = PromiseToPay.objects.create(
        case=case, placement=placed, attempt=attempt, amount=D("800.00"), promised_on=today, due_on=today + datetime.timedelta(days=3)
    )
    payment = PaymentFactory(case=case, amount="800.00", paid_on=today, reference="REV-PTP-PAY")
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT
    reverse(payment)
    promise.refresh_from_db()
    assert (promise.status, promise.paid_amount) == (PromiseStatus.PENDING, D("0.00"))


# ------------------------------------------------------------------ pages


def _payment(world, prefix, *, placed=True):
    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(prefix=prefix, principal_due="2000.00")
        if placed:
            place(world, [case])
        return PaymentFactory(case=case, amount="600.00", paid_on=timezone.localdate(), reference=f"{prefix}-PAY")


def test_finance_reverses_on_the_payment_page_and_every_page_says_so(world, client_for):
    payment = _payment(world, "REV-PAGE")
    client = client_for("acme_finance", host="acme")
    page = client.get(f"/payments/{payment.pk}/").content.decode()
    assert 'id="reverse"' in page
    response = client.post(
        f"/payments/{payment.pk}/reverse/",
        {"reason": "returned", "reversed_on": timezone.localdate().isoformat(), "note": "招商银行退票 REV-PAGE"},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/payments/{payment.pk}/")
    detail = client.get(f"/payments/{payment.pk}/").content.decode()
    assert "data-reversal" in detail and "招商银行退票 REV-PAGE" in detail and 'id="reverse"' not in detail
    listing = client.get("/payments/?q=REV-PAGE").content.decode()
    assert "<s>" in listing and "badge bad" in listing
    case_page = client.get(f"/cases/{payment.case_id}/").content.decode()
    assert 'id="limitation"' in case_page and "REV-PAGE-PAY" in case_page and "badge bad" in case_page
    with tenant_context(world.lenders["acme"]):
        reversal = PaymentReversal.objects.get(payment=payment)
        assert AuditEvent.objects.filter(object_id=str(reversal.pk), detail__event="payment_reversed").exists()
    # The agency sees what it gives back on its own payment line, and cannot reverse.
    agency = client_for("x_admin", host="acme")
    seen = agency.get(f"/payments/{payment.pk}/").content.decode()
    with tenant_context(world.lenders["acme"]):
        clawback = CommissionLine.objects.get(reversal=reversal)
    assert clawback.commission < 0
    assert "data-reversal" in seen and f"{-clawback.commission:,.2f}" in seen.split("data-reversal")[1] and 'id="reverse"' not in seen


@pytest.mark.parametrize("persona", ["x_admin", "x_collector", "acme_manager", "acme_legal"])
def test_only_the_lenders_finance_may_reverse(persona, world, client_for):
    payment = _payment(world, f"REV-DENY-{persona}")
    client = client_for(persona, host="acme")
    response = client.post(
        f"/payments/{payment.pk}/reverse/", {"reason": "error", "reversed_on": timezone.localdate().isoformat(), "note": "x"}
    )
    assert response.status_code in (403, 404)
    with tenant_context(world.lenders["acme"]):
        assert not PaymentReversal.objects.filter(payment=payment).exists()


def test_an_incomplete_reversal_form_changes_nothing(world, client_for):
    payment = _payment(world, "REV-FORM", placed=False)
    client = client_for("acme_finance", host="acme")
    response = client.post(
        f"/payments/{payment.pk}/reverse/", {"reason": "returned", "reversed_on": timezone.localdate().isoformat()}, follow=True
    )
    assert response.status_code == 200 and 'id="reverse"' in response.content.decode()
    with tenant_context(world.lenders["acme"]):
        assert not PaymentReversal.objects.filter(payment=payment).exists()


def test_the_case_page_shows_the_evidence_behind_the_limitation_date(world, client_for):
    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(prefix="REV-LIM", principal_due="2000.00")
        paid = timezone.localdate() - datetime.timedelta(days=2)
        PaymentFactory(case=case, amount="100.00", paid_on=paid, reference="REV-LIM-PAY")
        case.refresh_from_db()
    page = client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/").content.decode()
    limitation = page.split('id="limitation"')[1].split('id="balances"')[0]
    assert paid.isoformat() in limitation and "REV-LIM-PAY" in limitation and "badge ok" in limitation
    assert case.limitation_expires_on.isoformat() in page
    assert 'id="balances"' in page and "1,900.00" in page.split('id="balances"')[1]


def test_the_statement_files_mark_the_clawback_and_still_reconcile(acme):
    world = acme
    case = CaseFactory(prefix="REV-DOC", dpd=150, principal_due="2000.00")
    place(world, [case], now=moment(M2, 8))
    payment = PaymentFactory(case=case, amount="1234.56", paid_on=day(M2, 5), reference="REV-DOC-1", now=moment(day(M2, 5), 10))
    reverse(payment, reversed_on=day(M2, 20), now=moment(day(M2, 20), 10))
    statement = statements.draft_statement(partner=world.orgs["xagency"], period=M2)
    document = fee_documents.build(statement)
    assert [line.clawback for line in statement_documents.lines_of(statement)] == [False, True]
    assert document.totals.base == D("0.00") and document.totals.amount == D("0.00")
    with translation.override("zh-hans"):  # a document is built and written in one language
        text = fee_documents.to_csv(fee_documents.build(statement)).decode("utf-8-sig")
    rows = [row for row in text.splitlines() if "REV-DOC-1" in row]
    assert len(rows) == 2 and "冲回" in rows[1] and "-1234.56" in rows[1] and "冲回" not in rows[0]
    pdf = fee_documents.to_pdf(document)
    assert pdf.startswith(b"%PDF") and pdf == fee_documents.to_pdf(fee_documents.build(document.statement))


# ------------------------------------------------------------------ the API


def test_the_lenders_system_reverses_by_reference_and_a_resend_changes_nothing(world):
    payment = _payment(world, "REV-API")
    _, key = token_for(world)
    today = timezone.localdate().isoformat()
    body = {"reference": "REV-API-PAY", "reason": "returned", "reversed_on": today, "note": "退票 R01"}
    first = system(key=key).post("/payments/api/reversals/", json.dumps(body), content_type="application/json")
    assert first.status_code == 201 and first.json() == {
        "reference": "REV-API-PAY",
        "reason": "returned",
        "reversed_on": today,
        "created": True,
    }
    again = system(key=key).post("/payments/api/reversals/", json.dumps(body), content_type="application/json")
    assert again.status_code == 200 and again.json()["created"] is False
    other = system(key=key).post("/payments/api/reversals/", json.dumps(body | {"reason": "error"}), content_type="application/json")
    assert other.status_code == 409 and other.json()["code"] == "already_reversed"
    with tenant_context(world.lenders["acme"]):
        assert PaymentReversal.objects.filter(payment=payment).count() == 1
        assert CommissionLine.objects.filter(payment=payment, reversal__isnull=False).count() == 1
        reversal = PaymentReversal.objects.get(payment=payment)
        assert reversal.reversed_by is None and AuditEvent.objects.filter(object_id=str(reversal.pk)).exists()


@pytest.mark.parametrize(
    "change,status,field",
    [
        ({"reference": "NO-SUCH-PAYMENT"}, 404, "reference"),
        ({"reason": "whim"}, 400, "reason"),
        ({"note": ""}, 400, "note"),
        ({"reversed_on": "2099-01-01"}, 400, "reversed_on"),
        ({"reversed_on": "01/02/2026"}, 400, "reversed_on"),
    ],
)
def test_a_bad_reversal_request_names_its_field_and_changes_nothing(change, status, field, world):
    payment = _payment(world, f"REV-APIBAD-{status}-{field}")
    _, key = token_for(world)
    body = {"reference": payment.reference, "reason": "returned", "note": "退票"} | change
    response = system(key=key).post("/payments/api/reversals/", json.dumps(body), content_type="application/json")
    assert response.status_code == status and response.json()["field"] == field and response.json()["message"]
    with tenant_context(world.lenders["acme"]):
        assert not PaymentReversal.objects.filter(payment=payment).exists()


def test_another_lenders_token_and_strangers_cannot_reverse(world):
    payment = _payment(world, "REV-APISTR")
    _, key = token_for(world)
    body = json.dumps({"reference": payment.reference, "reason": "returned", "note": "x"})
    assert system(host="beta", key=key).post("/payments/api/reversals/", body, content_type="application/json").status_code in (401, 403)
    assert system().post("/payments/api/reversals/", body, content_type="application/json").status_code in (302, 401, 403)
    schema = json.loads(system(key=key).get("/intake/api/schema/?format=json").content)
    assert "/payments/api/reversals/" in schema["paths"]
    with tenant_context(world.lenders["acme"]):
        assert not PaymentReversal.objects.filter(payment=payment).exists()


def test_limitation_evidence_is_written_in_the_lenders_document_language(acme):
    case = CaseFactory(prefix="REV-LANG", principal_due="1000.00")
    with translation.override("en"):  # an English screen records and reverses
        payment = PaymentFactory(case=case, amount="10.00", paid_on=timezone.localdate(), reference="REV-LANG-1")
        reverse(payment)
    event = LimitationEvent.objects.get(case=case, source_type="payments.payment", source_id=str(payment.pk))
    assert event.evidence == "还款 REV-LANG-1，金额 10.00"
    assert event.withdrawn_note.startswith("还款 REV-LANG-1 已冲正：银行退票")


def test_a_report_matched_to_a_payment_later_reversed_says_so(world, client_for):
    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(prefix="REV-RPTM", principal_due="3000.00")
        place(world, [case])
        today = timezone.localdate()
        services.report_payment(
            case=case, organisation=world.orgs["xagency"], amount="250.00", paid_on=today, reported_by=world.people["x_admin"].user
        )
        payment = PaymentFactory(case=case, amount="250.00", paid_on=today, reference="REV-RPTM-PAY")
        reverse(payment)
    page = client_for("acme_finance", host="acme").get("/payments/reports/?status=matched").content.decode()
    row = next(line for line in page.split("<tr") if "REV-RPTM-PAY" in line)
    assert "badge bad" in row
    # The agency is never told which lender payment its report matched (data minimisation, issue item 10).
    assert "REV-RPTM-PAY" not in client_for("x_admin", host="acme").get("/payments/reports/").content.decode()


def test_the_database_keeps_a_lines_payment_agency_and_date_as_written(acme):
    world = acme
    case = CaseFactory(prefix="REV-FIX", dpd=150)
    place(world, [case])
    payment = PaymentFactory(case=case, amount="100.00", paid_on=timezone.localdate(), reference="REV-FIX-1")
    reverse(payment)
    earned = CommissionLine.objects.get(payment=payment, reversal__isnull=True)
    for change in (
        {"paid_on": timezone.localdate() - datetime.timedelta(days=40)},
        {"partner_id": world.orgs["yagency"].pk},
        {"reversal_id": None},
        {"payment_id": PaymentFactory(case=case, amount="1.00", paid_on=timezone.localdate(), reference="REV-FIX-2").pk},
    ):
        line = CommissionLine.objects.get(payment=payment, reversal__isnull=False) if "reversal_id" in change else earned
        with pytest.raises(DatabaseError), transaction.atomic():
            CommissionLine.objects.filter(pk=line.pk).update(**change)
    earned.refresh_from_db()
    assert (earned.paid_on, earned.partner_id) == (timezone.localdate(), world.orgs["xagency"].pk)
