"""The webhook: signature on the raw body, each event once, any order, unknown objects acknowledged."""

import json
import time
from decimal import Decimal

from billing import charges, events, gateway, hooks
from billing.models import Charge, ChargeStatus, StripeEvent
from billing.testing import event_payload, sign_payload
from tests.billing import probes
from tests.billing.conftest import WEBHOOK_SECRET, deliver, post_event, reference


def paid(world, amount="150.00"):
    return charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=reference(), amount=amount)


def intent_object(charge) -> dict:
    """What an event's data.object says (an old copy: the processor re-fetches the intent anyway)."""
    return {"id": charge.payment_intent_id, "object": "payment_intent", "status": "requires_confirmation", "metadata": {}}


def test_succeeded_event_marks_the_charge_paid_once(acme_with_card, world, public_client):
    charge = paid(world)
    event_id = deliver(public_client, "payment_intent.succeeded", intent_object(charge))
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED and charge.settled_at is not None
    assert probes.calls_for(charge) == [("succeeded", world.lenders["acme"].schema_name)]  # in the lender's schema
    event = StripeEvent.objects.get(event_id=event_id)
    assert event.processed_at is not None and event.type == "payment_intent.succeeded"
    assert event.object_id == charge.payment_intent_id and event.payload["id"] == event_id
    # the same event again, and a different event about the same intent: no second effect
    deliver(public_client, "payment_intent.succeeded", intent_object(charge), event_id=event_id)
    deliver(public_client, "payment_intent.succeeded", intent_object(charge))
    assert StripeEvent.objects.filter(event_id=event_id).count() == 1
    assert probes.calls_for(charge) == [("succeeded", world.lenders["acme"].schema_name)]


def test_forged_signature_is_refused_and_nothing_is_stored(stripe_on, public_client):
    body = event_payload("payment_intent.succeeded", {"id": "pi_forged"})
    before = StripeEvent.objects.count()
    assert post_event(public_client, body, secret="whsec_not_ours").status_code == 400
    assert post_event(public_client, body, signature="").status_code == 400
    assert post_event(public_client, body, signature="t=1,v1=deadbeef").status_code == 400
    tampered = body.replace(b"pi_forged", b"pi_other0")
    assert post_event(public_client, tampered, signature=sign_payload(body, WEBHOOK_SECRET)).status_code == 400
    assert StripeEvent.objects.count() == before


def test_stale_timestamp_is_refused(stripe_on, public_client):
    body = event_payload("payment_intent.succeeded", {"id": "pi_stale"})
    response = post_event(public_client, body, timestamp=int(time.time()) - 600)  # Stripe's tolerance: 300 s
    assert response.status_code == 400
    assert not StripeEvent.objects.filter(payload__data__object__id="pi_stale").exists()


def test_get_is_not_allowed(stripe_on, public_client):
    assert public_client.get("/stripe/webhook/").status_code == 405


def test_unknown_object_is_acknowledged_recorded_and_ignored(stripe_on, public_client):
    for event_type, obj in [
        ("payment_intent.succeeded", {"id": "pi_NotOursAtAll"}),  # Stripe does not know it either
        ("charge.refunded", {"id": "ch_x", "payment_intent": None}),
        ("payout.paid", {"id": "po_123"}),
    ]:
        event_id = deliver(public_client, event_type, obj)
        event = StripeEvent.objects.get(event_id=event_id)
        assert event.processed_at is not None
        assert event.outcome.startswith("ignored"), event.outcome


def test_an_intent_of_someone_else_is_ignored(acme_with_card, public_client):
    """A PaymentIntent that exists in Stripe but is no charge of ours (no metadata of ours)."""
    account = acme_with_card
    other = gateway.create_payment_intent(
        amount=Decimal("9.99"),
        customer_id=account.stripe_customer_id,
        payment_method_id=account.default_payment_method_id,
        idempotency_key="x",
        metadata={},
    )
    event = StripeEvent.objects.get(event_id=deliver(public_client, "payment_intent.succeeded", {"id": other.id}))
    assert event.outcome == "ignored: unknown object"


