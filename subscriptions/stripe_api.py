"""The Stripe Billing calls the subscriptions need that ``billing/gateway.py`` does not offer yet.

The customer and the card on file are billing's (``billing.accounts``: one Stripe Customer per lender, shared
with statement payments); the client is billing.gateway's. What is here reads fields the gateway's
``SubscriptionState``/``InvoiceState`` do not carry (an invoice's ``attempted``, ``amount_paid``, date and
failure message, the subscription's items) and changes a subscription's plan. Each function is one Stripe call,
so they fold into the gateway unchanged.

What localstripe 1.15.10 does (observed with this module's calls, 2026-12-05; the rules in services.py rely
only on what real Stripe does too):

* legacy Plans (``plans.create`` with a product) and ``subscriptions.create(items=[{plan}])`` work; Prices do not.
* A subscription created while the customer's default card declines (4000000000000341 attaches, then declines
  on charge) comes back ``incomplete`` with its first invoice ``open``, ``attempted`` and the charge's
  ``failure_message`` "Your card was declined.". Attaching a good card (4242…) and ``invoices.pay`` makes the
  invoice ``paid`` and the subscription ``active``, exactly as Stripe does.
* localstripe runs no billing clock: no renewal happens by itself. A renewal is an ``invoices.create(customer,
  subscription)`` (a draft holding the plan's line) + ``invoices.pay``; with a declining card ``pay`` does not
  raise, it leaves the invoice ``open`` and ``attempted``, and the subscription stays ``active`` (real Stripe
  would move it to ``past_due``). Hence the read-only rule also looks at the latest invoice, not only at
  the subscription's status (services.read_only_for).
* ``subscriptions.update(items=[{id, plan}])`` switches the plan and keeps the subscription ``active``.
* Idempotency keys are accepted and ignored; we send them anyway (real Stripe honours them).
"""

from __future__ import annotations

import stripe

from billing import gateway


def client() -> stripe.StripeClient:
    """billing.gateway's configured client (one configuration for every Stripe call of the project)."""
    return gateway.client()


def demo_mode() -> bool:
    """Test cards may be entered as raw numbers only against localstripe (tests and the demo)."""
    return bool(gateway.api_base())


def ensure_plan(*, plan_id: str, name: str, amount_fen: int, currency: str) -> str:
    """The Stripe plan with this id, created (with its product) when missing. The id carries the amount,
    so a price change makes a new plan instead of silently repricing the old one."""
    api = client()
    try:
        return api.v1.plans.retrieve(plan_id).id
    except stripe.InvalidRequestError:
        pass
    product = api.v1.products.create(params={"name": name, "type": "service"}, options={"idempotency_key": f"product-{plan_id}"})
    plan = api.v1.plans.create(
        params={"id": plan_id, "amount": amount_fen, "currency": currency, "interval": "month", "product": product.id},
        options={"idempotency_key": f"plan-{plan_id}"},
    )
    return plan.id


def create_subscription(*, customer_id: str, plan_id: str, lender_id, idempotency_key: str) -> stripe.Subscription:
    return client().v1.subscriptions.create(
        params={"customer": customer_id, "items": [{"plan": plan_id}], "metadata": {"lender": str(lender_id)}},
        options={"idempotency_key": idempotency_key},
    )


def change_subscription_plan(*, subscription_id: str, plan_id: str, idempotency_key: str) -> stripe.Subscription:
    api = client()
    current = api.v1.subscriptions.retrieve(subscription_id)
    item = current["items"].data[0]
    return api.v1.subscriptions.update(
        subscription_id, params={"items": [{"id": item.id, "plan": plan_id}]}, options={"idempotency_key": idempotency_key}
    )


def retrieve_subscription(subscription_id: str) -> stripe.Subscription:
    return client().v1.subscriptions.retrieve(subscription_id)


def list_invoices(*, customer_id: str, limit: int = 24) -> list:
    return list(client().v1.invoices.list(params={"customer": customer_id, "limit": limit}).data)


def retrieve_invoice(invoice_id: str) -> stripe.Invoice:
    return client().v1.invoices.retrieve(invoice_id)


def default_card(customer_id: str) -> tuple[str, str]:
    """(brand, last four digits) of the customer's default card, or ("", "")."""
    api = client()
    customer = api.v1.customers.retrieve(customer_id)
    settings_ = customer.to_dict().get("invoice_settings") or {}
    method_id = settings_.get("default_payment_method")
    if not method_id:
        return "", ""
    if isinstance(method_id, dict):
        method_id = method_id.get("id")
    card = api.v1.payment_methods.retrieve(method_id).to_dict().get("card") or {}
    return str(card.get("brand") or ""), str(card.get("last4") or "")
