"""Jobs in-process: idempotent start, compare-and-swap claiming, progress page, permissions."""

import pytest
from django_tenants.utils import tenant_context

from portal.jobs import services
from portal.jobs.models import Job, JobStatus


@pytest.mark.django_db
def test_starting_with_the_same_key_returns_the_same_job(world):
    with tenant_context(world.lenders["acme"]):
        first = services.start_job(kind="audit_export", key="export-2026-11")
        second = services.start_job(kind="audit_export", key="export-2026-11")
        assert first.pk == second.pk
        assert Job.objects.filter(key="export-2026-11").count() == 1


@pytest.mark.django_db
def test_a_redelivered_job_is_not_run_twice(world):
    with tenant_context(world.lenders["acme"]):
        job = Job.objects.create(kind="audit_export", organisation_id=world.orgs["acme"].pk)
        done = services.execute(job.pk)
        assert done.status == JobStatus.DONE and done.attempts == 1
        assert services.execute(job.pk) is None  # redelivery after success: nothing happens
        assert Job.objects.get(pk=job.pk).attempts == 1


@pytest.mark.django_db
def test_unknown_job_kind_is_refused(world):
    with tenant_context(world.lenders["acme"]), pytest.raises(ValueError):
        services.start_job(kind="no-such-kind")


@pytest.mark.django_db
def test_progress_page_polls_until_done_and_offers_the_download(world, client_for):
    client = client_for("acme_admin", host="acme")
    with tenant_context(world.lenders["acme"]):
        running = Job.objects.create(kind="audit_export", status=JobStatus.RUNNING, progress=40, organisation_id=world.orgs["acme"].pk)
    page = client.get(f"/jobs/{running.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and '<progress max="100" value="40"' in page
    done = world.jobs["acme"]
    page = client.get(f"/jobs/{done.pk}/progress/").content.decode()
    assert "hx-trigger" not in page and f"/jobs/{done.pk}/download/" in page
    download = client.get(f"/jobs/{done.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"CANARY-ACME-JOB" in b"".join(download.streaming_content)


@pytest.mark.django_db
def test_a_job_is_visible_only_to_the_organisation_that_started_it(world, client_for):
    job = world.jobs["acme"]
    for persona in ("x_admin", "y_admin"):
        client = client_for(persona, host="acme")
        assert client.get(f"/jobs/{job.pk}/").status_code == 404
        assert client.get(f"/jobs/{job.pk}/download/").status_code == 404


@pytest.mark.django_db
def test_export_from_the_audit_page_starts_a_job(world, client_for, django_capture_on_commit_callbacks):
    client = client_for("acme_admin", host="acme")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/audit/export/", {"action": "login"})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    assert len(callbacks) == 1  # the task is sent only once the job row is committed
    with tenant_context(world.lenders["acme"]):
        job = Job.objects.get(pk=response["Location"].split("/")[2])
        assert job.params == {"action": "login"} and job.status == JobStatus.QUEUED
