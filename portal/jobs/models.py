import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def job_result_upload_to(instance, filename):
    return f"jobs/{instance.pk}/{uuid.uuid4().hex}"


class Job(models.Model):
    """Long work done by a Celery worker, with progress the page polls.

    Lives in the schema of the tenant it works for. ``key`` makes starting a
    job idempotent: the same key returns the existing job instead of a second.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    result = models.FileField(upload_to=job_result_upload_to, blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    result_data = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="job_progress_at_most_100"),
        ]

    def __str__(self):
        return f"{self.kind} {self.pk} ({self.status})"

    @property
    def description(self):
        """How the job page names this kind of job and where it leads (registered with its handler)."""
        from .services import DESCRIPTIONS, JobDescription

        return DESCRIPTIONS.get(self.kind) or JobDescription(label=self.kind)

    @property
    def is_finished(self):
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
