"""Job handlers used only by the worker tests (loaded into the worker with `celery -I tests.job_probes`)."""

from django.db import connection, transaction

from portal.jobs.models import Job
from portal.jobs.services import job_handler


@job_handler("probe.schema")
def probe_schema(job, report):
    """Record where the task ran, after rolling back a savepoint; optionally fail afterwards."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                Job.objects.filter(pk=job.pk).update(message="inside a savepoint that will roll back")
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        current = cursor.fetchone()[0]
    Job.objects.filter(pk=job.pk).update(result_data={"schema_name": connection.schema_name, "current_schema": current})
    if job.params.get("fail"):
        raise RuntimeError("probe failure after a savepoint rollback")
    return {"result_data": {"schema_name": connection.schema_name, "current_schema": current}}
