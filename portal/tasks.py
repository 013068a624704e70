"""Periodic work of the lender core, in every lender: received files past their retention are deleted.

Beat knows no tenants: it runs the ``*_everywhere`` task on the public schema, which enqueues the
per-lender task from inside each lender's schema, so tenant-schemas-celery stamps the message with it
and the worker runs the task there (the same pattern as outsourcing.tasks). Idempotent.
"""

from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.models import Lender


@shared_task(name="portal.tasks.purge_expired_files", acks_late=True, reject_on_worker_lost=True)
def purge_expired_files():
    """Delete the current lender's import and payment files older than IMPORT_FILE_RETENTION_DAYS."""
    if connection.schema_name == "public":  # a message without a schema: nothing to do there
        return {}
    from . import retention

    return retention.purge_expired_files()


@shared_task(name="portal.tasks.purge_expired_files_everywhere", acks_late=True, reject_on_worker_lost=True)
def purge_expired_files_everywhere():
    """Enqueue the purge in each lender's schema. Returns the schemas."""
    schemas = []
    for lender in Lender.objects.serving().order_by("schema_name"):
        with tenant_context(lender):
            purge_expired_files.delay()
        schemas.append(lender.schema_name)
    connection.set_schema_to_public()
    return schemas
