"""Stripe work on the Celery worker, in the public schema (billing's tables live there).

The webhook view enqueues ``process_event`` from the public host, so tenant-schemas-celery stamps the
message "public"; the task enters each lender's schema itself (billing.charges: schema_context around the
purpose's handler). Beat runs ``reconcile`` (lost webhooks, unsent transfers, unprocessed events).
"""

from celery import shared_task
from django.db import connection

from . import charges, events
from .gateway import GatewayError


@shared_task(
    name="billing.tasks.process_event",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(GatewayError,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=12,
)
def process_event(event_pk: int) -> str:
    """Apply one recorded Stripe event, once (a duplicate or a concurrent delivery finds it processed)."""
    connection.set_schema_to_public()
    return events.process(event_pk)


@shared_task(name="billing.tasks.reconcile", acks_late=True, reject_on_worker_lost=True)
def reconcile() -> dict:
    """Re-fetch charges stuck in processing, process unprocessed events, retry unsent transfers."""
    connection.set_schema_to_public()
    backlog = events.process_backlog()
    return charges.reconcile_stuck() | {"events": backlog}
