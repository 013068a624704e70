"""Files at rest: import and payment files are kept sealed with the field keys and only while needed
(PIPL arts. 6, 19, 51); a retention task deletes what was abandoned; oversize uploads are refused
before they are written (ASVS 5.2.1)."""

import datetime
import hashlib
import os

import pytest
from cryptography.fernet import Fernet
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from portal import retention
from portal.intake import services
from portal.intake.models import BatchSource, BatchStatus, ImportBatch
from portal.intake.tokens import issue_token
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import execute
from portal.lib import filecrypt
from portal.models import Case
from portal.payments import importing
from tests.intake_support import id_number, row, to_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path):
    """This module's own storage folder: the retention sweep must never touch files other tests are using.

    (django-tenants' storage caches its root and re-reads it only when MULTITENANT_RELATIVE_MEDIA_ROOT changes.)"""
    folder = tmp_path / "media"
    folder.mkdir()
    with override_settings(MEDIA_ROOT=folder, MULTITENANT_RELATIVE_MEDIA_ROOT="%s"):
        yield folder


def stored_bytes(batch) -> bytes:
    with default_storage.open(batch.file.name, "rb") as handle:
        return handle.read()


def received(rows, *, name="cases.csv", source=BatchSource.WEB, content=None):
    batch, mapping = services.receive_file(content=content or to_csv(rows), original_name=name, source=source)
    assert mapping.complete
    return batch


def checked(batch):
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    verdict = services.validate_batch(batch=batch)
    assert verdict is not None and batch.status == BatchStatus.VALIDATED
    return verdict


def test_the_stored_file_is_sealed_yet_checks_and_commits_and_is_deleted_once_committed(acme, django_capture_on_commit_callbacks):
    rows = [row(seed, contract_no=f"SEAL-{seed:04d}", id_number=id_number(seed, region="540102")) for seed in (1, 2)]
    content = to_csv(rows)
    batch = received(rows)
    on_disk = stored_bytes(batch)
    # Nothing of the file can be read from the storage: no header, no ID number, no name, no phone.
    for plain in (b"contract_no", id_number(1, region="540102").encode(), "张三".encode(), b"13800000001", b"SEAL-0001"):
        assert plain not in on_disk
    assert on_disk.startswith(filecrypt.MAGIC) and filecrypt.unseal(on_disk) == content
    assert (batch.size, batch.sha256) == (len(content), hashlib.sha256(content).hexdigest())

    assert checked(batch).valid == 2
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTING)
    with django_capture_on_commit_callbacks(execute=True):
        services.commit_batch(batch=batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and Case.objects.filter(contract_no__startswith="SEAL-").count() == 2
    # The file has served its purpose: gone from the storage; the batch keeps what identifies it, and the verdict.
    assert batch.file.name == "" and batch.file_deleted_at is not None
    assert not default_storage.exists(f"intake/{batch.pk}/original.csv")
    assert (batch.original_name, batch.size, batch.sha256, batch.created) == ("cases.csv", len(content), batch.sha256, 2)


def test_rotated_keys_still_open_older_files_and_a_missing_key_never_yields_garbage(acme):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        batch = received([row(1)])
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):  # rotated: newest first, the old one kept
        assert checked(batch).valid == 1
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]), pytest.raises(filecrypt.FileUnreadable):  # the old key dropped too early
        filecrypt.read(default_storage, batch.file.name)


def test_a_batch_that_fails_loses_its_file_and_says_to_upload_again(acme, django_capture_on_commit_callbacks):
    content = to_csv([row(1)]) + b'HT2,"unfinished\n' + b"x," * 70000
    batch = received([], content=content)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.validate_batch(batch=batch) is None
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and batch.file_error.code == "bad_csv"
    assert batch.file.name == "" and batch.file_deleted_at is not None
    assert not default_storage.exists(f"intake/{batch.pk}/original.csv")


@pytest.mark.parametrize("commit", [False, True])
def test_an_api_or_command_import_keeps_no_file_once_answered(acme, django_capture_on_commit_callbacks, commit):
    with django_capture_on_commit_callbacks(execute=True):
        batch, verdict = services.import_now(
            content=to_csv([row(1, contract_no=f"ONCE-{commit:d}")]), original_name="api.csv", commit=commit, source=BatchSource.API
        )
    batch.refresh_from_db()
    assert verdict.valid == 1 and batch.file.name == "" and batch.file_deleted_at is not None


