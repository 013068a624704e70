"""Starting and running jobs.

A job handler is a plain function ``handler(job, report)`` registered under a
kind. It must be idempotent: a worker may die mid-job and the message be
redelivered (acks_late + reject_on_worker_lost), so a handler writes its
result under the job's own id and the job is completed by compare-and-swap.
"""

import logging
import traceback
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Job, JobStatus

log = logging.getLogger(__name__)
HANDLERS = {}
DESCRIPTIONS = {}  # kind -> JobDescription: how the job page names the job and where it leads once done


@dataclass(frozen=True)
class JobDescription:
    label: str = ""
    done_url: str = ""  # a URL name shown as a button when the job is done
    done_label: str = ""
    # The portal.access action a person needs to see this kind of job and its result: the same one that
    # lets them start it (an audit export is as confidential as the audit log). Empty: nobody (fail closed).
    permission: str = ""


def job_handler(kind, *, permission="", label="", done_url="", done_label=""):
    """Register the function that does jobs of ``kind``, the access action its result needs, and how the
    job page describes it. Without ``permission`` nobody may see the job's page or result (fail closed)."""

    def register(func):
        HANDLERS[kind] = func
        DESCRIPTIONS[kind] = JobDescription(label=label, done_url=done_url, done_label=done_label, permission=permission)
        return func

    return register


def permission_for(kind: str) -> str:
    """The access action needed to see a job of ``kind`` (empty for a kind nobody registered)."""
    description = DESCRIPTIONS.get(kind)
    return description.permission if description else ""


def start_job(*, kind, params=None, user=None, organisation=None, key=None):
    """Create the job row and enqueue it once the surrounding transaction commits.

    With ``key`` the call is idempotent: a second call returns the first job.
    """
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    defaults = {
        "kind": kind,
        "params": params or {},
        "created_by_id": getattr(user, "pk", None),
        "organisation_id": getattr(organisation, "pk", None),
    }
    if key:
        job, created = Job.objects.get_or_create(key=key, defaults=defaults)
    else:
        job, created = Job.objects.create(**defaults), True
    if created:
        from .tasks import run_job

        # The task message carries this schema (tenant-schemas-celery header),
        # and is sent only after commit so the worker always finds the row.
        transaction.on_commit(lambda: run_job.delay(str(job.pk)))
    return job


class Reporter:
    """Writes progress straight to the row (outside any handler transaction)."""

    def __init__(self, job):
        self.job = job
        self._last = -1

    def __call__(self, percent, message=""):
        percent = max(0, min(100, int(percent)))
        if percent == self._last and not message:
            return
        self._last = percent
        Job.objects.filter(pk=self.job.pk).update(progress=percent, message=str(message)[:300])


def claim(job_id):
    """Compare-and-swap: mark the job running unless it is already finished."""
    updated = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now()
    )
    return updated == 1


def execute(job_id):
    """Run one job to the end in the current schema. Safe to call again."""
    if not claim(job_id):
        log.info("job %s already finished in %s; nothing to do", job_id, connection.schema_name)
        return None
    job = Job.objects.get(pk=job_id)
    handler = HANDLERS[job.kind]
    report = Reporter(job)
    try:
        outcome = handler(job, report) or {}
    except Exception as exc:  # the handler's own transaction has rolled back
        Job.objects.filter(pk=job_id).exclude(status=JobStatus.DONE).update(
            status=JobStatus.FAILED,
            error="".join(traceback.format_exception_only(exc)).strip()[:2000],
            finished_at=timezone.now(),
        )
        raise
    fields = {"status": JobStatus.DONE, "progress": 100, "finished_at": timezone.now()}
    if "result_data" in outcome:
        fields["result_data"] = outcome["result_data"]
    if "message" in outcome:
        fields["message"] = str(outcome["message"])[:300]
    Job.objects.filter(pk=job_id).exclude(status=JobStatus.DONE).update(**fields)
    return Job.objects.get(pk=job_id)
