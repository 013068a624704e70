"""Commission statements (佣金结算单), the "commission" kind of portal.fees: what a draft takes, approval and its
refusals, the final states, the files (CSV, XLSX, PDF) and who sees which statement (pages under /fees/).

Agency X already has a committed draft for the current month (tests/matrix_statements.py), so the
tests here work in the two months before it; everything they write is rolled back.
"""

import csv
import datetime
import hashlib
import io
import subprocess
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import statements
from outsourcing.models import CommissionLine, Statement, StatementStatus
from portal.audit.models import Action, AuditEvent
from portal.fees import documents as fee_documents, services as services_fees
from portal.payments import services
from portal.payments.models import DisputeReason, DisputeStatus
from tests.factories import CaseFactory, PaymentFactory, finance, place
from tests.matrix_statements import REFERENCE_CANARY
from tests.portal.fees.support import direct_line

pytestmark = pytest.mark.django_db
D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def month_start(months_back: int) -> datetime.date:
    first = timezone.localdate().replace(day=1)
    for _ in range(months_back):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first


M2, M1 = month_start(2), month_start(1)  # two full months before the current one


def day(first: datetime.date, n: int) -> datetime.date:
    return first.replace(day=n)


def moment(on: datetime.date, hour=9) -> datetime.datetime:
    return datetime.datetime.combine(on, datetime.time(hour), tzinfo=SHANGHAI)


def in_acme(world):
    return tenant_context(world.lenders["acme"])


def placed_cases(world, n=2, *, agency="xagency", prefix="STM", principal="1000.00"):
    """``n`` cases placed with the agency from the first day of M2 (a 60-day term covers M2 and most of M1)."""
    cases = CaseFactory.create_batch(
        n, prefix=prefix, dpd=150, principal_due=principal
    )  # two to three months overdue when placed on M2's first day
    place(world, cases, agency=agency, now=moment(M2, 8))
    return cases


def pay(case, amount, on, reference):
    return CommissionLine.objects.get(payment=PaymentFactory(case=case, amount=amount, paid_on=on, reference=reference))


def draft(world, period, agency="xagency"):
    return statements.draft_statement(partner=world.orgs[agency], period=period, created_by=finance(world))


def after(period):
    """A moment in the month after ``period`` (the month is over)."""
    return moment(statements.month_bounds(period)[1] + datetime.timedelta(days=1), 10)


# ----------------------------------------------------------------- drafting


def test_a_draft_takes_every_unstated_line_paid_up_to_the_month_end(acme):
    world = acme
    a, b = placed_cases(world, principal="2000.00")  # owing more than is paid: every payment is recovered in full
    first = pay(a, "1000.00", day(M2, 5), "STM-A1")
    second = pay(b, "250.50", day(M2, 20), "STM-B1")
    next_month = pay(a, "300.00", day(M1, 3), "STM-A2")
    statement = draft(world, M2)
    assert set(statement.lines.all()) == {first, second}
    assert (statement.line_count, statement.base_total, statement.amount_total) == (
        2,
        D("1250.50"),
        first.commission + second.commission,
    )
    assert first.commission > 0 and first.commission == (first.recovered * first.rate).quantize(D("0.01"))
    assert statement.number.startswith(f"CS{M2:%Y%m}-") and statement.period_end == statements.month_bounds(M2)[1]
    later = draft(world, M1)
    assert list(later.lines.all()) == [next_month]  # never a line twice
    assert CommissionLine.objects.filter(pk__in=[first.pk, second.pk], statement=statement).count() == 2


def test_a_payment_recorded_late_lands_on_the_next_statement(acme):
    world = acme
    a, b = placed_cases(world)
    pay(a, "100.00", day(M2, 2), "STM-LATE-1")
    earlier = statements.approve(statement=draft(world, M2), approved_by=finance(world), now=after(M2))
    late = pay(b, "80.00", day(M2, 28), "STM-LATE-2")  # paid in M2, recorded after M2 was approved
    assert late.statement_id is None
    following = draft(world, M1)
    assert list(following.lines.all()) == [late]
    assert earlier.lines.count() == 1


