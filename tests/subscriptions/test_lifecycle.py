"""Against a real localstripe: subscribe → active and writable; a declined renewal → read-only (writes refused
with a clear message, nothing changed, reading still works, a banner says why); paying → writable again."""

import json
from decimal import Decimal

import pytest
from django.db import ProgrammingError, transaction
from django.template.loader import render_to_string

from portal.errors import RuleError
from subscriptions import services, stripe_api
from subscriptions.models import Invoice, InvoiceStatus, Plan, Subscription, SubscriptionEvent, SubscriptionStatus
from tenants.models import Engagement, EngagementStatus
from tests.isolation_support import changed_tables, fingerprint
from tests.subscriptions.support import event, renew

GOOD, DECLINES = "4242424242424242", "4000000000000341"
READ_ONLY_TEXT = "This workspace is read-only"


def _subscribe(world, card=GOOD, plan="starter"):
    return services.subscribe(
        lender=world.lenders["acme"],
        plan=Plan.objects.get(code=plan),
        card_number=card,
        actor=world.people["platform"].user,
    )


def _lapse(world):
    """Subscribed and paid, then the card starts declining and the renewal invoice fails; Stripe tells us."""
    subscription = _subscribe(world)
    subscription = services.replace_card(subscription=subscription, number=DECLINES)
    invoice_id = renew(subscription)
    services.handle_stripe_event(
        event("invoice.payment_failed", {"id": invoice_id, "subscription": subscription.stripe_subscription_id}), None
    )
    return Subscription.objects.get(pk=subscription.pk), invoice_id


def test_subscribing_with_a_good_card_is_active_and_writable(acme, stripe_server):
    subscription = _subscribe(acme)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert not subscription.read_only
    assert subscription.card_last4 == "4242"
    assert subscription.current_period_end is not None
    (invoice,) = subscription.invoices.all()
    assert (invoice.status, invoice.amount_due, invoice.amount_paid) == (InvoiceStatus.PAID, Decimal("1980.00"), Decimal("1980.00"))
    # What Stripe holds agrees: the plan priced in fen, the subscription on it.
    remote = stripe_api.retrieve_subscription(subscription.stripe_subscription_id)
    assert remote["items"].data[0].plan.amount == 198000
    assert remote["items"].data[0].plan.id == Plan.objects.get(code="starter").stripe_plan_id
    assert subscription.events.filter(kind="subscribed").count() == 1


def test_a_first_payment_that_declines_leaves_the_workspace_read_only(acme, stripe_server):
    subscription = _subscribe(acme, card=DECLINES)
    assert subscription.status == SubscriptionStatus.INCOMPLETE
    assert subscription.read_only and subscription.read_only_reason == "incomplete"
    assert subscription.last_payment_error  # Stripe's reason, shown on the billing page
    with pytest.raises(RuleError):
        _subscribe(acme)  # already subscribed: no second Stripe subscription


