"""The payment ledger: finance filters by contract or reference, payment dates and reversal, and exports
the same rows as CSV to reconcile with the bank; an agency exports only its own lines, without the
lender's posting and without debtor data."""

import csv
import datetime
import io

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import placement
from portal.audit.models import Action, AuditEvent
from portal.payments import ledger, services
from portal.payments.models import PaymentSource, ReversalReason
from tests.matrix_outsourcing import make_cases

pytestmark = pytest.mark.django_db


@pytest.fixture
def lines(world):
    """Three payments on a case placed with X: 10 days ago, 5 days ago (reversed), today; a formula-looking reference."""
    today = timezone.localdate()
    with tenant_context(world.lenders["acme"]):
        case = make_cases(1, prefix="LEDGER", principal="9000.00")[0]
        placement.place_cases(
            cases=[case],
            partner=world.orgs["xagency"],
            placed_by=world.people["acme_manager"].user,
            now=timezone.now() - datetime.timedelta(days=20),
        )
        made = {}
        for key, days_ago, reference in (("old", 10, "LEDGER-OLD"), ("mid", 5, "LEDGER-MID"), ("new", 0, '=HYPERLINK("x")LEDGER')):
            made[key], _ = services.record_payment(
                case=case,
                amount="100.00",
                paid_on=today - datetime.timedelta(days=days_ago),
                reference=reference,
                source=PaymentSource.MANUAL,
            )
        services.reverse_payment(payment=made["mid"], reason=ReversalReason.RETURNED, note="退票")
    return {"case": case, "today": today, **made}


def table(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_filters_by_dates_and_reversal_and_pages_keep_them(world, client_for, lines):
    client = client_for("acme_finance", host="acme")
    today = lines["today"]
    window = {"q": "LEDGER", "from": (today - datetime.timedelta(days=7)).isoformat(), "to": today.isoformat()}
    page = client.get("/payments/", window).content.decode()
    assert "LEDGER-MID" in page and "LEDGER-OLD" not in page
    page = client.get("/payments/", window | {"state": "reversed"}).content.decode()
    assert "LEDGER-MID" in page and "HYPERLINK" not in page
    page = client.get("/payments/", window | {"state": "standing"}).content.decode()
    assert "LEDGER-MID" not in page and "HYPERLINK" in page
    assert 'href="/payments/export.csv?q=LEDGER&amp;from=' in page  # the export takes the same filters
    empty = client.get("/payments/", {"q": "NO-SUCH-LEDGER"}).content.decode()
    assert "No payment matches these filters." in empty


def test_a_bad_date_is_named_and_left_out():
    filters, problems = ledger.parse_filters({"from": "2026-13-01", "to": "2026-01-31", "state": "bogus"})
    assert filters.date_from is None and filters.date_to == datetime.date(2026, 1, 31) and filters.state == ""
    assert len(problems) == 1 and "2026-13-01" in problems[0]
    swapped, problems = ledger.parse_filters({"from": "2026-02-01", "to": "2026-01-01"})
    assert (swapped.date_from, swapped.date_to) == (datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)) and problems


def test_finance_exports_the_ledger_with_posting_commission_and_reversal(world, client_for, lines):
    response = client_for("acme_finance", host="acme").get("/payments/export.csv", {"q": "LEDGER"})
    rows = table(response)
    heading, body = rows[0], rows[1:]
    assert heading[:5] == ["Paid on", "Contract no.", "Reference", "Amount", "Source"] and "Applied to principal" in heading
    assert [row[2] for row in body] == ['\'=HYPERLINK("x")LEDGER', "LEDGER-MID", "LEDGER-OLD"]  # newest first; formula neutralised
    mid = dict(zip(heading, body[1], strict=True))
    assert mid["Amount"] == "100.00" and mid["Reversed on"] == lines["today"].isoformat() and mid["Reversal reason"]
    assert mid["Commission"] and mid["Commission clawed back"] == f"-{mid['Commission']}"
    assert mid["Agency"] == world.orgs["xagency"].name
    with tenant_context(world.lenders["acme"]):
        assert AuditEvent.objects.filter(action=Action.EXPORT, object_type="payments.ledger", detail__rows=3).exists()


def test_an_agency_exports_only_its_lines_without_the_lenders_posting(world, client_for, lines):
    rows = table(client_for("x_admin", host="acme").get("/payments/export.csv", {"q": "LEDGER"}))
    heading = rows[0]
    assert "Source" not in heading and "Applied to principal" not in heading and "Agency" not in heading
    assert len(rows) == 4 and all(lines["case"].debtor.name not in ",".join(row) for row in rows)
    other = table(client_for("y_admin", host="acme").get("/payments/export.csv", {"q": "LEDGER"}))
    assert other == [other[0]]  # Y earned nothing on these: the heading only


def test_an_export_larger_than_one_file_is_refused_with_a_way_forward(world, client_for, lines, monkeypatch):
    monkeypatch.setattr(ledger, "EXPORT_LIMIT", 2)
    response = client_for("acme_finance", host="acme").get("/payments/export.csv", {"q": "LEDGER"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain and response.redirect_chain[-1][0].startswith("/payments/?q=LEDGER")
    assert "3 payments match; one file holds at most 2. Narrow the dates and export in parts." in page
