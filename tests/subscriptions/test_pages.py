"""The billing screens: the lender's page for its admins and finance only; platform staff's overview of every
lender, refused to everyone else."""

import pytest

from subscriptions.models import Plan, Subscription, SubscriptionStatus
from tests.subscriptions.test_lifecycle import _lapse, _subscribe


@pytest.mark.parametrize("persona", ["acme_admin", "acme_finance"])
def test_the_lender_billing_page_shows_plan_usage_invoices_and_card(persona, acme, stripe_server, client_for):
    _subscribe(acme)
    page = client_for(persona, host="acme").get("/billing/")
    assert page.status_code == 200
    body = page.content.decode()
    for text in ("起步 Starter", "¥1,980.00", "Visa", "4242", "Active cases", "Paid", "Replace the card", "Stripe.js Elements"):
        assert text in body, text
    assert page.context["active_cases"] >= 1 and page.context["open_invoice"] is None


def test_the_lender_billing_page_offers_pay_now_for_an_open_invoice(acme, stripe_server, client_for):
    _lapse(acme)
    body = client_for("acme_finance", host="acme").get("/billing/").content.decode()
    assert "Pay now" in body and "Open (awaiting payment)" in body and "declined" in body


def test_no_subscription_is_an_empty_state(acme, client_for, settings):
    settings.STRIPE_API_BASE = None
    page = client_for("acme_admin", host="acme").get("/billing/")
    assert page.status_code == 200 and "This workspace has no subscription." in page.content.decode()


@pytest.mark.parametrize("persona", ["acme_manager", "acme_legal", "acme_lawyer", "x_admin", "x_collector", "l_lawyer"])
def test_the_lender_billing_page_is_refused_to_everyone_else(persona, acme, client_for):
    client = client_for(persona, host="acme")
    assert client.get("/billing/").status_code == 403
    assert client.post("/billing/pay/").status_code == 403
    assert client.post("/billing/card/", {"number": "4242424242424242"}).status_code == 403


def test_platform_staff_see_every_lender_billing_state(acme, stripe_server, client_for):
    _lapse(acme)
    page = client_for("platform").get("/platform/billing/")
    assert page.status_code == 200
    body = page.content.decode()
    rows = {row["lender"].slug: row for row in page.context["rows"]}
    assert {"acme", "beta"} <= set(rows)
    assert rows["acme"]["subscription"].read_only and rows["beta"]["subscription"] is None
    assert acme.lenders["acme"].name in body and acme.lenders["beta"].name in body
    assert "Read-only" in body and "Not subscribed" in body and "the latest invoice could not be charged" in body
    chart = {bar["name"]: bar["value"] for bar in page.context["chart"]["bars"]}
    assert chart["Active"] == 1 and chart["Not subscribed"] == len(rows) - 1
    assert "<svg" in body and page.context["read_only_count"] == 1


def test_the_overview_counts_each_status(acme, client_for):
    Subscription.objects.create(
        lender=acme.lenders["beta"], plan=Plan.objects.get(code="growth"), status=SubscriptionStatus.PAST_DUE, read_only=True
    )
    page = client_for("platform").get("/platform/billing/")
    chart = {bar["name"]: bar["value"] for bar in page.context["chart"]["bars"]}
    assert chart["Past due"] == 1 and page.context["read_only_count"] == 1


@pytest.mark.parametrize("persona", ["acme_admin", "acme_finance", "x_admin", "beta_admin"])
def test_the_platform_overview_is_refused_to_non_staff(persona, world, client_for):
    assert client_for(persona).get("/platform/billing/").status_code == 403


def test_platform_staff_subscribe_a_lender_from_the_overview(world, db, stripe_server, client_for):
    beta = world.lenders["beta"]
    form = {"lender": beta.pk, "plan": Plan.objects.get(code="growth").pk, "card": "4242424242424242"}
    assert client_for("beta_admin").post("/platform/billing/", form).status_code == 403
    assert not Subscription.objects.filter(lender=beta).exists()
    page = client_for("platform").post("/platform/billing/", form, follow=True)
    assert "is subscribed to 成长 Growth: Active." in page.content.decode()
    subscription = Subscription.objects.get(lender=beta)
    assert (subscription.plan.code, subscription.status, subscription.read_only) == ("growth", SubscriptionStatus.ACTIVE, False)
    assert subscription.stripe_customer_id == beta.billing_account.stripe_customer_id  # the lender's one Stripe customer
    # A subscribed lender is no longer offered.
    assert beta not in page.context["form"].fields["lender"].queryset
