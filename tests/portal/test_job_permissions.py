"""A job's page and result need the permission of its kind, not just membership of the organisation that
started it: an audit export is as confidential as the audit log (audit.export), an import as the import
(case.import), a payment file as recording payments (payment.record). Refusals are 404 and audited."""

import importlib

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django_tenants.utils import tenant_context

from portal import access
from portal.audit.log import Action
from portal.audit.models import AuditEvent
from portal.jobs import services
from portal.jobs.models import Job, JobStatus
from portal.payments.job_handlers import JOB_KIND as PAYMENT_FILE
from tenants.models import Role


def _denied(job):
    return AuditEvent.objects.filter(action=Action.ACCESS_DENIED, object_type="jobs.job", object_id=str(job.pk)).count()


@pytest.mark.django_db
def test_a_lender_role_without_audit_export_gets_404_for_the_admins_export_and_its_download(world, client_for):
    job = world.jobs["acme"]  # the admin's audit export, done, with a file
    client = client_for("acme_manager", host="acme")  # a collections manager: job.view yes, audit.export no
    assert Role.COLLECTIONS_MANAGER in access.PERMISSIONS["job.view"] and Role.COLLECTIONS_MANAGER not in access.PERMISSIONS["audit.export"]
    with tenant_context(world.lenders["acme"]):
        before = _denied(job)
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/progress/", f"/jobs/{job.pk}/download/"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"CANARY-ACME-JOB" not in response.content
    with tenant_context(world.lenders["acme"]):
        assert _denied(job) == before + 3


@pytest.mark.django_db
def test_a_payment_file_job_is_seen_by_who_may_record_payments_and_not_by_the_collections_manager(world, client_for):
    with tenant_context(world.lenders["acme"]):
        job = Job.objects.create(
            kind=PAYMENT_FILE,
            status=JobStatus.DONE,
            progress=100,
            result_name="payments.csv",
            created_by_id=world.people["acme_finance"].user.pk,
            organisation_id=world.orgs["acme"].pk,
        )
        job.result.save("payments.csv", ContentFile(b"reference\nPAYMENT-JOB-RESULT\n"), save=True)
    admin = client_for("acme_admin", host="acme")  # payment.record
    assert admin.get(f"/jobs/{job.pk}/").status_code == 200
    assert b"PAYMENT-JOB-RESULT" in b"".join(admin.get(f"/jobs/{job.pk}/download/").streaming_content)
    manager = client_for("acme_manager", host="acme")
    assert manager.get(f"/jobs/{job.pk}/").status_code == 404
    assert manager.get(f"/jobs/{job.pk}/download/").status_code == 404


@pytest.mark.django_db
def test_a_kind_that_names_no_permission_is_shown_to_nobody(world, client_for):
    with tenant_context(world.lenders["acme"]):
        job = Job.objects.create(
            kind="no-such-kind",
            status=JobStatus.DONE,
            organisation_id=world.orgs["acme"].pk,
            created_by_id=world.people["acme_admin"].user.pk,
        )
    assert client_for("acme_admin", host="acme").get(f"/jobs/{job.pk}/").status_code == 404


def test_every_job_kind_of_the_apps_declares_a_known_permission():
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.job_handlers")
        except ModuleNotFoundError:
            continue
    kinds = {kind for kind in services.HANDLERS if not kind.startswith("probe.")}  # tests' own probes
    assert {"audit_export", "allocation_commit", PAYMENT_FILE} <= kinds
    for kind in kinds:
        needed = services.permission_for(kind)
        assert needed in access.PERMISSIONS, f"job kind {kind!r} declares no known permission ({needed!r})"
