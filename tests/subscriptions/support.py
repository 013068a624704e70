"""Helpers shared by the subscriptions tests: Stripe's side of a billing cycle, which localstripe does not run."""

from subscriptions import stripe_api


def renew(subscription):
    """What Stripe does at the end of a period: issue the next invoice for the subscription and charge the
    default card. localstripe has no billing clock (subscriptions/stripe_api.py notes), so the test does it
    with the same two calls Stripe's own cycle makes. Returns the invoice id."""
    api = stripe_api.client()
    invoice = api.v1.invoices.create(
        params={"customer": subscription.stripe_customer_id, "subscription": subscription.stripe_subscription_id}
    )
    api.v1.invoices.pay(invoice.id)
    return invoice.id


def event(kind, obj, event_id="evt_test"):
    """A Stripe event as billing's webhook hands it on (the payload only names the object)."""
    return {"id": event_id, "type": kind, "data": {"object": obj}}