def test_lapse_refuses_writes_and_payment_restores_them(acme, stripe_server, read_only_stack, client_for):
    subscription, invoice_id = _lapse(acme)
    assert subscription.read_only and subscription.read_only_reason == services.INVOICE_FAILED
    assert subscription.last_invoice_id == invoice_id and subscription.last_invoice_status == InvoiceStatus.OPEN
    assert Invoice.objects.get(stripe_invoice_id=invoice_id).failure

    engagement = Engagement.objects.get(lender=acme.lenders["acme"], partner=acme.orgs["yagency"])
    assert engagement.status == EngagementStatus.ACTIVE
    admin = client_for("acme_admin", host="acme")
    before = fingerprint("l_acme", "public")
    refused = admin.post(f"/engagements/{engagement.pk}/status/", {"status": EngagementStatus.SUSPENDED})
    assert refused.status_code == 402
    body = refused.content.decode()
    assert READ_ONLY_TEXT in body and "the latest invoice could not be charged" in body and 'href="/billing/"' in body
    assert changed_tables(before, fingerprint("l_acme", "public")) == []  # nothing at all was written
    engagement.refresh_from_db()
    assert engagement.status == EngagementStatus.ACTIVE

    # The integration API hears it as JSON.
    api = admin.post("/intake/api/cases/", data="{}", content_type="application/json")
    assert api.status_code == 402
    assert json.loads(api.content)["errors"][0]["code"] == "read_only"

    # Reading still works, with the banner; a collector sees it too (and is told to ask the lender's finance).
    page = admin.get("/cases/")
    assert page.status_code == 200 and READ_ONLY_TEXT in page.context["billing_banner"]["text"]
    assert page.context["billing_banner"]["may_pay"] is True
    banner = render_to_string("subscriptions/banner.html", {"billing_banner": page.context["billing_banner"]})
    assert 'role="alert"' in banner and READ_ONLY_TEXT in banner and 'href="/billing/"' in banner
    collector_page = client_for("x_collector", host="acme").get("/")
    assert collector_page.status_code == 200 and collector_page.context["billing_banner"]["may_pay"] is False

    # Paying with the declining card fails, says why, and leaves everything read-only.
    finance = client_for("acme_finance", host="acme")
    failed = finance.post("/billing/pay/", follow=True)
    assert "The invoice is still unpaid" in failed.content.decode()
    assert Subscription.objects.get(pk=subscription.pk).read_only

    # The billing page's own actions are allowed while read-only: a good card, then pay now.
    assert finance.post("/billing/card/", {"number": GOOD}).status_code == 302
    paid = finance.post("/billing/pay/", follow=True)
    assert "The invoice is paid" in paid.content.decode()
    subscription.refresh_from_db()
    assert not subscription.read_only and subscription.last_invoice_status == InvoiceStatus.PAID
    assert Invoice.objects.get(stripe_invoice_id=invoice_id).status == InvoiceStatus.PAID

    # Writable again: the same request now changes the row.
    admin.post(f"/engagements/{engagement.pk}/status/", {"status": EngagementStatus.SUSPENDED})
    engagement.refresh_from_db()
    assert engagement.status == EngagementStatus.SUSPENDED
    assert "billing_banner" not in admin.get("/cases/").context

    # Nothing to pay twice.
    with pytest.raises(RuleError):
        services.pay_open_invoice(subscription=subscription)
    kinds = list(subscription.events.order_by("at", "id").values_list("kind", "detail__read_only"))
    assert ("synced", True) in kinds and kinds[-1][0] in ("pay_attempted", "synced")


def test_sign_in_language_and_billing_stay_open_while_read_only(acme, stripe_server, read_only_stack, client_for):
    _lapse(acme)
    admin = client_for("acme_admin", host="acme")
    assert admin.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    assert admin.get("/billing/").status_code == 200
    assert admin.post("/accounts/logout/").status_code == 302


def test_the_same_event_twice_has_one_effect_and_order_does_not_matter(acme, stripe_server):
    subscription, invoice_id = _lapse(acme)
    synced = subscription.events.filter(kind="synced").count()
    # A late, duplicated "subscription updated" from before the failure changes nothing: we re-fetch.
    for _ in range(2):
        assert "read-only" in services.handle_stripe_event(
            event("customer.subscription.updated", {"id": subscription.stripe_subscription_id, "status": "active"}), None
        )
    subscription.refresh_from_db()
    assert subscription.read_only
    assert subscription.events.filter(kind="synced").count() == synced


def test_an_event_about_an_unknown_subscription_is_ignored(acme, stripe_server):
    subscription = _subscribe(acme)
    events = SubscriptionEvent.objects.count()
    assert (
        services.handle_stripe_event(event("invoice.payment_failed", {"id": "in_unknown", "subscription": "sub_nobody"}), None)
        == "ignored: unknown subscription"
    )
    assert (
        services.handle_stripe_event(event("customer.subscription.deleted", {"id": "sub_nobody"}), None) == "ignored: unknown subscription"
    )
    assert (
        services.handle_stripe_event(event("invoice.paid", {"id": "in_statement", "subscription": None}), None)
        == "ignored: unknown subscription"
    )
    assert services.handle_stripe_event(event("payment_intent.succeeded", {"id": "pi_x"}), None).startswith("ignored")
    assert SubscriptionEvent.objects.count() == events
    assert Subscription.objects.get(pk=subscription.pk).status == SubscriptionStatus.ACTIVE


