"""The Celery application: tenant-aware, late-acking, one message at a time.

tenant-schemas-celery puts the sending connection's schema into each message
and switches the worker's connection to it before the task runs; the
post-run hook below then puts the worker back on the public schema, so the
next task can never inherit a tenant (reliability-and-security.md §2.1.4).
"""

import os

from celery.signals import task_postrun
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = CeleryApp("caseport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect(weak=False)
def back_to_public(**kwargs):
    from django.db import connection

    if connection.schema_name != "public":
        connection.set_schema_to_public()