def test_paid_before_the_charge_knows_its_intent(acme_with_card, world, public_client):
    """payment_intent.succeeded is processed before pay() stored the intent id: found by our metadata, still once."""
    account = acme_with_card
    charge = Charge.objects.create(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=reference(), amount="77.70")
    intent = gateway.create_payment_intent(
        amount=charge.amount,
        customer_id=account.stripe_customer_id,
        payment_method_id=account.default_payment_method_id,
        idempotency_key=charge.idempotency_key,
        metadata={"caseport_charge": str(charge.pk)},
    )
    gateway.confirm_payment_intent(intent.id, idempotency_key="confirm")
    deliver(public_client, "payment_intent.succeeded", {"id": intent.id})
    charge.refresh_from_db()
    assert charge.payment_intent_id == intent.id and charge.status == ChargeStatus.SUCCEEDED
    assert [outcome for outcome, _ in probes.calls_for(charge)] == ["succeeded"]
    # pay()'s own record arriving late cannot move it back
    assert Charge.objects.filter(pk=charge.pk, status=ChargeStatus.PENDING).update(status=ChargeStatus.PROCESSING) == 0


def test_refund_before_payment_ends_refunded(acme_with_card, world, public_client):
    """charge.refunded arrives before payment_intent.succeeded: the handler hears the payment, then the refund; once each."""
    charge = paid(world, "400.00")
    gateway.create_refund(intent_id=charge.payment_intent_id, idempotency_key=f"{charge.idempotency_key}:refund")
    deliver(public_client, "charge.refunded", {"id": "ch_whatever", "object": "charge", "payment_intent": charge.payment_intent_id})
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.REFUNDED
    assert [outcome for outcome, _ in probes.calls_for(charge)] == ["succeeded", "refunded"]
    deliver(public_client, "payment_intent.succeeded", intent_object(charge))  # late and stale: changes nothing
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.REFUNDED
    assert [outcome for outcome, _ in probes.calls_for(charge)] == ["succeeded", "refunded"]


def test_refund_after_payment(acme_with_card, world, public_client):
    charge = paid(world)
    deliver(public_client, "payment_intent.succeeded", intent_object(charge))
    gateway.create_refund(intent_id=charge.payment_intent_id, idempotency_key=f"{charge.idempotency_key}:refund")
    deliver(public_client, "charge.refunded", {"id": "ch_x", "payment_intent": charge.payment_intent_id})
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.REFUNDED
    assert [outcome for outcome, _ in probes.calls_for(charge)] == ["succeeded", "refunded"]


def test_a_failing_handler_rolls_back_the_event_too(acme_with_card, world, public_client, monkeypatch):
    """The effect and the event record share one transaction: if the handler fails, the event stays unprocessed."""
    charge = paid(world)

    def broken(charge, *, outcome, now):
        raise RuntimeError("ledger unavailable")

    monkeypatch.setitem(hooks.CHARGE_HANDLERS, probes.PURPOSE, broken)
    body = event_payload("payment_intent.succeeded", intent_object(charge))
    assert post_event(public_client, body).status_code == 200
    event = StripeEvent.objects.get(event_id=json.loads(body)["id"])
    try:
        events.process(event.pk)
    except RuntimeError:
        pass
    event.refresh_from_db()
    charge.refresh_from_db()
    assert event.processed_at is None and charge.status == ChargeStatus.PROCESSING and charge.notified == ""
    monkeypatch.setitem(hooks.CHARGE_HANDLERS, probes.PURPOSE, probes.probe_handler)
    events.process(event.pk)  # the retry (the task's autoretry, or the reconcile backlog) succeeds
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED and [o for o, _ in probes.calls_for(charge)] == ["succeeded"]


def test_other_event_families_go_to_their_registered_handler(stripe_on, public_client, monkeypatch):
    seen = []
    monkeypatch.setitem(hooks.EVENT_HANDLERS, "customer.subscription.", lambda event, now: seen.append(event.type) or "subscription noted")
    event_id = deliver(public_client, "customer.subscription.updated", {"id": "sub_1", "object": "subscription"})
    assert seen == ["customer.subscription.updated"]
    assert StripeEvent.objects.get(event_id=event_id).outcome == "subscription noted"


def test_lost_webhook_is_reconciled(acme_with_card, world):
    import datetime

    charge = paid(world)
    result = charges.reconcile_stuck(older_than=datetime.timedelta(0), now=charge.updated_at + datetime.timedelta(seconds=1))
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED and result["changed"] >= 1
    assert [o for o, _ in probes.calls_for(charge)] == ["succeeded"]