def test_the_file_is_deleted_in_its_lenders_schema_even_when_the_commit_comes_after_leaving_it(world, django_capture_on_commit_callbacks):
    """One transaction may import for several lenders (the demo seeds two): the deletion, run at commit, must look for
    the batch in the schema it was made in, not wherever the connection is by then."""
    with django_capture_on_commit_callbacks(execute=True):
        with tenant_context(world.lenders["acme"]):
            batch, verdict = services.import_now(
                content=to_csv([row(1, contract_no="SCHEMA-ONCE")]), original_name="api.csv", commit=True, source=BatchSource.API
            )
    with tenant_context(world.lenders["acme"]):
        batch.refresh_from_db()
        assert verdict.valid == 1 and batch.file.name == "" and batch.file_deleted_at is not None


def test_a_page_upload_waiting_to_be_mapped_or_committed_keeps_its_file(acme, django_capture_on_commit_callbacks):
    batch = received([row(1)])
    with django_capture_on_commit_callbacks(execute=True):
        checked(batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALIDATED and batch.has_file and default_storage.exists(batch.file.name)


def test_the_retention_task_deletes_old_files_in_any_state_and_keeps_fresh_ones(acme, django_capture_on_commit_callbacks):
    now = timezone.now()
    abandoned = received([row(1)])  # never mapped or checked
    checked_not_committed = received([row(2)])
    checked(checked_not_committed)
    fresh = received([row(3)])
    old = now - datetime.timedelta(days=8)
    ImportBatch.objects.filter(pk__in=[abandoned.pk, checked_not_committed.pk]).update(created_at=old)
    old_payment = importing.keep_checked_file(b"contract_no,paid_on,amount,reference\nHT1,2026-01-02,1.00,R1\n")
    fresh_payment = importing.keep_checked_file(b"contract_no,paid_on,amount,reference\nHT1,2026-01-02,1.00,R2\n")
    os.utime(default_storage.path(old_payment), (old.timestamp(), old.timestamp()))

    with override_settings(IMPORT_FILE_RETENTION_DAYS=7), django_capture_on_commit_callbacks(execute=True):
        assert retention.purge_expired_files(now=now) == {"import_files": 2, "payment_files": 1}
        assert retention.purge_expired_files(now=now) == {"import_files": 0, "payment_files": 0}  # twice is once

    for batch in (abandoned, checked_not_committed):
        batch.refresh_from_db()
        assert batch.file.name == "" and batch.file_deleted_at is not None
        assert not default_storage.exists(f"intake/{batch.pk}/original.csv")
        # Still waiting when its file went: it fails with the reason, so nobody tries to import a file that is gone.
        assert batch.status == BatchStatus.FAILED and batch.file_error.code == "file_deleted"
        assert "upload it again" in batch.file_error.message
    fresh.refresh_from_db()
    assert fresh.has_file and fresh.status == BatchStatus.MAPPING and default_storage.exists(fresh.file.name)
    assert not default_storage.exists(old_payment) and default_storage.exists(fresh_payment)
    importing.discard_checked_file(fresh_payment)


def test_the_batch_page_says_when_the_file_was_deleted(world, client_for, django_capture_on_commit_callbacks):
    with tenant_context(world.lenders["acme"]):
        batch = received([row(1)])
        checked(batch)
        with django_capture_on_commit_callbacks(execute=True):
            retention.purge_expired_files(days=0, now=timezone.now() + datetime.timedelta(seconds=1))
        batch.refresh_from_db()
    page = client_for("acme_manager", host="acme").get(f"/intake/{batch.pk}/").content.decode()
    assert f"The file itself was deleted on {timezone.localtime(batch.file_deleted_at):%Y-%m-%d %H:%M}" in page
    assert batch.sha256[:12] in page and "upload it again" in page


def test_a_job_run_again_after_the_file_is_gone_fails_the_batch_with_a_clear_reason(acme, django_capture_on_commit_callbacks):
    manager = acme.people["acme_manager"].user
    batch = received([row(1, contract_no="GONE-0001")])
    checked(batch)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_commit(batch=batch, user=manager, organisation=acme.orgs["acme"])
    services.discard_file(batch_id=batch.pk)  # e.g. the retention task ran before the (redelivered) job
    execute(job.pk)
    job = Job.objects.get(pk=job.pk)
    batch.refresh_from_db()
    assert job.status == JobStatus.DONE and "was deleted on" in job.message and "upload it again" in job.message
    assert batch.status == BatchStatus.FAILED and batch.file_error.code == "file_deleted"
    assert not Case.objects.filter(contract_no="GONE-0001").exists()


def test_a_commit_job_run_again_after_the_commit_deleted_the_file_changes_nothing(acme, django_capture_on_commit_callbacks):
    manager = acme.people["acme_manager"].user
    batch = received([row(1, contract_no="AGAIN-0001")])
    checked(batch)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_commit(batch=batch, user=manager, organisation=acme.orgs["acme"])
    with django_capture_on_commit_callbacks(execute=True):
        execute(job.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and batch.file.name == ""
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)  # the worker died before it said so; redelivered
    execute(job.pk)
    batch.refresh_from_db()
    assert Job.objects.get(pk=job.pk).status == JobStatus.DONE and batch.status == BatchStatus.COMMITTED and batch.created == 1


# ---------------------------------------------------------------- the size cap, before anything is written

CAP = 1024 * 1024


@pytest.fixture
def capped(tmp_path, media):
    """A 1 MB cap; the storage and Django's temporary upload files in folders of this test's own."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    with override_settings(MAX_UPLOAD_BYTES=CAP, MEDIA_ROOT=media, FILE_UPLOAD_TEMP_DIR=str(temp), FILE_UPLOAD_MAX_MEMORY_SIZE=64 * 1024):
        yield media, temp


def nothing_written(media, temp):
    return [path for folder in (media, temp) for path in folder.rglob("*") if path.is_file()] == []


def batches():
    return ImportBatch.objects.count()


@pytest.fixture
def written(monkeypatch):
    """The chunks Django's temporary-file handler wrote to disk (files over FILE_UPLOAD_MAX_MEMORY_SIZE go there)."""
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    seen = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        seen.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    return seen


@pytest.mark.parametrize("size", [3 * CAP, CAP + 10 * 1024])
def test_an_oversize_upload_on_the_page_is_refused_and_nothing_is_written(world, client_for, capped, written, size):
    client = client_for("acme_manager", host="acme")
    with tenant_context(world.lenders["acme"]):
        before = batches()
    content = to_csv([row(1)]) + b"x" * size
    response = client.post("/intake/", {"file": SimpleUploadedFile("big.csv", content, content_type="text/csv")}, follow=True)
    assert response.status_code == 200 and "The file is larger than 1 MB." in response.content.decode()
    if size > 2 * CAP:  # declared too large: refused before a byte of the body is read
        assert response.redirect_chain == [("/intake/", 302)] and written == []
    else:  # caught while streaming: the storage handlers never got more than the cap
        assert 0 < sum(written) <= CAP
    assert nothing_written(*capped)
    with tenant_context(world.lenders["acme"]):
        assert batches() == before


def test_a_file_over_the_cap_is_skipped_while_streaming_before_it_reaches_storage(rf):
    """The handler itself: it passes chunks on up to the cap and skips the file at the chunk that passes it."""
    from django.core.files.uploadhandler import SkipFile

    from portal.lib.uploads import CappedUploadHandler

    request = rf.post("/")
    handler = CappedUploadHandler(request, max_bytes=CAP)
    handler.new_file("file", "big.csv", "text/csv", 3 * CAP)
    chunk = b"x" * (64 * 1024)
    passed = 0
    with pytest.raises(SkipFile):
        while True:
            assert handler.receive_data_chunk(chunk, passed) == chunk
            passed += len(chunk)
    assert passed == CAP and request.upload_too_large == CAP


@pytest.mark.parametrize("size", [3 * CAP, CAP + 10 * 1024])
def test_an_oversize_upload_to_the_api_is_a_413_and_nothing_is_written(world, capped, written, size):
    with tenant_context(world.lenders["acme"]):
        _token, key = issue_token(name="big files", created_by=world.people["acme_admin"].user)
        before = batches()
    client = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Token {key}")
    content = to_csv([row(1)]) + b"x" * size
    response = client.post("/intake/api/cases/", {"file": SimpleUploadedFile("big.csv", content)})
    assert response.status_code == 413
    assert response.json() == {"detail": "The file is larger than 1 MB.", "code": "too_large"}
    assert sum(written) <= CAP and nothing_written(*capped)
    with tenant_context(world.lenders["acme"]):
        assert batches() == before


def test_an_upload_under_the_cap_still_goes_through(world, client_for, capped, django_capture_on_commit_callbacks):
    client = client_for("acme_manager", host="acme")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/intake/", {"file": SimpleUploadedFile("ok.csv", to_csv([row(1)]), content_type="text/csv")})
    assert response.status_code == 302
    with tenant_context(world.lenders["acme"]):
        batch = ImportBatch.objects.get(pk=response["Location"].strip("/").split("/")[1])
        assert batch.has_file and stored_bytes(batch).startswith(filecrypt.MAGIC)


def test_the_capped_upload_page_still_checks_csrf(world, client_for, capped):
    client = client_for("acme_manager", host="acme")
    client.handler.enforce_csrf_checks = True
    with tenant_context(world.lenders["acme"]):
        before = batches()
    response = client.post("/intake/", {"file": SimpleUploadedFile("ok.csv", to_csv([row(1)]), content_type="text/csv")})
    assert response.status_code == 403
    with tenant_context(world.lenders["acme"]):
        assert batches() == before
