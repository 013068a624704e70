"""Periodic work for outsourcing: placements expire at the end of their term, in every lender.

Beat knows no tenants: it runs ``expire_placements_everywhere`` on the public
schema, which enqueues one ``expire_placements`` per lender from inside that
lender's schema, so tenant-schemas-celery stamps the message with it and the
worker runs the task there. Both are idempotent: expiring twice changes nothing.
"""
from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.models import Lender

from . import placement


@shared_task(name="outsourcing.tasks.expire_placements", acks_late=True, reject_on_worker_lost=True)
def expire_placements():
    """Record the placements of the current lender whose term (or hold) is over. Returns how many."""
    if connection.schema_name == "public":  # a message without a schema: nothing to do there
        return 0
    return placement.expire_due_placements()


@shared_task(name="outsourcing.tasks.expire_placements_everywhere", acks_late=True, reject_on_worker_lost=True)
def expire_placements_everywhere():
    """Enqueue the expiry of each lender's placements, each in its own schema. Returns the schemas."""
    schemas = []
    for lender in Lender.objects.filter(is_template=False).exclude(schema_name="public").order_by("schema_name"):
        with tenant_context(lender):
            expire_placements.delay()
        schemas.append(lender.schema_name)
    connection.set_schema_to_public()
    return schemas