def test_refreshing_a_draft_adds_what_arrived_since(acme, client_for):
    world = acme
    a, b = placed_cases(world)
    pay(a, "100.00", day(M2, 2), "STM-R1")
    statement = draft(world, M2)
    pay(b, "40.00", day(M2, 9), "STM-R2")
    response = client_for("acme_finance", host="acme").post(f"/fees/{statement.pk}/refresh/", follow=True)
    assert "Draft brought up to date: 2 line(s)." in response.content.decode()
    with in_acme(world):
        statement.refresh_from_db()
    assert (statement.line_count, statement.base_total) == (2, D("140.00"))


def test_the_draft_form_creates_the_statement_and_refuses_a_future_month(acme, client_for):
    world = acme
    placed = placed_cases(world, 1)[0]
    pay(placed, "500.00", day(M2, 11), "STM-F1")
    client = client_for("acme_finance", host="acme")
    response = client.post("/fees/draft/", {"partner": str(world.orgs["xagency"].pk), "month": f"{M2:%Y-%m}"})
    assert response.status_code == 302
    with in_acme(world):
        statement = Statement.objects.get(partner=world.orgs["xagency"], period=M2)
    assert response["Location"].endswith(f"/fees/{statement.pk}/") and statement.line_count == 1
    next_month = (timezone.localdate().replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    refused = client.post("/fees/draft/", {"partner": str(world.orgs["xagency"].pk), "month": f"{next_month:%Y-%m}"}, follow=True)
    assert "That month has not started yet." in refused.content.decode()
    with in_acme(world):
        assert not Statement.objects.filter(period=next_month).exists()


# ----------------------------------------------------------------- approval


def test_approval_is_refused_while_the_month_is_open(acme, client_for):
    world = acme
    current = world.statements["acme_x"]  # this month's committed draft
    with pytest.raises(ValidationError) as excinfo:
        statements.approve(statement=current, approved_by=finance(world))
    assert excinfo.value.code == "month_open"
    page = client_for("acme_finance", host="acme").post(f"/fees/{current.pk}/send/", follow=True).content.decode()
    assert "The month is not over yet" in page
    send_form = page.split(f"/fees/{current.pk}/send/")[1].split("</form>")[0]
    assert "disabled" in send_form  # the button says so before anyone tries; the server refuses anyway
    with in_acme(world):
        current.refresh_from_db()
    assert current.status == StatementStatus.DRAFT


def test_approval_is_refused_while_a_line_is_disputed(acme, client_for):
    world = acme
    a = placed_cases(world, 1)[0]
    line = pay(a, "600.00", day(M2, 7), "STM-D1")
    statement = draft(world, M2)
    dispute = services.open_dispute(
        partner=world.orgs["xagency"],
        raised_by_org=world.orgs["xagency"],
        raised_by=world.people["x_admin"].user,
        reason=DisputeReason.COMMISSION,
        text="费率应为 18%",
        payment=line.payment,
    )
    with pytest.raises(ValidationError) as excinfo:
        statements.approve(statement=statement, approved_by=finance(world), now=after(M2))
    assert excinfo.value.code == "blocked"  # the commission kind's blocker: an open payment dispute
    detail = client_for("acme_finance", host="acme").get(f"/fees/{statement.pk}/").content.decode()
    assert "1 payment is under an open dispute" in detail and "data-approve-blocked" in detail
    connection.set_tenant(world.lenders["acme"])
    services.close_dispute(
        dispute=dispute,
        outcome=DisputeStatus.DISMISSED,
        actor=finance(world),
        organisation=world.orgs["acme"],
        lender_organisation_id=world.orgs["acme"].pk,
        text="按协议第 1 版费率",
    )
    approved = statements.approve(statement=statement, approved_by=finance(world), now=after(M2))
    assert approved.status == StatementStatus.APPROVED and approved.approved_by == finance(world)


def test_an_empty_statement_cannot_be_approved(acme):
    world = acme
    empty = draft(world, M2, agency="yagency")
    assert empty.line_count == 0
    with pytest.raises(ValidationError) as excinfo:
        statements.approve(statement=empty, approved_by=finance(world), now=after(M2))
    assert excinfo.value.code == "empty"


def test_approved_and_issued_statements_are_final(acme):
    world = acme
    a = placed_cases(world, 1)[0]
    pay(a, "100.00", day(M2, 3), "STM-FINAL-1")
    statement = statements.approve(statement=draft(world, M2), approved_by=finance(world), now=after(M2))
    for refused in (
        lambda: statements.discard_draft(statement=statement),
        lambda: draft(world, M2),
        lambda: statements.approve(statement=statement, approved_by=finance(world), now=after(M2)),
    ):
        with pytest.raises(ValidationError):
            refused()
    pdf = fee_documents.to_pdf(fee_documents.build(statement))
    issued = statements.issue(statement=statement, issued_by=finance(world), render=lambda locked: pdf, now=after(M2))
    assert issued.status == StatementStatus.ISSUED and issued.document_sha256 == hashlib.sha256(pdf).hexdigest()
    assert statements.issued_document(issued) == pdf  # kept as sent
    with pytest.raises(ValidationError):
        statements.issue(statement=issued, issued_by=finance(world), render=lambda locked: b"%PDF-other")
    # The database itself refuses any change to an issued statement, and its deletion.
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic():
        Statement.objects.filter(pk=issued.pk).update(amount_total=D("0.00"))
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic():
        Statement.objects.filter(pk=issued.pk).update(status=StatementStatus.DRAFT)
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM fees_statement WHERE id = %s", [issued.pk])


def test_discarding_a_draft_returns_its_lines(acme, client_for):
    world = acme
    a, b = placed_cases(world)
    lines = [pay(a, "10.00", day(M2, 1), "STM-X1"), pay(b, "20.00", day(M2, 2), "STM-X2")]
    statement = draft(world, M2)
    response = client_for("acme_finance", host="acme").post(f"/fees/{statement.pk}/discard/", follow=True)
    assert "discarded; its lines wait for the next statement" in response.content.decode()
    connection.set_tenant(world.lenders["acme"])
    assert not Statement.objects.filter(pk=statement.pk).exists()
    assert CommissionLine.objects.filter(pk__in=[line.pk for line in lines], statement__isnull=True).count() == 2
    assert draft(world, M2).line_count == 2


# ----------------------------------------------------------------- files


@pytest.fixture
def with_lines(acme):
    """An M2 draft for X with three lines, one of them with a payment reference a spreadsheet would run."""
    world = acme
    a, b, c = CaseFactory.create_batch(3, prefix="=CMD", dpd=150, principal_due="10000000.00")  # contract numbers starting with "=" too
    place(world, [a, b, c], now=moment(M2, 8))
    pay(a, "1234.56", day(M2, 4), '=HYPERLINK("http://evil.example","x")')
    pay(b, "0.07", day(M2, 12), "STM-F2")
    pay(c, "9999999.99", day(M2, 25), "+STM-F3")
    return draft(world, M2)


def _csv_rows(content: bytes):
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_csv_totals_equal_the_sum_of_its_lines_and_formulas_are_neutralised(with_lines):
    statement = with_lines
    rows = _csv_rows(fee_documents.to_csv(fee_documents.build(statement)))
    heading = rows.index(["Date", "Contract no.", "Payment reference", "Details", "Rate (%)", "Recovered (CNY)", "Commission (CNY)"])
    lines, total = rows[heading + 1 : -1], rows[-1]
    assert len(lines) == 3 and total[0] == "Total"
    assert sum(D(row[5]) for row in lines) == D(total[5]) == statement.base_total == D("10001234.62")
    assert sum(D(row[6]) for row in lines) == D(total[6]) == statement.amount_total
    assert all(len(row[5].split(".")[1]) == 2 and len(row[6].split(".")[1]) == 2 for row in lines)
    texts = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","x")' in texts and "'+STM-F3" in texts
    assert not any(cell.startswith(("=", "+", "@")) for cell in texts)
    assert all(row[1].startswith("'=CMD") for row in lines)


def test_the_xlsx_has_numeric_amounts_whose_totals_equal_the_lines(with_lines):
    from openpyxl import load_workbook

    statement = with_lines
    sheet = load_workbook(io.BytesIO(fee_documents.to_xlsx(fee_documents.build(statement)))).active
    rows = list(sheet.iter_rows())
    heading = next(i for i, row in enumerate(rows) if row[0].value == "Date")
    lines, total = rows[heading + 1 : -1], rows[-1]
    assert len(lines) == 3 and total[0].value == "Total"
    for row in lines + [total]:
        for cell in (row[5], row[6]):
            assert isinstance(cell.value, (int, float)) and cell.number_format == "#,##0.00"
    as_fen = lambda value: D(str(value)).quantize(D("0.01"))  # noqa: E731 - openpyxl reads numbers back as floats
    assert sum(as_fen(row[5].value) for row in lines) == as_fen(total[5].value) == statement.base_total
    assert sum(as_fen(row[6].value) for row in lines) == as_fen(total[6].value) == statement.amount_total
    texts = [cell.value for row in rows for cell in row if isinstance(cell.value, str)]
    assert '\'=HYPERLINK("http://evil.example","x")' in texts and "'+STM-F3" in texts
    assert not any(text.startswith(("=", "+", "-", "@")) for text in texts)


def test_the_pdf_is_a_deterministic_chinese_a4_document(with_lines, world):
    statement = statements.approve(statement=with_lines, approved_by=finance(world), now=after(M2))
    document = fee_documents.build(statement)
    first, second = fee_documents.to_pdf(document), fee_documents.to_pdf(fee_documents.build(statement))
    assert first.startswith(b"%PDF-") and first == second
    # poppler-utils is installed by the project (bin/system-deps.sh): read the PDF back, never skip.
    info = subprocess.run(["pdfinfo", "-"], input=first, capture_output=True, check=True).stdout.decode()
    assert "(A4)" in info and statement.number in info  # the title
    assert f"{timezone.localtime(statement.approved_at):%Y}" in info.split("CreationDate:")[1].splitlines()[0]
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=first, capture_output=True, check=True).stdout.decode()
    assert "第1页共1页" in text.replace(" ", "") and "迅达催收 X" in text and statement.number in text
    assert "¥10,001,234.62" in text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "statement.pdf").write_bytes(first)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-singlefile", str(ARTIFACTS / "statement.pdf"), str(ARTIFACTS / "statement")], check=True
    )


