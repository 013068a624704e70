"""Is a lender's workspace read-only? Read on every unsafe request, so cached per schema.

The answer lives in the "platform" cache under ``subscription-state:<schema>`` and is deleted after any
committed change to the lender's Subscription (signals below), the same discipline as portal.signals: nothing
is cached inside a transaction (it might roll back), a change is seen by the next request after its commit.
A lender with no subscription row is writable (pilots and lenders the platform does not bill).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection, transaction


@dataclass(frozen=True)
class BillingState:
    read_only: bool = False
    reason: str = ""


WRITABLE = BillingState()


def _key(schema_name: str) -> str:
    return f"subscription-state:{schema_name}"


def _compute(schema_name: str) -> BillingState:
    from subscriptions.models import Subscription

    row = Subscription.objects.filter(lender__schema_name=schema_name).values("read_only", "read_only_reason").first()
    if row is None:
        return WRITABLE
    return BillingState(read_only=row["read_only"], reason=row["read_only_reason"])


def state_for(schema_name: str) -> BillingState:
    if not schema_name or schema_name == "public":
        return WRITABLE
    if connection.in_atomic_block:
        return _compute(schema_name)
    cache = caches["platform"]
    state = cache.get(_key(schema_name))
    if state is None:
        state = _compute(schema_name)
        cache.set(_key(schema_name), state, timeout=300)
    return state


def forget(schema_name: str) -> None:
    caches["platform"].delete(_key(schema_name))


def _forget_after_commit(sender, instance, **kwargs):
    schema_name = instance.lender.schema_name
    transaction.on_commit(lambda: forget(schema_name))


def connect_signals():
    from django.db.models.signals import post_save

    from subscriptions.models import Subscription

    post_save.connect(_forget_after_commit, sender=Subscription, dispatch_uid="subscription-state-forget")
