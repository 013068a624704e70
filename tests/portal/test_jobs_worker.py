"""Background jobs on a real Celery worker (a separate process) over the configured broker.

Redis in CI; with no CELERY_BROKER_URL, the filesystem broker the demo uses.
The worker connects to this test database; jobs are committed, not rolled
back, so each test removes what it made.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

import tests.job_probes  # noqa: F401  (registers the probe handler in this process too)
from config import celery_app
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import start_job

pytestmark = [pytest.mark.worker, pytest.mark.embedded]


def database_url():
    db = connection.settings_dict
    from urllib.parse import quote

    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


@pytest.fixture(scope="module")
def worker(world, django_db_blocker):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    env = dict(os.environ, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="config.settings.test", CELERY_QUEUE=queue)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-I",
            "tests.job_probes",
            "-l",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE


def wait_for(job_id, lender, deadline=90):
    """Poll the row until the job finishes; the deadline only guards against a hung worker."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with tenant_context(lender):
            job = Job.objects.get(pk=job_id)
        if job.is_finished:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish; is the worker running?")


def test_audit_export_runs_on_the_worker_in_the_lenders_schema(world, worker, django_db_blocker):
    acme = world.lenders["acme"]
    admin = world.people["acme_admin"]
    with django_db_blocker.unblock():
        with tenant_context(acme):
            job = start_job(kind="audit_export", user=admin.user, organisation=world.orgs["acme"])
        done = wait_for(job.pk, acme)
        assert done.status == JobStatus.DONE, done.error
        assert done.progress == 100 and done.attempts == 1
        with tenant_context(acme):
            assert done.result.name.startswith(f"jobs/{done.pk}/")
            assert os.path.realpath(done.result.path).startswith(os.path.realpath(settings.MEDIA_ROOT / acme.schema_name))
            content = done.result.read().decode("utf-8-sig")
        assert content.splitlines()[0].startswith("at,action,actor_email")
        with tenant_context(acme):
            Job.objects.filter(pk=job.pk).delete()


def test_task_schema_survives_an_exception_and_a_savepoint_rollback(world, worker, django_db_blocker):
    """A failing task in acme (after a savepoint rollback) must not leak its schema into the next task."""
    acme, beta = world.lenders["acme"], world.lenders["beta"]
    with django_db_blocker.unblock():
        with tenant_context(acme):
            failing = start_job(kind="probe.schema", params={"fail": True})
        with tenant_context(beta):
            following = start_job(kind="probe.schema")
        failed = wait_for(failing.pk, acme)
        after = wait_for(following.pk, beta)
        assert failed.status == JobStatus.FAILED and "probe failure" in failed.error
        assert failed.result_data == {"schema_name": acme.schema_name, "current_schema": acme.schema_name}
        assert after.status == JobStatus.DONE
        assert after.result_data == {"schema_name": beta.schema_name, "current_schema": beta.schema_name}
        # and the beta job row lives only in beta's schema
        with tenant_context(acme):
            assert not Job.objects.filter(pk=following.pk).exists()
        with tenant_context(acme):
            Job.objects.filter(pk=failing.pk).delete()
        with tenant_context(beta):
            Job.objects.filter(pk=following.pk).delete()