def test_the_pdf_fetches_nothing():
    fetcher = fee_documents._refusing_fetcher()
    for url in ("http://example.com/x.css", "https://example.com/font.woff", "file:///etc/passwd", "data:text/css,body{}"):
        with pytest.raises(ValueError):
            fetcher(url)


def test_issuing_stores_the_hash_of_the_pdf_a_download_gives(with_lines, client_for, world):
    statement = with_lines
    client = client_for("acme_finance", host="acme")
    base = f"/fees/{statement.pk}/"
    assert "sent to 迅达催收 X for review" in client.post(base + "send/", follow=True).content.decode()
    assert "approved; its lines are final" in client.post(base + "approve/", follow=True).content.decode()
    assert "issued; send the PDF to the partner" in client.post(base + "issue/", follow=True).content.decode()
    with in_acme(world):
        statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED and len(statement.document_sha256) == 64
    for persona in ("acme_finance", "x_admin"):
        response = client_for(persona, host="acme").get(base + "statement.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"] and response["Content-Security-Policy"] == "sandbox"
        assert hashlib.sha256(response.content).hexdigest() == statement.document_sha256
    connection.set_tenant(world.lenders["acme"])
    event = AuditEvent.objects.filter(action=Action.DOWNLOAD, object_id=str(statement.pk)).first()
    assert event.detail["sha256"] == statement.document_sha256


