"""Retention of received files (PIPL art. 19: kept no longer than the purpose needs; art. 6: minimum).

Import files are deleted as soon as their batch is committed or has failed; this sweep catches the
rest: batches abandoned at any step (never mapped, checked but never committed, stuck after a worker
died), and checked payment files never recorded. A file older than IMPORT_FILE_RETENTION_DAYS is
deleted whatever its state; a batch that was still waiting fails with the reason, so its page tells the
person to upload the file again. The batch keeps its name, size, SHA-256 and verdict. Runs in the current
lender's schema; safe to run twice.
"""

import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.intake import services as intake_services
from portal.intake.errors import IntakeError
from portal.intake.models import BatchStatus, ImportBatch
from portal.payments import importing

DEFAULT_RETENTION_DAYS = 7


def retention_days() -> int:
    return int(getattr(settings, "IMPORT_FILE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def purge_expired_files(*, now=None, days=None, storage=None) -> dict:
    """Delete import and payment files older than the retention period; returns how many of each."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=retention_days() if days is None else days)
    batches = 0
    expired = ImportBatch.objects.filter(created_at__lt=cutoff, file_deleted_at__isnull=True).exclude(file="")
    for batch_id, status in expired.values_list("pk", "status"):
        if status not in (BatchStatus.COMMITTED, BatchStatus.FAILED):
            # Compare-and-swap on the status: a commit that finished meanwhile keeps its outcome.
            error = IntakeError("file_deleted", when=f"{timezone.localtime(now):%Y-%m-%d %H:%M}")
            if not ImportBatch.objects.filter(pk=batch_id, status=status).update(status=BatchStatus.FAILED, error=error.as_dict()):
                continue
        batches += intake_services.discard_file(batch_id=batch_id, now=now)
    return {"import_files": batches, "payment_files": _purge_payment_files(cutoff, storage or default_storage)}


def _purge_payment_files(cutoff, storage) -> int:
    try:
        _folders, names = storage.listdir(importing.UPLOAD_FOLDER)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in names:
        path = f"{importing.UPLOAD_FOLDER}/{name}"
        try:
            modified = storage.get_modified_time(path)
        except FileNotFoundError:  # recorded (and deleted) meanwhile
            continue
        if modified < cutoff:
            importing.discard_checked_file(path, storage=storage)
            deleted += 1
    return deleted
