"""Partners see only what their work needs (PIPL art. 6: processing limited to the minimum the purpose needs;
art. 21: an entrusted party processes only as agreed). Four rules, decided in portal.access:

1. a partner's view of a case's history carries no payment amount or bank reference;
2. a partner's dashboard counts cases per bucket, without money;
3. the generic case page shows a partner the address as the workbench does (its start only);
4. a partner who reports a payment does not learn whether, or to which lender payment, it was matched.

Each rule: a canary string absent for the partner and present for the lender.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import placement
from outsourcing.workbench import history
from portal import access
from portal.payments import services
from portal.payments.models import PaymentReport, PaymentSource, ReportStatus
from tests.matrix_outsourcing import make_cases

pytestmark = pytest.mark.django_db

ADDRESS = "上海市黄浦区南京东路CANARY-ADDR-5518号"
ADDRESS_TAIL = "南京东路CANARY-ADDR-5518号"


def placed_case(world, prefix):
    with tenant_context(world.lenders["acme"]):
        case = make_cases(1, dpd=45, prefix=prefix)[0]
        case.debtor.address = ADDRESS
        case.debtor.save(update_fields=["address"])
        placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=world.people["acme_manager"].user)
    return case


def pay(world, case, *, reference, amount="1234.56", paid_on=None):
    with tenant_context(world.lenders["acme"]):
        payment, _created = services.record_payment(
            case=case,
            amount=Decimal(amount),
            paid_on=paid_on or timezone.localdate(),
            reference=reference,
            source=PaymentSource.MANUAL,
            recorded_by=world.people["acme_finance"].user,
        )
    return payment


def row_of(listing, reference):
    """The table row that shows this report reference."""
    [row] = [row for row in listing.split("<tr") if f">{reference}<" in row]
    return row


def cells(row):
    return [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def principal(world, persona):
    lender = world.lenders["acme"]
    return access.principal_for(world.people[persona].user, lender)


# ------------------------------------------------------------------ 1. case history: no payment money or reference
def test_a_partner_sees_no_payment_amount_or_reference_in_the_case_history(world, client_for):
    case = placed_case(world, "MINPAY")
    pay(world, case, reference="CANARY-BANKREF-4471")
    for persona in ("x_admin",):
        client = client_for(persona, host="acme")
        for url in (f"/workbench/cases/{case.pk}/", f"/cases/{case.pk}/"):
            page = client.get(url).content.decode()
            assert "CANARY-BANKREF-4471" not in page, (persona, url)
            assert "1,234.56" not in page, (persona, url)
    # The lender's staff read the payment, its reference and amount, on the case page and in the history itself.
    lender_page = client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/").content.decode()
    assert "CANARY-BANKREF-4471" in lender_page and "¥1,234.56" in lender_page
    with tenant_context(world.lenders["acme"]):
        for_lender = history.case_history(case=case, principal=principal(world, "acme_manager"))
        for_partner = history.case_history(case=case, principal=principal(world, "x_admin"))
        unknown = history.case_history(case=case)  # no principal: fail closed
    evidence = lambda h: " ".join(e.obj.evidence for e in h.entries if e.kind == "limitation")  # noqa: E731
    assert "CANARY-BANKREF-4471" in evidence(for_lender)
    assert "CANARY-BANKREF-4471" not in evidence(for_partner) and "CANARY-BANKREF-4471" not in evidence(unknown)
    # What happened stays: a partial payment on that day (it restarts the limitation period, 民法典 art. 195).
    assert any(e.kind == "limitation" and e.obj.kind == "partial_payment" for e in for_partner.entries)


# ------------------------------------------------------------------ 2. dashboard: counts only
def _bucket_card(page):
    return page.split("Cases by bucket")[1].split('<div class="card')[0]


@pytest.mark.parametrize("persona", ["x_admin", "x_collector"])
def test_a_partners_dashboard_counts_cases_per_bucket_without_money(persona, world, client_for):
    placed_case(world, "MINDASH")
    card = _bucket_card(client_for(persona, host="acme").get("/").content.decode())
    assert "M2" in card and "¥" not in card


def test_the_lenders_dashboard_keeps_the_money_per_bucket(world, client_for):
    placed_case(world, "MINDASHL")
    card = _bucket_card(client_for("acme_manager", host="acme").get("/").content.decode())
    assert "M2" in card and "¥" in card


# ------------------------------------------------------------------ 3. address: the workbench's rule on the case page
@pytest.mark.parametrize("persona", ["x_admin"])
def test_the_case_page_shows_a_partner_only_the_start_of_the_address(persona, world, client_for):
    case = placed_case(world, "MINADDR")
    page = client_for(persona, host="acme").get(f"/cases/{case.pk}/").content.decode()
    assert ADDRESS_TAIL not in page
    assert access.address_for(principal(world, persona), ADDRESS) in page  # the one rule, as the workbench applies it
    assert "上海市黄浦区…" in page


def test_the_lender_sees_the_full_address(world, client_for):
    case = placed_case(world, "MINADDRL")
    assert ADDRESS in client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/").content.decode()
    assert access.address_for(None, ADDRESS) == "上海市黄浦区…"  # nobody known: the short form


# ------------------------------------------------------------------ 4. payment reports: no match feedback
def test_a_partner_reporting_a_payment_does_not_learn_that_it_matched(world, client_for):
    case = placed_case(world, "MINREP")
    today = timezone.localdate()
    payment = pay(world, case, reference="CANARY-MATCHREF-9902", amount="250.00")
    x_admin = client_for("x_admin", host="acme")
    response = x_admin.post(
        "/payments/reports/",
        {"contract_no": case.contract_no, "amount": "250.00", "paid_on": today.isoformat(), "reference": "RC-MIN-1"},
        follow=True,
    )
    with tenant_context(world.lenders["acme"]):
        report = PaymentReport.objects.get(reference="RC-MIN-1")
        assert report.status == ReportStatus.MATCHED and report.matched_payment_id == payment.pk  # it did match at once
    said = response.content.decode()
    assert "matched at once" not in said and "Reported." in said
    for listing in (x_admin.get("/payments/reports/").content.decode(), x_admin.get("/payments/reports/?status=matched").content.decode()):
        row = row_of(listing, "RC-MIN-1")
        assert "Matched" not in row and "CANARY-MATCHREF-9902" not in row and f"/payments/{payment.pk}/" not in row
        assert "Received, awaiting the lender" in row
    assert "Awaiting match" not in x_admin.get("/payments/reports/").content.decode()  # no status that tells them apart
    # The payment's own page (the agency's commission line) does not say which report it matched either.
    detail = x_admin.get(f"/payments/{payment.pk}/").content.decode()
    assert "RC-MIN-1" not in detail
    # The lender sees the match and the payment it matched.
    lender = client_for("acme_finance", host="acme").get("/payments/reports/?status=matched").content.decode()
    row = row_of(lender, "RC-MIN-1")
    assert "Matched" in row and "CANARY-MATCHREF-9902" in row
    assert "RC-MIN-1" in client_for("acme_finance", host="acme").get(f"/payments/{payment.pk}/").content.decode()


def test_a_pending_report_and_a_matched_one_look_the_same_to_the_partner(world, client_for):
    case = placed_case(world, "MINREP2")
    today = timezone.localdate()
    pay(world, case, reference="BK-MIN-2", amount="100.00")
    x_admin = client_for("x_admin", host="acme")
    x_admin.post(
        "/payments/reports/", {"contract_no": case.contract_no, "amount": "100.00", "paid_on": today.isoformat(), "reference": "RC-MIN-M"}
    )
    x_admin.post(
        "/payments/reports/",
        {
            "contract_no": case.contract_no,
            "amount": "77.00",
            "paid_on": (today - datetime.timedelta(days=1)).isoformat(),
            "reference": "RC-MIN-P",
        },
    )
    with tenant_context(world.lenders["acme"]):
        assert PaymentReport.objects.get(reference="RC-MIN-M").status == ReportStatus.MATCHED
        assert PaymentReport.objects.get(reference="RC-MIN-P").status == ReportStatus.PENDING
    listing = x_admin.get("/payments/reports/").content.decode()

    status_cell = lambda reference: cells(row_of(listing, reference))[-2]  # noqa: E731 (status, then the action)
    assert status_cell("RC-MIN-M") == status_cell("RC-MIN-P") == "Received, awaiting the lender"
    received = x_admin.get("/payments/reports/?status=received").content.decode()
    assert "RC-MIN-M" in received and "RC-MIN-P" in received


def test_a_partner_still_disputes_a_rejected_report(world, client_for):
    case = placed_case(world, "MINREJ")
    x_admin = client_for("x_admin", host="acme")
    x_admin.post(
        "/payments/reports/",
        {"contract_no": case.contract_no, "amount": "55.00", "paid_on": timezone.localdate().isoformat(), "reference": "RC-MIN-R"},
    )
    with tenant_context(world.lenders["acme"]):
        report = PaymentReport.objects.get(reference="RC-MIN-R")
    client_for("acme_finance", host="acme").post(f"/payments/reports/{report.pk}/reject/", {"note": "no such money"})
    listing = x_admin.get("/payments/reports/?status=rejected").content.decode()
    assert "RC-MIN-R" in listing and "Rejected" in listing and "no such money" in listing
    response = x_admin.post(f"/payments/reports/{report.pk}/dispute/", {"reason": "not_received", "text": "the debtor has a receipt"})
    assert response.status_code == 302 and "/payments/disputes/" in response["Location"]
    assert "Rejected" in x_admin.get(response["Location"]).content.decode()