@pytest.mark.parametrize("kind", ["statement.csv", "statement.xlsx", "statement.pdf"])
def test_every_download_is_audited(kind, world, client_for):
    statement = world.statements["acme_x"]
    response = client_for("acme_finance", host="acme").get(f"/fees/{statement.pk}/{kind}")
    assert response.status_code == 200 and response["Content-Security-Policy"] == "sandbox"
    with tenant_context(world.lenders["acme"]):
        event = AuditEvent.objects.get(action=Action.DOWNLOAD, object_id=str(statement.pk))
        assert event.actor_email == "acme_finance@personas.test" and event.detail["lines"] == statement.lines.count() >= 1
    assert event.detail["what"] == f"commission statement {kind.split('.')[1]}"


# ----------------------------------------------------------------- who sees what


def test_the_lender_sees_every_statement_and_filters_them(acme, client_for):
    world = acme
    draft(world, M2, agency="yagency")
    client = client_for("acme_manager", host="acme")
    page = client.get("/fees/").content.decode()
    assert world.statements["acme_x"].number in page and f"CS{M2:%Y%m}-" in page
    assert "Draft or refresh a statement" not in page  # a collections manager reads, finance manages
    only_y = client.get(f"/fees/?partner={world.orgs['yagency'].pk}").content.decode()
    assert world.statements["acme_x"].number not in only_y and f"CS{M2:%Y%m}-" in only_y
    none = client.get("/fees/?status=issued").content.decode()
    assert "No statement matches." in none
    this_month = client.get(f"/fees/?month={timezone.localdate():%Y-%m}").content.decode()
    assert world.statements["acme_x"].number in this_month and f"CS{M2:%Y%m}-" not in this_month
    no_invoices = client.get("/fees/?kind=legal_fee").content.decode()
    assert world.statements["acme_x"].number not in no_invoices
    detail = client.get(f"/fees/{world.statements['acme_x'].pk}/").content.decode()
    assert REFERENCE_CANARY in detail and "¥1,200.00" in detail and "¥180.00" in detail and "15.00%" in detail
    assert "Send to the partner for review" not in detail  # no buttons without statement.manage
    assert client.post(f"/fees/{world.statements['acme_x'].pk}/send/").status_code == 403
    finance_page = client_for("acme_finance", host="acme").get("/fees/").content.decode()
    assert "Draft or refresh a statement" in finance_page


