from celery import shared_task

from . import services


@shared_task(name="portal.jobs.tasks.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id):
    """Run a job in the schema that enqueued it (tenant-schemas-celery sets it)."""
    services.execute(job_id)
