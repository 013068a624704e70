"""Export the audit log to CSV in the background, with progress."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext_lazy

from portal.jobs.models import Job
from portal.jobs.services import job_handler
from portal.lib.spreadsheet import csv_bytes
from tenants.models import User

from .log import Action, record
from .models import AuditEvent

COLUMNS = ["at", "action", "actor_email", "organisation_name", "object_type", "object_id", "case_id", "ip", "path"]


@job_handler("audit_export", permission="audit.export", label=gettext_lazy("Audit log export"))
def export_audit_log(job, report):
    events = AuditEvent.objects.order_by("at", "id")
    if job.params.get("action") in Action.values:
        events = events.filter(action=job.params["action"])
    total = events.count()
    rows = 0

    def lines():
        nonlocal rows
        yield COLUMNS
        for event in events.iterator(chunk_size=2000):
            yield [event.at.isoformat() if column == "at" else str(getattr(event, column) or "") for column in COLUMNS]
            rows += 1
            if rows % 500 == 0:
                report(rows * 95 // total, f"{rows} / {total}")

    content = csv_bytes(lines())  # portal.lib.spreadsheet: every cell neutralised, UTF-8 with a BOM
    # A fixed name under the job's folder: a retried job overwrites, never duplicates.
    name = f"jobs/{job.pk}/audit-log.csv"
    if default_storage.exists(name):
        default_storage.delete(name)
    stored = default_storage.save(name, ContentFile(content))
    filename = f"audit-log-{timezone.localdate():%Y%m%d}.csv"
    Job.objects.filter(pk=job.pk).update(result=stored, result_name=filename)
    actor = User.objects.filter(pk=job.created_by_id).first()
    record(Action.EXPORT, actor=actor, object_type="jobs.job", object_id=str(job.pk), rows=rows)
    return {"result_data": {"rows": rows}}