def test_the_agency_admin_reads_only_its_own_statements_from_review_on(acme, client_for):
    world = acme
    a = placed_cases(world, 1, prefix="STM-OWN")[0]
    pay(a, "300.00", day(M2, 6), "STM-OWN-1")
    mine = services_fees.send_for_review(statement=draft(world, M2), sent_by=finance(world))
    internal = world.statements["acme_x"]  # X's own, but a draft: the lender's working paper
    direct_line(world, agency="yagency", case_key="acme_recalled", paid_on=day(M2, 7), amount="200.00", reference="STM-OTHER-1")
    other = services_fees.send_for_review(statement=draft(world, M2, agency="yagency"), sent_by=finance(world))  # Y's, under review
    client = client_for("x_admin", host="acme")
    listing = client.get("/fees/").content.decode()
    assert mine.number in listing and internal.number not in listing and other.number not in listing
    assert world.fees["acme_x_review"].number in listing  # X's other statement under review (tests/matrix_fees.py)
    assert "Draft or refresh" not in listing
    detail = client.get(f"/fees/{mine.pk}/")
    assert detail.status_code == 200 and "STM-OWN-1" in detail.content.decode()
    body = detail.content.decode()
    assert "Accept the statement" in body and "Dispute this line" in body and ">Approve<" not in body
    assert f"/cases/{a.pk}/" not in body  # no link into the case
    for action in ("approve", "issue", "discard", "refresh", "send", "pay"):
        assert client.post(f"/fees/{mine.pk}/{action}/").status_code == 403
    assert client.post("/fees/draft/", {"partner": str(world.orgs["xagency"].pk), "month": f"{M2:%Y-%m}"}).status_code == 403
    for hidden in (internal, other):
        assert client.get(f"/fees/{hidden.pk}/").status_code == 404
        assert client.get(f"/fees/{hidden.pk}/statement.csv").status_code == 404
        assert client.post(f"/fees/{hidden.pk}/accept/").status_code == 404
    assert REFERENCE_CANARY not in listing
    connection.set_tenant(world.lenders["acme"])
    internal.refresh_from_db()
    assert internal.status == StatementStatus.DRAFT


