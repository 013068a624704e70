"""Who sees which statement: a partner only its own organisation's, of the lender whose workspace it is in, and only
from review onwards; the lender's people every one. Refusals are 404 (never confirming a statement exists)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import commissions
from outsourcing.models import CommissionLine, Placement
from portal.fees import services
from portal.fees.models import StatementStatus
from portal.payments.models import Payment, PaymentSource
from tests.portal.fees.support import M3, M4, day, direct_line, draft, in_review, pay, placed

pytestmark = pytest.mark.django_db
BETA_REFERENCE = "CANARY-BETA-FEES-X-001"


def beta_statement_for_x(world):
    """Beta's statement for agency X (engaged with both lenders), under review: X's admin reads it on beta's host."""
    with tenant_context(world.lenders["beta"]):
        case = world.cases["beta_placed"]
        placement = Placement.objects.get(case=case, partner=world.orgs["xagency"])
        amount, rate = Decimal("777.00"), Decimal("0.1000")
        payment = Payment.objects.create(
            case=case, amount=amount, paid_on=day(M4, 3), reference=BETA_REFERENCE, source=PaymentSource.MANUAL, to_principal=amount
        )
        CommissionLine.objects.create(
            payment=payment,
            placement=placement,
            partner=world.orgs["xagency"],
            case=case,
            paid_on=day(M4, 3),
            bucket=placement.bucket,
            round=placement.round,
            recovered=amount,
            rate=rate,
            commission=commissions.commission_for(amount, rate),
        )
        who = world.people["beta_admin"].user
        statement = services.draft(kind="commission", partner=world.orgs["xagency"], period=M4, created_by=who)
        return services.send_for_review(statement=statement, sent_by=who)


def test_agency_x_never_sees_y_statements_nor_any_draft(acme, client_for):
    world = acme
    a = placed(world, 1, prefix="ISO-X")[0]
    pay(a, "500.00", day(M4, 4), "ISO-X-1")
    x_review = in_review(world)
    line = CommissionLine.objects.filter(statement_id=x_review.pk).get()
    direct_line(world, agency="yagency", case_key="acme_recalled", paid_on=day(M4, 5), amount="300.00", reference="ISO-Y-1")
    y_review = in_review(world, agency="yagency")
    x_draft = world.statements["acme_x"]
    y_draft = draft(world, M3, agency="yagency")  # another month: M4 is under review
    x, y = client_for("x_admin", host="acme"), client_for("y_admin", host="acme")
    x_list, y_list = x.get("/fees/").content.decode(), y.get("/fees/").content.decode()
    assert x_review.number in x_list and y_review.number not in x_list and x_draft.number not in x_list
    assert y_review.number in y_list and x_review.number not in y_list and y_draft.number not in y_list
    for client, hidden in ((x, [y_review, x_draft, y_draft]), (y, [x_review, x_draft, y_draft])):
        for statement in hidden:
            for suffix in ("", "statement.pdf", "statement.csv", "statement.xlsx"):
                response = client.get(f"/fees/{statement.pk}/{suffix}")
                assert response.status_code == 404
                body = response.content.decode()
                assert "ISO-X-1" not in body and "ISO-Y-1" not in body and "CANARY-ACME" not in body
    # Filtering by status cannot bring a draft into view either.
    assert x_draft.number not in x.get("/fees/?status=draft").content.decode()
    # Y may not dispute or accept X's statement, whatever it posts.
    assert y.post(f"/fees/{x_review.pk}/dispute/", {"line_id": str(line.pk), "reason": "不对"}).status_code == 404
    assert y.post(f"/fees/{x_review.pk}/accept/").status_code == 404
    connection.set_tenant(world.lenders["acme"])
    assert not x_review.disputes.exists()


def test_a_partner_of_acme_cannot_see_betas_statements_in_acmes_workspace(world, client_for):
    beta = beta_statement_for_x(world)
    x_on_acme = client_for("x_admin", host="acme")
    assert x_on_acme.get(f"/fees/{beta.pk}/").status_code == 404
    assert beta.number not in x_on_acme.get("/fees/").content.decode()
    y_on_acme = client_for("y_admin", host="acme")  # engaged with acme only
    assert y_on_acme.get(f"/fees/{beta.pk}/").status_code == 404
    x_on_beta = client_for("x_admin", host="beta")  # the same agency, in beta's own workspace: its own statement
    page = x_on_beta.get(f"/fees/{beta.pk}/")
    assert page.status_code == 200 and BETA_REFERENCE in page.content.decode()
    assert client_for("acme_finance", host="beta").get(f"/fees/{beta.pk}/").status_code in (302, 403, 404)


def test_the_lender_sees_drafts_and_every_partner(acme, client_for):
    world = acme
    listing = client_for("acme_manager", host="acme").get("/fees/").content.decode()
    assert world.statements["acme_x"].number in listing and world.fees["acme_x_review"].number in listing
    assert world.statements["acme_x"].status == StatementStatus.DRAFT
    assert timezone.localdate() >= world.statements["acme_x"].period
