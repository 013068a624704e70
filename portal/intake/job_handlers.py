"""The background halves of an import: checking a file, and committing it.

Both may run again after a worker dies (acks_late): checking rewrites the
same verdict; committing happens in one transaction guarded by the batch's
status, so a second run finds the batch committed and does nothing.
"""

from django.utils.translation import gettext as _, gettext_lazy

from portal.jobs.services import job_handler

from . import services
from .errors import IntakeError
from .models import BatchStatus, ImportBatch


def _summary(batch: ImportBatch) -> dict:
    return {
        "batch": str(batch.pk),
        "status": batch.status,
        "rows": batch.rows,
        "valid": batch.valid,
        "created": batch.created,
        "updated": batch.updated,
        "rejected": batch.rejected_total,
    }


@job_handler(services.VALIDATE_JOB, permission="case.import", label=gettext_lazy("Checking the case file"))
def check_import(job, report):
    batch = ImportBatch.objects.get(pk=job.params["batch"])
    if batch.status == BatchStatus.COMMITTED:  # run again after the API's check-and-import had finished
        return {
            "message": _("%(created)s cases created, %(updated)s updated")
            % {"created": f"{batch.created:,}", "updated": f"{batch.updated:,}"},
            "result_data": _summary(batch),
        }
    verdict = services.validate_batch(batch=batch, report=report)
    if verdict is None:
        return {"message": batch.file_error.message, "result_data": _summary(batch)}
    if batch.commit_after_validation and verdict.valid:
        # The API's one request: check, then import what is valid.
        ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.VALIDATED).update(status=BatchStatus.COMMITTING)
        batch.refresh_from_db()
        if batch.status in (BatchStatus.COMMITTING, BatchStatus.COMMITTED):
            services.commit_batch(batch=batch, report=report, verdict=verdict)
    else:
        services.finish_unattended_check(batch=batch)
    batch.refresh_from_db()
    return {
        "message": _("%(valid)s of %(rows)s rows are valid") % {"valid": f"{batch.valid:,}", "rows": f"{batch.rows:,}"},
        "result_data": _summary(batch),
    }


@job_handler(services.COMMIT_JOB, permission="case.import", label=gettext_lazy("Importing the cases"))
def commit_import(job, report):
    batch = ImportBatch.objects.get(pk=job.params["batch"])
    try:
        services.commit_batch(batch=batch, report=report)
    except IntakeError as error:  # the file is no longer kept: the batch has failed, with the reason
        batch.refresh_from_db()
        return {"message": error.message, "result_data": _summary(batch)}
    batch.refresh_from_db()
    return {
        "message": _("%(created)s cases created, %(updated)s updated") % {"created": f"{batch.created:,}", "updated": f"{batch.updated:,}"},
        "result_data": _summary(batch),
    }
