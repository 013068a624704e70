"""A lender's Stripe Customer and card on file (billing.models.BillingAccount)."""

from __future__ import annotations

from django.db import transaction

from . import gateway
from .models import BillingAccount


def ensure_customer(lender) -> BillingAccount:
    """The lender's BillingAccount with a Stripe Customer: created once, even when called concurrently
    (the row is locked while the customer is created; the idempotency key is the lender's, so real
    Stripe would return the same customer to a retry after a lost answer)."""
    account, _ = BillingAccount.objects.get_or_create(lender=lender)
    if account.stripe_customer_id:
        return account
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(pk=account.pk)
        if not account.stripe_customer_id:
            account.stripe_customer_id = gateway.create_customer(
                name=lender.name, reference=lender.schema_name, idempotency_key=f"customer-{lender.pk}"
            )
            account.save(update_fields=["stripe_customer_id", "updated_at"])
    return account


def attach_test_card(lender, number: str) -> BillingAccount:
    """Tests and demo: put a Stripe test card on file (production: Stripe.js gives a pm_ id → attach_payment_method)."""
    account = ensure_customer(lender)
    card = gateway.attach_test_card(customer_id=account.stripe_customer_id, number=number)
    return _store_card(account, card)


def attach_payment_method(lender, payment_method_id: str) -> BillingAccount:
    """Production path: a ``pm_…`` id collected in the browser by Stripe.js becomes the default card."""
    account = ensure_customer(lender)
    card = gateway.attach_payment_method(customer_id=account.stripe_customer_id, payment_method_id=payment_method_id)
    return _store_card(account, card)


def _store_card(account: BillingAccount, card: gateway.CardOnFile) -> BillingAccount:
    account.default_payment_method_id = card.payment_method_id
    account.payment_method_label = card.label
    account.save(update_fields=["default_payment_method_id", "payment_method_label", "updated_at"])
    return account
