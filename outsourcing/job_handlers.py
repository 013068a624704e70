"""Background jobs of outsourcing (found by portal.jobs' autodiscovery of ``job_handlers``)."""

from django.utils.translation import gettext as _, gettext_lazy, ngettext

from portal.jobs.services import job_handler
from tenants.models import User

from . import allocation
from .models import AllocationBatch
from .placement import PlacementRefused


@job_handler("allocation_commit", permission="placement.manage", label=gettext_lazy("Placing the allocation batch"))
def commit_allocation(job, report):
    """Place a previewed allocation batch (one transaction; a retry finds it committed and stops)."""
    batch = AllocationBatch.objects.get(pk=job.params["batch_id"])
    user = User.objects.filter(pk=job.params.get("user_id")).first()
    report(5, _("Checking the cases against the preview"))
    try:
        batch = allocation.commit(batch=batch, by=user)
    except PlacementRefused as refused:
        return {"message": refused.messages[0], "result_data": {"refused": refused.codes}}
    count = batch.placed_count
    return {
        "message": ngettext("%(count)s case placed.", "%(count)s cases placed.", count) % {"count": count},
        "result_data": {"placed": count},
    }
