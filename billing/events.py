"""Stripe's webhook events: recorded once, processed once, in any order.

``record`` stores a verified event (INSERT … ON CONFLICT (event_id) DO NOTHING: a duplicate delivery, even a
concurrent one, finds the row) and ``process`` applies it in one transaction with the event row locked, so two
deliveries of one event produce one effect. Payment events are never trusted for state: the PaymentIntent is
re-fetched and its current state applied (billing.charges.apply_intent_state), so "paid before created" and
"refund before payment" end right (Stripe: webhooks best practices, event ordering). Events about objects we
do not know are acknowledged and recorded as ignored. Other families (subscriptions, invoices) go to the
handlers registered in billing.hooks.
"""

from __future__ import annotations

import datetime
import json

from django.db import connection, transaction
from django.utils import timezone

from . import gateway, hooks
from .charges import apply_intent_state
from .models import Charge, StripeEvent

PAYMENT_PREFIXES = ("payment_intent.", "charge.")


def object_of(payload: dict) -> dict:
    return (payload.get("data") or {}).get("object") or {}


def record(payload: dict) -> tuple[int, bool]:
    """Store a verified event once. Returns (row id, whether it still needs processing)."""
    obj = object_of(payload)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StripeEvent._meta.db_table} (event_id, type, object_id, payload, received_at, outcome) "
            "VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT (event_id) DO NOTHING RETURNING id",
            [payload["id"], str(payload.get("type", ""))[:100], str(obj.get("id", ""))[:255], json.dumps(payload), timezone.now()],
        )
        row = cursor.fetchone()
    if row is not None:
        return row[0], True
    existing = StripeEvent.objects.values_list("pk", "processed_at").get(event_id=payload["id"])
    return existing[0], existing[1] is None  # a redelivery of an event not yet processed: enqueue again (harmless)


def process(event_pk: int, *, now: datetime.datetime | None = None) -> str:
    """Apply one stored event, once. Returns its outcome. A transient Stripe error raises (the task retries)."""
    now = now or timezone.now()
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().get(pk=event_pk)  # a concurrent delivery waits here
        if event.processed_at is not None:
            return event.outcome
        outcome = _route(event, now)
        event.processed_at, event.outcome = now, (outcome or "handled")[:500]
        event.save(update_fields=["processed_at", "outcome"])
        return event.outcome


def _route(event: StripeEvent, now) -> str:
    if event.type.startswith(PAYMENT_PREFIXES):
        return _payment_event(event, now)
    handler = hooks.event_handler_for(event.type)
    if handler is None:
        return "ignored: unhandled type"
    return handler(event, now) or "handled"


def _payment_event(event: StripeEvent, now) -> str:
    obj = object_of(event.payload)
    intent_id = obj.get("id") if event.type.startswith("payment_intent.") else obj.get("payment_intent")
    if not intent_id or not str(intent_id).startswith("pi_"):
        return "ignored: unknown object"
    charge = Charge.objects.filter(payment_intent_id=intent_id).first()
    try:
        intent = gateway.retrieve_payment_intent(intent_id)  # the current state decides, not the event's copy
    except gateway.GatewayError as error:
        if error.retryable:
            raise
        return "ignored: unknown object" if charge is None else f"error: {error.message}"
    if charge is None:  # perhaps pay() has not stored the id yet: our charge id travels in the intent's metadata
        charge_id = intent.metadata.get("caseport_charge", "")
        charge = Charge.objects.filter(pk=charge_id, payment_intent_id__isnull=True).first() if _is_uuid(charge_id) else None
        if charge is None:
            return "ignored: unknown object"
    delivered = apply_intent_state(charge, intent, now=now)
    return f"charge {charge.pk}: {charge.status}" + (f" ({', '.join(delivered)})" if delivered else "")


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def process_backlog(*, older_than: datetime.timedelta = datetime.timedelta(minutes=2), limit: int = 500) -> int:
    """Process events stored but not processed (a lost broker message). Returns how many."""
    cutoff = timezone.now() - older_than
    pks = list(StripeEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff).values_list("pk", flat=True)[:limit])
    for pk in pks:
        process(pk)
    return len(pks)