def test_another_agency_gets_404_and_the_refusal_is_audited(acme, client_for):
    world = acme
    statement = world.statements["acme_x"]
    client = client_for("y_admin", host="acme")
    for suffix in ("", "statement.csv", "statement.xlsx", "statement.pdf"):
        response = client.get(f"/fees/{statement.pk}/{suffix}")
        assert response.status_code == 404 and REFERENCE_CANARY not in response.content.decode()
    connection.set_tenant(world.lenders["acme"])
    assert (
        AuditEvent.objects.filter(
            action=Action.ACCESS_DENIED,
            object_type="fees.statement",
            object_id=str(statement.pk),
            actor_email="y_admin@personas.test",
        ).count()
        == 4
    )
    listing = client.get("/fees/").content.decode()
    assert statement.number not in listing and world.fees["acme_x_review"].number not in listing
    assert "No statement yet." in listing  # Y has none under review or later


@pytest.mark.parametrize("persona", ["x_collector", "y_collector", "acme_legal", "l_lawyer"])
def test_people_without_the_statement_roles_are_refused(persona, world, client_for):
    statement = world.statements["acme_x"]
    client = client_for(persona, host="acme")
    listing = client.get("/fees/")
    # A law firm's lawyer may read its own firm's statements (none here); everyone else is refused the list.
    assert listing.status_code == (200 if persona == "l_lawyer" else 403)
    assert statement.number not in listing.content.decode()
    for suffix in ("", "statement.csv", "statement.pdf"):
        response = client.get(f"/fees/{statement.pk}/{suffix}")
        assert response.status_code in (403, 404) and REFERENCE_CANARY not in response.content.decode()
    assert client.post(f"/fees/{statement.pk}/approve/").status_code == 403


def test_the_old_address_leads_to_the_new_page(world, client_for):
    response = client_for("acme_finance", host="acme").get("/outsourcing/statements/")
    assert response.status_code == 302 and response["Location"] == "/fees/"
    assert client_for("x_collector", host="acme").get("/outsourcing/statements/").status_code == 403


def test_an_empty_draft_says_so(acme, client_for):
    world = acme
    empty = draft(world, M2, agency="yagency")
    page = client_for("acme_finance", host="acme").get(f"/fees/{empty.pk}/").content.decode()
    assert "No line on this statement." in page and "Refresh draft" in page and "Discard draft" in page
    refused = client_for("acme_finance", host="acme").post(f"/fees/{empty.pk}/send/", follow=True).content.decode()
    assert "The statement has no lines." in refused


def test_the_approve_button_is_live_only_when_approval_can_succeed(acme, client_for):
    world = acme
    a, _b = placed_cases(world, prefix="STM-BTN")
    pay(a, "100.00", day(M2, 3), "STM-BTN-1")
    ready = services_fees.send_for_review(statement=draft(world, M2), sent_by=finance(world))  # a month over, a line, no dispute
    page = client_for("acme_finance", host="acme").get(f"/fees/{ready.pk}/").content.decode()
    approve_form = page.split(f"/fees/{ready.pk}/approve/")[1].split("</form>")[0]
    assert "data-approve-blocked" not in approve_form and "disabled" not in approve_form
