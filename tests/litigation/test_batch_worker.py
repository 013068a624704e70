"""A batch of filing packets on a real Celery worker that is killed mid-batch: the job resumes and each packet exists once.

The first worker is killed with SIGKILL (no warm shutdown, no chance to hand the message back) while the batch is
part-way. The message was acknowledged late (acks_late), so the broker still holds it as unacknowledged; a second
worker takes it back once its visibility timeout has passed. In production that timeout is two hours, longer than
the longest task (config/settings/base.py, celery#7918); this test gives the *second* worker a one-second timeout so
that the redelivery happens at its start-up instead of two hours later. Nothing else differs: the same task message
runs again (the job's ``attempts`` becomes 2) and the handler continues where the first worker stopped. The
embedded path's filesystem broker cannot hand back a dead consumer's message; there the operator's resume
(litigation.batch.resume) queues the job again, and the same assertions hold.

Like tests/portal/test_jobs_worker.py, the workers use this test database and the data is committed, so the test
removes what it made.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django_tenants.utils import tenant_context

from config import celery_app
from litigation import batch
from litigation.models import Matter, Packet, PlaintiffProfile
from portal.jobs.models import Job, JobStatus
from tests.litigation.support import complete_matter
from tests.portal.test_jobs_worker import database_url

pytestmark = [pytest.mark.worker, pytest.mark.embedded]

COUNT = 12
PREFIX = "KILLBATCH-"

# The worker, started from Python so that the second one can be given a short visibility timeout (the settings'
# CELERY_BROKER_TRANSPORT_OPTIONS has no environment override). litigation.batch is imported (-I) so the worker
# knows the job kind even before litigation's AppConfig imports it.
WORKER = """
import os, sys
from config import celery_app
timeout = os.environ.get("BATCH_TEST_VISIBILITY_TIMEOUT")
if timeout:
    celery_app.conf.broker_transport_options = {"visibility_timeout": int(timeout)}
celery_app.worker_main(["worker", "-P", "solo", "-Q", sys.argv[1], "-I", "litigation.batch", "-l", "WARNING",
                        "--without-heartbeat", "--without-mingle", "--without-gossip"])
