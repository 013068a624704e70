"""Periodic work for outsourcing, in every lender: placements expire at the end of their term, and
promises to pay whose date has passed become kept, partly kept or broken.

Beat knows no tenants: it runs the ``*_everywhere`` task on the public schema, which enqueues the
per-lender task from inside each lender's schema, so tenant-schemas-celery stamps the message with it
and the worker runs the task there. All are idempotent: running twice changes nothing more.
"""

from celery import shared_task
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.models import Lender

from . import placement


def _each_lender(task) -> list[str]:
    schemas = []
    for lender in Lender.objects.serving().order_by("schema_name"):
        with tenant_context(lender):
            task.delay()
        schemas.append(lender.schema_name)
    connection.set_schema_to_public()
    return schemas


@shared_task(name="outsourcing.tasks.expire_placements", acks_late=True, reject_on_worker_lost=True)
def expire_placements():
    """Record the placements of the current lender whose term (or hold) is over. Returns how many."""
    if connection.schema_name == "public":  # a message without a schema: nothing to do there
        return 0
    return placement.expire_due_placements()


@shared_task(name="outsourcing.tasks.expire_placements_everywhere", acks_late=True, reject_on_worker_lost=True)
def expire_placements_everywhere():
    """Enqueue the expiry of each lender's placements, each in its own schema. Returns the schemas."""
    return _each_lender(expire_placements)


@shared_task(name="outsourcing.tasks.evaluate_due_promises", acks_late=True, reject_on_worker_lost=True)
def evaluate_due_promises():
    """Evaluate the current lender's pending promises whose due date has passed. Returns how many changed."""
    if connection.schema_name == "public":
        return 0
    from .payments import evaluate_due_promises as evaluate

    return evaluate(now=timezone.now())


@shared_task(name="outsourcing.tasks.evaluate_due_promises_everywhere", acks_late=True, reject_on_worker_lost=True)
def evaluate_due_promises_everywhere():
    return _each_lender(evaluate_due_promises)
