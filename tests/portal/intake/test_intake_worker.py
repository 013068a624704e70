"""An import checked and committed by a real Celery worker (a separate process), in the lender's schema."""

import pytest
from django_tenants.utils import tenant_context

from portal.intake import services
from portal.intake.models import BatchStatus
from portal.jobs.models import JobStatus
from portal.models import Case
from tests.intake_support import id_number, remove_imported, row, to_csv
from tests.portal.test_jobs_worker import wait_for, worker  # noqa: F401  (the module-scoped worker process)

pytestmark = [pytest.mark.worker, pytest.mark.embedded]


def test_an_import_is_checked_then_committed_by_the_worker(world, worker, django_db_blocker):  # noqa: F811
    acme = world.lenders["acme"]
    manager = world.people["acme_manager"].user
    # Borrowers of their own (region 650102): no debtor is shared with rows other tests commit.
    rows = [row(seed, contract_no=f"WORKER-{seed:04d}", id_number=id_number(seed, region="650102")) for seed in range(1, 41)]
    rows.append(row(99, contract_no="WORKER-0099", mobile="x"))
    with django_db_blocker.unblock():
        try:
            with tenant_context(acme):
                batch, mapping = services.receive_file(content=to_csv(rows), original_name="worker.csv", created_by=manager)
                assert mapping.complete
                check = services.start_validation(batch=batch, user=manager, organisation=world.orgs["acme"])
            assert wait_for(check.pk, acme).status == JobStatus.DONE
            with tenant_context(acme):
                batch.refresh_from_db()
                assert (batch.status, batch.rows, batch.valid, batch.would_create) == (BatchStatus.VALIDATED, 41, 40, 40)
                commit = services.start_commit(batch=batch, user=manager, organisation=world.orgs["acme"])
            done = wait_for(commit.pk, acme)
            assert done.status == JobStatus.DONE and done.progress == 100, done.error
            with tenant_context(acme):
                batch.refresh_from_db()
                assert (batch.status, batch.created, batch.updated) == (BatchStatus.COMMITTED, 40, 0)
                # Once committed, the file (kept sealed until then) is deleted; the batch remembers it by size and SHA-256.
                assert batch.file.name == "" and batch.file_deleted_at is not None and len(batch.sha256) == 64
                assert Case.objects.filter(contract_no__startswith="WORKER-").count() == 40
                assert done.result_data["created"] == 40
        finally:
            with tenant_context(acme):
                remove_imported(contract_prefix="WORKER-", batch_names=["worker.csv"])