"""


def redelivers_unacknowledged() -> bool:
    """Redis (and AMQP) hand a dead consumer's unacknowledged message to the next one; kombu's filesystem transport,
    the embedded default, does not."""
    return not celery_app.conf.broker_url.startswith("filesystem")


def start_worker(queue, *, visibility_timeout=None):
    env = dict(os.environ, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="config.settings.test", CELERY_QUEUE=queue)
    if visibility_timeout:
        env["BATCH_TEST_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
    return subprocess.Popen([sys.executable, "-c", WORKER, queue], env=env, cwd=settings.BASE_DIR)


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def poll(lender, job_id, until, *, deadline, what):
    """Read the job row (and its packets) until ``until(job, built)`` holds; the deadline only guards a hung worker."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with tenant_context(lender):
            job = Job.objects.get(pk=job_id)
            built = Packet.objects.filter(job_id=job_id).count()
        if until(job, built):
            return job, built
        time.sleep(0.2)
    raise AssertionError(f"job {job_id}: {what} did not happen in {deadline} s (status {job.status}, {built} packets built)")


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(world, django_db_blocker):
    acme = world.lenders["acme"]
    legal = world.people["acme_legal"]
    queue = f"test-batch-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    workers, matters, job = [], [], None
    with django_db_blocker.unblock():
        with tenant_context(acme):
            had_plaintiff = PlaintiffProfile.objects.filter(pk=1).exists()
            plaintiff_history = PlaintiffProfile.pgh_event_model.objects.aggregate(last=Max("pgh_id"))["last"] or 0
        try:
            with tenant_context(acme):
                # In-house matters (no law firm): no fee agreement is created that other tests would then find.
                matters = [complete_matter(world, firm="", debtor_name=f"杀{i:02d}", contract_no=f"{PREFIX}{i:04d}") for i in range(COUNT)]
            workers.append(start_worker(queue))
            with tenant_context(acme):
                job = batch.start_batch(matter_ids=[m.pk for m in matters], user=legal.user, organisation=world.orgs["acme"], language="en")

            # Kill the worker once some packets are built, not all.
            running, before = poll(acme, job.pk, lambda j, built: built >= 3, deadline=600, what="three packets")
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=30)
            with tenant_context(acme):
                killed = Job.objects.get(pk=job.pk)
                at_kill = Packet.objects.filter(job_id=job.pk).count()
            assert killed.status == JobStatus.RUNNING and killed.attempts == 1
            assert 3 <= at_kill < COUNT, "the batch finished before the worker could be killed: make it bigger"

            if redelivers_unacknowledged():
                # A new worker takes the unacknowledged message back and the job resumes.
                workers.append(start_worker(queue, visibility_timeout=1))
            else:
                # The filesystem broker of the embedded path drops a message its consumer took and never acknowledged:
                # the operator's resume (litigation.batch.resume) queues the same job again.
                with tenant_context(acme), transaction.atomic():
                    assert batch.resume(Job.objects.get(pk=job.pk))
                workers.append(start_worker(queue))
            done, _built = poll(acme, job.pk, lambda j, built: j.is_finished, deadline=900, what="the resumed batch finishing")
            assert done.status == JobStatus.DONE, done.error
            assert done.attempts == 2  # the same job run again, not a second job
            assert done.result_data["built"] == COUNT and done.result_data["blocked"] == 0

            with tenant_context(acme):
                for matter in matters:
                    assert Packet.objects.filter(matter=matter).count() == 1, matter.number
                packets = {p.matter_id: p for p in Packet.objects.filter(matter__in=matters)}
                from litigation.packets import packet_bytes

                with done.result.open("rb") as handle:
                    archive = zipfile.ZipFile(handle)
                    names = archive.namelist()
                    assert len(names) == len(set(names)) == COUNT + 2
                    for matter in matters:
                        name = f"{matter.number}-{matter.debtor.name}.pdf"
                        assert names.count(name) == 1
                        assert archive.read(name) == packet_bytes(packets[matter.pk])
        finally:
            for process in workers:
                stop(process)
            celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
            with tenant_context(acme):
                remove_batch(matters, job, had_plaintiff=had_plaintiff, plaintiff_history=plaintiff_history)
        # Nothing of the test is left for the tests that follow (the world is shared and committed).
        from portal.models import Case

        with tenant_context(acme):
            assert not Case.objects.filter(contract_no__startswith=PREFIX).exists()
            assert not Matter.objects.filter(pk__in=[m.pk for m in matters]).exists()
            assert not Job.objects.filter(pk=job.pk).exists()
            assert PlaintiffProfile.objects.filter(pk=1).exists() == had_plaintiff
            assert not os.path.exists(os.path.join(default_storage.location, "litigation", "packets", str(matters[0].pk)))


def remove_batch(matters, job, *, had_plaintiff, plaintiff_history):
    """Delete what the committed test made: packets and their files (also a file whose row a killed worker never
    committed), the matters with their history, the cases and borrowers, the job and its ZIP."""
    from django.apps import apps

    from tests.intake_support import remove_imported

    ids = [m.pk for m in Matter.objects.filter(loans__case__contract_no__startswith=PREFIX).distinct()] or [m.pk for m in matters]
    Packet.objects.filter(matter_id__in=ids).delete()
    for folder in ("litigation/packets", "litigation/documents"):
        for matter_id in ids:
            path = os.path.join(default_storage.location, folder, str(matter_id))
            shutil.rmtree(path, ignore_errors=True)
    Matter.objects.filter(pk__in=ids).delete()
    apps.get_model("litigation", "MatterEvent").objects.filter(pgh_obj_id__in=ids).delete()
    remove_imported(contract_prefix=PREFIX)
    if job is not None:
        shutil.rmtree(os.path.join(default_storage.location, "jobs", str(job.pk)), ignore_errors=True)
        Job.objects.filter(pk=job.pk).delete()
    # The plaintiff's particulars: put back as they were (complete_matter writes them; their history rows too).
    apps.get_model("litigation", "PlaintiffProfileEvent").objects.filter(pgh_id__gt=plaintiff_history).delete()
    if not had_plaintiff:
        PlaintiffProfile.objects.filter(pk=1).delete()