def test_the_plan_follows_the_active_case_count(acme, stripe_server):
    from portal.models import CaseStatus
    from tests.factories import CaseFactory

    subscription = _subscribe(acme)
    baseline = services.count_active_cases()
    CaseFactory(status=CaseStatus.NEW)
    CaseFactory(status=CaseStatus.SETTLED)
    CaseFactory(status=CaseStatus.CLOSED)
    assert services.count_active_cases() == baseline + 1  # settled and closed cases are not billed

    subscription = services.review_plan(lender=acme.lenders["acme"], active_cases=1_001)
    assert subscription.plan.code == "growth" and subscription.active_cases == 1_001
    remote = stripe_api.retrieve_subscription(subscription.stripe_subscription_id)
    assert remote["items"].data[0].plan.id == Plan.objects.get(code="growth").stripe_plan_id
    assert subscription.events.filter(kind="plan_changed", detail__plan_to="growth").count() == 1
    # Counting again at the same level does not touch Stripe or the history; falling back moves it down.
    services.review_plan(lender=acme.lenders["acme"], active_cases=1_001)
    assert subscription.events.filter(kind="plan_changed").count() == 1
    assert services.review_plan(lender=acme.lenders["acme"], active_cases=1_000).plan.code == "starter"


def test_the_history_is_append_only(acme, stripe_server):
    subscription = _subscribe(acme)
    entry = subscription.events.first()
    for operation in (
        lambda: SubscriptionEvent.objects.filter(pk=entry.pk).update(kind="edited"),
        lambda: SubscriptionEvent.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            operation()


def _deliver(client, kind, obj, event_id):
    """Through billing's real webhook: signed with the test secret, recorded once, then processed as its Celery
    task does (billing.events.process)."""
    from django.conf import settings

    from billing import events
    from billing.models import StripeEvent
    from billing.testing import event_payload, sign_payload

    body = event_payload(kind, obj, event_id=event_id)
    response = client.post(
        "/stripe/webhook/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert response.status_code == 200
    return events.process(StripeEvent.objects.get(event_id=event_id).pk)


def test_the_lapse_and_the_payment_arrive_through_billing_webhook(acme, stripe_server, webhook_open, anon_client):
    from subscriptions import stripe_api as api

    subscription = _subscribe(acme)
    subscription = services.replace_card(subscription=subscription, number=DECLINES)
    invoice_id = renew(subscription)
    stripe = anon_client()  # Stripe posts to the public host, signed, with no session
    obj = {"id": invoice_id, "object": "invoice", "subscription": subscription.stripe_subscription_id}
    assert "read-only" in _deliver(stripe, "invoice.payment_failed", obj, "evt_sub_failed_1")
    assert Subscription.objects.get(pk=subscription.pk).read_only
    # Stripe's own retry succeeds later (a good card, the invoice paid at Stripe); its event restores writing.
    services.replace_card(subscription=subscription, number=GOOD)
    api.client().v1.invoices.pay(invoice_id)
    outcome = _deliver(stripe, "invoice.paid", obj, "evt_sub_paid_1")
    assert "read-only" not in outcome and "active" in outcome
    assert not Subscription.objects.get(pk=subscription.pk).read_only
    # The same event again: recorded once, no second effect.
    synced = SubscriptionEvent.objects.filter(subscription=subscription, kind="synced").count()
    assert _deliver(stripe, "invoice.paid", obj, "evt_sub_paid_1") == outcome
    assert SubscriptionEvent.objects.filter(subscription=subscription, kind="synced").count() == synced
    # An event about a subscription nobody here has: acknowledged, ignored.
    assert (
        _deliver(stripe, "customer.subscription.updated", {"id": "sub_elsewhere", "object": "subscription"}, "evt_other_1")
        == "ignored: unknown subscription"
    )


def test_a_missed_webhook_is_caught_up_by_the_periodic_sync(acme, stripe_server):
    from subscriptions import tasks

    subscription = _subscribe(acme)
    services.replace_card(subscription=subscription, number=DECLINES)
    renew(subscription)  # the renewal fails at Stripe, and no event reaches us
    assert not Subscription.objects.get(pk=subscription.pk).read_only
    assert subscription.stripe_subscription_id in tasks.sync_all()
    assert Subscription.objects.get(pk=subscription.pk).read_only
