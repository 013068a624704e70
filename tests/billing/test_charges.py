"""Paying through Stripe (the real library against localstripe): one live attempt, the key reused, failures say why."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing import accounts, charges, gateway
from billing.errors import PaymentError
from billing.models import BillingAccount, Charge, ChargeStatus
from tests.billing import probes
from tests.billing.conftest import DECLINED_CARD, GOOD_CARD, reference


def intents_of(charge_or_id):
    """The PaymentIntents localstripe holds for our charge (found by the metadata we send)."""
    wanted = str(getattr(charge_or_id, "pk", charge_or_id))
    found = []
    page = gateway.api().payment_intents.list(params={"limit": 100})
    for intent in page.auto_paging_iter():
        if intent.metadata.to_dict().get("caseport_charge") == wanted:
            found.append(intent.id)
    return found


def test_one_customer_per_lender(stripe_on, world):
    acme = world.lenders["acme"]
    first = accounts.ensure_customer(acme)
    again = accounts.ensure_customer(acme)
    assert first.stripe_customer_id.startswith("cus_")
    assert again.stripe_customer_id == first.stripe_customer_id
    assert BillingAccount.objects.filter(lender=acme).count() == 1
    assert gateway.api().customers.retrieve(first.stripe_customer_id).metadata["caseport_lender"] == acme.schema_name


def test_card_on_file_label(acme_with_card):
    assert acme_with_card.default_payment_method_id.startswith("pm_")
    assert acme_with_card.payment_method_label == "Visa ···· 4242"


def test_pay_records_processing_and_waits_for_the_webhook(acme_with_card, world):
    ref = reference()
    charge = charges.pay(
        lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount=Decimal("1234.565"), description="佣金结算单 CS202605"
    )
    assert charge.status == ChargeStatus.PROCESSING
    assert charge.amount == Decimal("1234.57")  # rounded to the fen once, half up
    assert charge.payment_intent_id.startswith("pi_") and charge.attempt == 1
    intent = gateway.retrieve_payment_intent(charge.payment_intent_id)
    assert intent.status == "succeeded" and intent.amount == Decimal("1234.57") and intent.currency == "cny"
    assert intent.metadata["caseport_charge"] == str(charge.pk) and intent.metadata["reference"] == ref
    assert probes.calls_for(charge) == []  # the business effect waits for the webhook


def test_a_second_click_finds_the_live_charge(acme_with_card, world):
    ref = reference()
    first = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="50.00")
    second = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="50.00")
    assert second.pk == first.pk and second.payment_intent_id == first.payment_intent_id
    assert Charge.objects.filter(purpose=probes.PURPOSE, reference=ref).count() == 1
    assert intents_of(first) == [first.payment_intent_id]


def test_a_different_amount_for_the_same_item_is_refused(acme_with_card, world):
    ref = reference()
    charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="50.00")
    with pytest.raises(PaymentError) as refused:
        charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="60.00")
    assert refused.value.code == "conflict"


def test_the_database_refuses_a_second_live_charge(stripe_on, world):
    ref = reference()
    Charge.objects.create(lender=world.lenders["acme"], purpose="probe", reference=ref, amount="10.00", attempt=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.create(lender=world.lenders["acme"], purpose="probe", reference=ref, amount="10.00", attempt=2)


def test_declined_card_fails_with_the_reason_and_a_new_attempt_may_follow(stripe_on, world):
    acme = world.lenders["acme"]
    accounts.attach_test_card(acme, DECLINED_CARD)
    ref = reference()
    with pytest.raises(PaymentError) as declined:
        charges.pay(lender=acme, purpose=probes.PURPOSE, reference=ref, amount="300.00")
    assert declined.value.code == "card_declined"
    assert "declined" in declined.value.messages[0]
    failed = Charge.objects.get(purpose=probes.PURPOSE, reference=ref)
    assert failed.status == ChargeStatus.FAILED and failed.failure_code == "card_declined"
    assert failed.failure_message == "Your card was declined."
    assert str(failed.failure_reason) == "The card was declined by the bank."
    assert probes.calls_for(failed) == [("failed", acme.schema_name)]
    # a new card, a new attempt: a new idempotency key, and the failed attempt stays on record
    accounts.attach_test_card(acme, GOOD_CARD)
    retry = charges.pay(lender=acme, purpose=probes.PURPOSE, reference=ref, amount="300.00")
    assert retry.attempt == 2 and retry.status == ChargeStatus.PROCESSING
    assert retry.idempotency_key != failed.idempotency_key
    assert "succeeded" not in [outcome for outcome, _ in probes.calls_for(failed)]


def test_no_card_on_file(stripe_on, world):
    ref = reference()
    with pytest.raises(PaymentError) as refused:
        charges.pay(lender=world.lenders["beta"], purpose=probes.PURPOSE, reference=ref, amount="10.00")
    assert refused.value.code == "no_payment_method"
    charge = Charge.objects.get(reference=ref)
    assert charge.status == ChargeStatus.FAILED and charge.failure_code == "no_payment_method"
    assert "No card is on file" in str(charge.failure_reason)


def test_non_positive_amount_is_refused_before_anything_is_stored(acme_with_card, world):
    ref = reference()
    with pytest.raises(PaymentError):
        charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="0.004")
    assert not Charge.objects.filter(reference=ref).exists()


def test_retry_after_a_lost_confirmation_retrieves_the_intent(acme_with_card, world, monkeypatch):
    """The network fails after the PaymentIntent was created: the retry looks it up, never creates another."""
    real_confirm = gateway.confirm_payment_intent
    failures = []

    def flaky_confirm(intent_id, *, idempotency_key):
        if not failures:
            failures.append(intent_id)
            raise gateway.GatewayError("network", "connection reset", retryable=True)
        return real_confirm(intent_id, idempotency_key=idempotency_key)

    monkeypatch.setattr(gateway, "confirm_payment_intent", flaky_confirm)
    ref = reference()
    with pytest.raises(PaymentError) as lost:
        charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="88.80")
    assert lost.value.code == "network"
    pending = Charge.objects.get(reference=ref)
    assert pending.status == ChargeStatus.PENDING and pending.payment_intent_id == failures[0]
    retried = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="88.80")
    assert retried.pk == pending.pk and retried.status == ChargeStatus.PROCESSING
    assert intents_of(pending) == [pending.payment_intent_id]  # one PaymentIntent in Stripe


def test_retry_after_a_lost_creation_reuses_the_idempotency_key(acme_with_card, world, monkeypatch):
    """The network fails before we learn the intent's id: the retry sends the same key (real Stripe then returns
    the first intent; localstripe ignores keys, so the key itself is what is checked here)."""
    real_create = gateway.create_payment_intent
    keys = []

    def flaky_create(**kwargs):
        keys.append(kwargs["idempotency_key"])
        if len(keys) == 1:
            raise gateway.GatewayError("network", "timed out", retryable=True)
        return real_create(**kwargs)

    monkeypatch.setattr(gateway, "create_payment_intent", flaky_create)
    ref = reference()
    with pytest.raises(PaymentError):
        charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="20.00")
    charge = Charge.objects.get(reference=ref)
    assert charge.status == ChargeStatus.PENDING and charge.payment_intent_id is None
    charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="20.00")
    assert keys == [charge.idempotency_key, charge.idempotency_key]
    assert Charge.objects.filter(reference=ref).count() == 1


def test_stripe_card_errors_map_to_clear_reasons():
    assert str(gateway.reason_for("insufficient_funds")) == "The card has insufficient funds."
    assert str(gateway.reason_for("expired_card")) == "The card has expired."
    assert str(gateway.reason_for("stolen_card")) == "The card was declined by the bank."
    assert str(gateway.reason_for("something_new")) == "The card was declined by the bank."
