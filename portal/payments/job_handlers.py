"""Recording a checked payment file in the background, with progress.

Safe to run again after a worker dies: the rows are recorded in one transaction (all or nothing), and
a payment already recorded is recognised by its reference, so a second run records nothing twice.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _, gettext_lazy

from portal.jobs.services import job_handler
from portal.lib import filecrypt

from . import importing

JOB_KIND = "payment_import"


@job_handler(
    JOB_KIND,
    permission="payment.record",
    label=gettext_lazy("Payment file"),
    done_url="payment-list",
    done_label=gettext_lazy("See the payments"),
)
def record_payment_file(job, report):
    name = job.params["upload"]
    try:
        content = importing.read_checked_file(name)
    except filecrypt.FileGone:  # recorded by an earlier run that died after committing (or swept by retention)
        return {"message": _("The file was already recorded.")}
    user = get_user_model().objects.filter(pk=job.created_by_id).first()
    result = importing.check_and_record(content, commit=True, recorded_by=user, report=report)
    importing.discard_checked_file(name)
    if result.file_error:
        return {"message": result.file_error, "result_data": result.as_dict()}
    return {
        "message": _("%(created)s payment(s) recorded, %(existing)s already recorded, %(rejected)s row(s) refused.")
        % {"created": result.created, "existing": result.existing, "rejected": len(result.rejected)},
        "result_data": {key: value for key, value in result.as_dict().items() if key != "rejected"},
    }
