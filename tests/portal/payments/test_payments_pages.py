"""Payments pages, the payment file import and the payments API: who may do what, and what each side sees."""

import datetime
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context
from drf_spectacular.validation import validate_schema

from outsourcing.models import CommissionLine
from portal.models import Case
from portal.payments import services
from portal.payments.models import DISPUTE_DECISION_DAYS, Dispute, DisputeStatus, Payment, PaymentReport, ReportStatus
from tests.factories import CaseFactory, place
from tests.portal.intake.test_intake_api import system, token_for

pytestmark = pytest.mark.django_db
D = Decimal


def placed_case(world, contract_prefix="PAYPG"):
    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(dpd=45, prefix=contract_prefix, principal_due="5000.00")  # owes more than is paid: all of it is applied
        place(world, [case])
    return case


def test_finance_records_a_payment_and_sees_the_agency_commission(world, client_for):
    case = placed_case(world)
    client = client_for("acme_finance", host="acme")
    today = timezone.localdate().isoformat()
    response = client.post(
        "/payments/new/", {"contract_no": case.contract_no, "amount": "3000.00", "paid_on": today, "reference": "BK-PG-1"}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "BK-PG-1" in text and "¥480.00" in text and "16.00%" in text  # M2 round 1 in the test schedule
    again = client.post(
        "/payments/new/", {"contract_no": case.contract_no, "amount": "3000.00", "paid_on": today, "reference": "BK-PG-1"}, follow=True
    )
    assert "already recorded" in again.content.decode()
    with tenant_context(world.lenders["acme"]):
        assert Payment.objects.filter(reference="BK-PG-1").count() == 1
    case_page = client.get(f"/cases/{case.pk}/").content.decode()  # the case shows its payments and what they earned
    assert 'id="payments"' in case_page and "BK-PG-1" in case_page and "¥480.00" in case_page
    unknown = client.post("/payments/new/", {"contract_no": "NO-SUCH", "amount": "1", "paid_on": today, "reference": "BK-PG-2"})
    assert unknown.status_code == 200 and "No case has this contract no." in unknown.content.decode()


def test_a_payment_file_is_checked_whole_then_recorded_once(world, client_for):
    case = placed_case(world, "PAYFILE")
    today = timezone.localdate().isoformat()
    content = (
        "\ufeff合同编号,还款日期,还款金额,流水号,备注\r\n"
        f"{case.contract_no},{today},100.00,F-1,ok\r\n"
        f"{case.contract_no},2099-01-01,100.00,F-2,\r\n"
        f"NOPE,{today},5.00,F-3,\r\n"
        f"{case.contract_no},{today},-1,F-4,\r\n"
        f"{case.contract_no},{today},20.00,F-1,\r\n"
        f"{case.contract_no},{today},30.00,=HYPERLINK(1),\r\n"
    ).encode()
    client = client_for("acme_finance", host="acme")
    response = client.post("/payments/import/", {"file": SimpleUploadedFile("pay.csv", content)})
    text = response.content.decode()
    assert response.status_code == 200
    for expected in (
        "This date is in the future.",
        "No case has contract no. NOPE.",
        "Must not be negative.",
        "already appears on row 2",
        "spreadsheets run as a formula",
    ):
        assert expected in text, expected
    with tenant_context(world.lenders["acme"]):
        assert not Payment.objects.filter(case=case).exists()  # checking records nothing
    assert "1 payment(s) recorded" in record_in_background(world, client).content.decode()
    with tenant_context(world.lenders["acme"]):
        assert list(Payment.objects.filter(case=case).values_list("reference", flat=True)) == ["F-1"]
    # The same file again records nothing twice.
    client.post("/payments/import/", {"file": SimpleUploadedFile("pay.csv", content)})
    assert "0 payment(s) recorded, 1 already recorded" in record_in_background(world, client).content.decode()


def record_in_background(world, client):
    """Commit the checked file: a job with a progress page; run it here (no broker in these tests), then reload."""
    from portal.jobs.services import execute

    response = client.post("/payments/import/commit/")
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    job_id = response["Location"].rstrip("/").split("/")[-1]
    page = client.get(response["Location"])
    assert b"<progress" in page.content
    with tenant_context(world.lenders["acme"]):
        execute(job_id)
        assert execute(job_id) is None  # a redelivered message does nothing more
    return client.get(response["Location"])


def test_the_api_records_json_rows_idempotently_and_dry_runs(world):
    case = placed_case(world, "PAYAPI")
    _, key = token_for(world)
    today = timezone.localdate().isoformat()
    body = json.dumps(
        [
            {"contract_no": case.contract_no, "paid_on": today, "amount": "12.34", "reference": "API-1"},
            {"contract_no": case.contract_no, "paid_on": today, "amount": "abc", "reference": "API-2"},
        ]
    )
    dry = system(key=key).post("/payments/api/?dry_run=1", body, content_type="application/json")
    assert dry.status_code == 200 and dry.json()["valid"] == 1 and dry.json()["created"] == 0
    first = system(key=key).post("/payments/api/", body, content_type="application/json").json()
    second = system(key=key).post("/payments/api/", body, content_type="application/json").json()
    assert (first["created"], first["existing"], second["created"], second["existing"]) == (1, 0, 0, 1)
    assert first["rejected"] == [{"row": 3, "column": "amount", "message": "Not an amount: use digits and a decimal point, e.g. 12500.00."}]
    assert system(host="beta", key=key).post("/payments/api/", body, content_type="application/json").status_code in (401, 403)
    assert system().post("/payments/api/", body, content_type="application/json").status_code in (302, 401, 403)
    schema = json.loads(system(key=key).get("/intake/api/schema/?format=json").content)
    validate_schema(schema)
    assert "/payments/api/" in schema["paths"]
    assert set(schema["components"]["schemas"]["PaymentVerdict"]["properties"]) == {
        "rows",
        "valid",
        "created",
        "existing",
        "rejected",
        "file_error",
    }


def test_the_agency_sees_its_lines_without_debtor_data_and_reports_and_disputes(world, client_for):
    case = placed_case(world, "PAYAG")
    today = timezone.localdate()
    x_admin = client_for("x_admin", host="acme")
    workbench_page = x_admin.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert f"/payments/reports/?contract_no={case.contract_no}" in workbench_page  # report straight from the case
    assert f'value="{case.contract_no}"' in x_admin.get(f"/payments/reports/?contract_no={case.contract_no}").content.decode()
    response = x_admin.post(
        "/payments/reports/",
        {"contract_no": case.contract_no, "amount": "250.00", "paid_on": today.isoformat(), "reference": "RC-9"},
        follow=True,
    )
    assert "stays pending" in response.content.decode()
    finance = client_for("acme_finance", host="acme")
    finance.post(
        "/payments/new/", {"contract_no": case.contract_no, "amount": "250.00", "paid_on": today.isoformat(), "reference": "BK-AG-1"}
    )
    with tenant_context(world.lenders["acme"]):
        report = PaymentReport.objects.get(reference="RC-9")
        payment = Payment.objects.get(reference="BK-AG-1")
        assert report.status == ReportStatus.MATCHED and report.matched_payment == payment
        debtor_name = Case.objects.select_related("debtor").get(pk=case.pk).debtor.name
    listing = x_admin.get("/payments/").content.decode()
    assert "BK-AG-1" in listing and debtor_name not in listing
    detail = x_admin.get(f"/payments/{payment.pk}/")
    assert (
        detail.status_code == 200 and debtor_name not in detail.content.decode() and "Applied to principal" not in detail.content.decode()
    )
    response = x_admin.post(f"/payments/{payment.pk}/dispute/", {"reason": "commission", "text": "应按M3计算"}, follow=True)
    assert response.status_code == 200
    with tenant_context(world.lenders["acme"]):
        dispute = Dispute.objects.get(payment=payment)
    # The agency cannot decide its own dispute; the lender can, with reasons.
    assert x_admin.post(f"/payments/disputes/{dispute.pk}/", {"action": "close", "outcome": "upheld", "text": "x"}).status_code == 403
    finance.post(f"/payments/disputes/{dispute.pk}/", {"action": "comment", "text": "核对中"})
    finance.post(f"/payments/disputes/{dispute.pk}/", {"action": "close", "outcome": "dismissed", "text": "费率与协议一致"})
    with tenant_context(world.lenders["acme"]):
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.DISMISSED and dispute.events.count() == 3
    page = x_admin.get(f"/payments/disputes/{dispute.pk}/").content.decode()
    assert "费率与协议一致" in page and "核对中" in page


def test_other_agencies_and_collectors_see_nothing_of_it(world, client_for):
    case = placed_case(world, "PAYISO")
    today = timezone.localdate().isoformat()
    client_for("acme_finance", host="acme").post(
        "/payments/new/", {"contract_no": case.contract_no, "amount": "10.00", "paid_on": today, "reference": "BK-ISO-1"}
    )
    with tenant_context(world.lenders["acme"]):
        payment = Payment.objects.get(reference="BK-ISO-1")
        assert CommissionLine.objects.filter(payment=payment, partner=world.orgs["xagency"]).exists()
    y_admin = client_for("y_admin", host="acme")
    assert y_admin.get(f"/payments/{payment.pk}/").status_code == 404
    assert "BK-ISO-1" not in y_admin.get("/payments/").content.decode()
    assert client_for("x_collector", host="acme").get("/payments/").status_code == 403
    assert client_for("x_collector", host="acme").get(f"/payments/{payment.pk}/").status_code == 403
    # Lender staff without finance duties may look but not record.
    assert client_for("acme_manager", host="acme").get("/payments/new/").status_code == 403


def test_a_long_file_reports_its_progress_while_it_is_recorded(world):
    from portal.payments import importing

    case = placed_case(world, "PAYLONG")
    today = timezone.localdate().isoformat()
    content = (
        "contract_no,paid_on,amount,reference\r\n" + "".join(f"{case.contract_no},{today},1.00,LONG-{i:04d}\r\n" for i in range(250))
    ).encode()
    heard = []
    with tenant_context(world.lenders["acme"]):
        result = importing.check_and_record(content, commit=True, report=lambda percent, message: heard.append((percent, message)))
        assert (result.created, result.existing, result.rejected) == (250, 0, [])
    assert heard == [(40, "100 of 250 payments"), (80, "200 of 250 payments")]


def test_the_lender_matches_a_report_by_hand_when_the_amounts_differ(world, client_for):
    case = placed_case(world, "PAYMATCH")
    today = timezone.localdate().isoformat()
    client_for("x_admin", host="acme").post("/payments/reports/", {"contract_no": case.contract_no, "amount": "500.00", "paid_on": today})
    finance = client_for("acme_finance", host="acme")
    finance.post("/payments/new/", {"contract_no": case.contract_no, "amount": "499.50", "paid_on": today, "reference": "BK-MATCH-1"})
    with tenant_context(world.lenders["acme"]):
        report = PaymentReport.objects.get(case=case)
        payment = Payment.objects.get(reference="BK-MATCH-1")
        assert report.status == ReportStatus.PENDING  # different amounts: no automatic match
    page = finance.get("/payments/reports/").content.decode()
    assert f'value="{payment.pk}"' in page  # offered as the candidate
    finance.post(f"/payments/reports/{report.pk}/match/", {"payment": str(payment.pk)})
    with tenant_context(world.lenders["acme"]):
        report.refresh_from_db()
        assert report.status == ReportStatus.MATCHED and report.matched_payment == payment


def test_a_dispute_is_due_for_decision_ten_days_after_it_was_raised():
    raised = datetime.datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # late evening: still 1 March locally
    dispute = Dispute(raised_at=raised, status=DisputeStatus.OPEN)
    assert DISPUTE_DECISION_DAYS == 10 and dispute.decide_by == datetime.date(2026, 3, 11)
    states = {day: dispute.deadline_state(today=datetime.date(2026, 3, day)) for day in (8, 9, 11, 12)}
    assert states == {8: "", 9: "due_soon", 11: "due_soon", 12: "overdue"}
    dispute.status = DisputeStatus.DISMISSED
    assert dispute.deadline_state(today=datetime.date(2026, 3, 12)) == ""


def test_open_disputes_are_listed_oldest_first_with_their_decision_dates(world, client_for):
    case = placed_case(world, "PAYSLA")
    now = timezone.now()
    with tenant_context(world.lenders["acme"]):
        old_payment, _ = services.record_payment(
            case=case, amount="10.00", paid_on=timezone.localdate() - datetime.timedelta(days=20), reference="SLA-OLD", source="manual"
        )
        new_payment, _ = services.record_payment(
            case=case, amount="11.00", paid_on=timezone.localdate(), reference="SLA-NEW", source="manual"
        )
        x = world.orgs["xagency"]
        for payment, days_ago in ((new_payment, 0), (old_payment, 15)):
            services.open_dispute(
                payment=payment,
                partner=x,
                raised_by_org=x,
                raised_by=world.people["x_admin"].user,
                reason="commission",
                text="SLA",
                now=now - datetime.timedelta(days=days_ago),
            )
    page = client_for("acme_finance", host="acme").get("/payments/disputes/").content.decode()
    rows = [row for row in page.split("<tr") if "PAYSLA" in row]
    assert len(rows) == 2 and "¥10.00" in rows[0] and "¥11.00" in rows[1]  # the older first
    assert 'data-deadline="overdue"' in rows[0] and "badge bad" in rows[0]
    assert 'data-deadline=""' in rows[1] and "badge" not in rows[1].split("data-deadline")[1]
