from django.http import Http404
from django.shortcuts import render

from portal import access
from portal.audit.log import Action, record
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import permission_for
from portal.lib.downloads import stored_file


def _visible_job(request, job_id):
    """A job is visible to people of the organisation that started it whose role may do what the job does
    (its kind's permission: an audit export needs audit.export). Any refusal is a 404, audited."""
    principal = request.principal
    if not access.can(principal, "job.view"):
        raise Http404
    job = Job.objects.filter(pk=job_id, organisation_id=principal.organisation.pk).first()
    needed = permission_for(job.kind) if job is not None else ""
    if job is None or not needed or not access.can(principal, needed):
        raise access.not_found(request, "jobs.job", job_id)
    return job


def job_detail(request, job_id):
    return render(request, "portal/job_detail.html", {"job": _visible_job(request, job_id)})


def job_progress(request, job_id):
    return render(request, "portal/partials/job_progress.html", {"job": _visible_job(request, job_id)})


def job_download(request, job_id):
    job = _visible_job(request, job_id)
    if job.status != JobStatus.DONE or not job.result:
        raise Http404
    record(Action.DOWNLOAD, request=request, obj=job)
    return stored_file(job.result.open("rb"), filename=job.result_name or "result")
