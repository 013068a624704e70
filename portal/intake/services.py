"""Importing cases, from a received file to committed cases: the functions the page, the API, the command and the jobs call.

receive_file → (set_mapping) → start_validation / validate_batch → start_commit / commit_batch.
import_now does it all at once for the command line and small API requests.

The file as received is stored sealed with the field keys (portal.lib.filecrypt) and only for as long
as the batch needs it: it is deleted once the batch is committed or has failed, once a check no person
will follow up is done (API, command line), and at the latest by the retention task
(portal.retention). The batch keeps the file's name, size, SHA-256 and the verdict.
"""

import hashlib
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django_tenants.utils import schema_context

from portal import limitation
from portal.audit.log import Action, record
from portal.jobs.services import start_job
from portal.lib import filecrypt
from portal.models import Case

from . import parsing
from .committing import ANY_KEY, commit_rows, keys
from .errors import IntakeError
from .mapping import covers, resolve
from .models import BatchSource, BatchStatus, ColumnMapping, ImportBatch
from .validation import Verdict, validate

VALIDATE_JOB = "case_import_validate"
COMMIT_JOB = "case_import_commit"


@dataclass(frozen=True)
class IntegrationActor:
    """Who acted, for the audit log, when a lender's system called with a token."""

    token_id: uuid.UUID
    prefix: str
    pk: None = None

    @property
    def email(self):
        return f"token:{self.prefix}"


def _lender_organisation():
    return getattr(getattr(connection, "tenant", None), "organisation", None)


def _read(content: bytes, *, json_rows: bool = False):
    return parsing.read_table(content, max_bytes=settings.MAX_UPLOAD_BYTES, json_rows=json_rows)


def receive_file(
    *,
    content: bytes,
    original_name: str,
    source: str = BatchSource.WEB,
    created_by=None,
    token=None,
    mapping_name: str = "",
    json_rows: bool = False,
    commit_after_validation: bool = False,
):
    """Keep a received file as a batch and match its columns: (batch, mapping).

    Raises IntakeError, keeping nothing, when the file cannot be read at all.
    The columns are matched by the template's names and Chinese aliases, by
    the saved mapping named, or by the first saved mapping that fits the
    file; when none completes the match the batch waits for a person to map it.
    """
    table = _read(content, json_rows=json_rows)
    table.check_has_rows()
    saved = None
    if mapping_name:
        saved = ColumnMapping.objects.filter(name=mapping_name).first()
        if saved is None:
            raise IntakeError("unknown_mapping", name=mapping_name)
    mapping = resolve(table.headers, saved.mapping if saved else None)
    if not mapping.complete and saved is None:
        for candidate in ColumnMapping.objects.all():
            if covers(candidate.mapping, table.headers):
                fitted = resolve(table.headers, candidate.mapping)
                if fitted.complete:
                    mapping, saved = fitted, candidate
                    break
    batch = ImportBatch(
        id=uuid.uuid4(),
        original_name=(original_name or "")[:255],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        format=table.format,
        encoding=table.encoding,
        source=source,
        headers=[str(header) for header in table.headers],
        mapping=mapping.as_saved() if mapping.complete else {},
        mapping_name=saved.name if saved else "",
        status=BatchStatus.MAPPING,
        created_by_id=getattr(created_by, "pk", None),
        token_id=getattr(token, "pk", None),
        commit_after_validation=commit_after_validation,
    )
    # Sealed from the moment it is written (PIPL art. 51); the plain bytes never touch the storage.
    batch.file.save("original", ContentFile(filecrypt.seal(content)), save=False)
    batch.save()
    return batch, mapping


def discard_file(*, batch_id, now=None) -> bool:
    """Delete a batch's stored file and note when; the batch keeps its name, size, SHA-256 and verdict.

    Returns whether there was a file to delete. Safe to call twice."""
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None or not batch.file.name:
        return False
    filecrypt.delete(batch.file.storage, batch.file.name)
    ImportBatch.objects.filter(pk=batch_id).update(file="", file_deleted_at=now or timezone.now())
    return True


def _discard_file_after_commit(batch_id):
    """Delete the file once the surrounding transaction has committed (at once when there is none).

    In the batch's own schema: by the time an outer transaction commits, the connection may be serving another
    lender (the demo seeds two in one transaction), and the batch lives in this one's."""
    schema = connection.schema_name

    def discard():
        with schema_context(schema):
            discard_file(batch_id=batch_id)

    transaction.on_commit(discard)


def _fail(batch: ImportBatch, error: IntakeError, *, statuses=None) -> bool:
    """Mark the batch failed with the reason, and delete its file: a failed batch is uploaded again, never resumed."""
    batches = ImportBatch.objects.filter(pk=batch.pk)
    if statuses is not None:
        batches = batches.filter(status__in=statuses)
    failed = batches.update(status=BatchStatus.FAILED, error=error.as_dict())
    if failed:
        _discard_file_after_commit(batch.pk)
    return bool(failed)


def suggested_mapping(batch: ImportBatch):
    """What the mapping step shows first: the batch's mapping, else the saved mapping chosen on upload, else names and aliases."""
    if batch.mapping:
        return resolve(batch.headers, batch.mapping)
    saved = ColumnMapping.objects.filter(name=batch.mapping_name).first() if batch.mapping_name else None
    return resolve(batch.headers, saved.mapping if saved else None)


def set_mapping(*, batch: ImportBatch, chosen: dict, save_as: str = "", user=None):
    """Use the columns a person chose (and keep them under a name for the next export); returns the mapping."""
    mapping = resolve(batch.headers, chosen, fallback=False)
    mapping.check()
    if save_as:
        ColumnMapping.objects.update_or_create(
            name=save_as, defaults={"mapping": mapping.as_saved(), "created_by_id": getattr(user, "pk", None)}
        )
    ImportBatch.objects.filter(pk=batch.pk).update(mapping=mapping.as_saved(), mapping_name=save_as)
    batch.mapping, batch.mapping_name = mapping.as_saved(), save_as
    return mapping


def start_validation(*, batch: ImportBatch, user=None, organisation=None):
    """Hand the batch to a worker to check; None if it is already being worked on or was imported."""
    with transaction.atomic():
        claimed = (
            ImportBatch.objects.filter(pk=batch.pk, status__in=[BatchStatus.MAPPING, BatchStatus.VALIDATED, BatchStatus.FAILED])
            .exclude(mapping={})
            .update(status=BatchStatus.VALIDATING, error={})
        )
        if not claimed:
            return None
        job = start_job(kind=VALIDATE_JOB, params={"batch": str(batch.pk)}, user=user, organisation=organisation or _lender_organisation())
        ImportBatch.objects.filter(pk=batch.pk).update(job_id=job.pk)
    batch.refresh_from_db()
    return job


def start_commit(*, batch: ImportBatch, user=None, organisation=None):
    """Hand a checked batch to a worker to import; None unless it is checked, has valid rows and is not already importing."""
    with transaction.atomic():
        claimed = ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.VALIDATED, valid__gt=0).update(
            status=BatchStatus.COMMITTING, error={}
        )
        if not claimed:
            return None
        job = start_job(kind=COMMIT_JOB, params={"batch": str(batch.pk)}, user=user, organisation=organisation or _lender_organisation())
        ImportBatch.objects.filter(pk=batch.pk).update(job_id=job.pk)
    batch.refresh_from_db()
    return job


def _check_file(batch: ImportBatch, *, report=None, progress_share: int = 95) -> Verdict:
    """Read the stored file and check every row with the batch's mapping.

    IntakeError("file_deleted") when the file is no longer kept (a job run again after the batch was
    committed, failed or expired): nothing can be checked, and the person is told to upload it again."""
    try:
        content = filecrypt.read(batch.file.storage, batch.file.name if batch.file_deleted_at is None else "")
    except filecrypt.FileGone:
        raise IntakeError("file_deleted", when=f"{timezone.localtime(batch.file_deleted_at or timezone.now()):%Y-%m-%d %H:%M}") from None
    table = _read(content, json_rows=batch.format == "json")
    mapping = resolve(table.headers, batch.mapping, fallback=False)
    mapping.check()

    def progress(fraction, rows):
        if report is not None:
            report(int(fraction * progress_share), _("%(rows)s rows checked") % {"rows": f"{rows:,}"})

    return validate(table, mapping, report=progress)


def _existing_count(contract_nos: list) -> int:
    if not contract_nos:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {connection.ops.quote_name(Case._meta.db_table)} WHERE contract_no = {ANY_KEY}", [keys(contract_nos)]
        )
        return cursor.fetchone()[0]


def _verdict_fields(verdict: Verdict) -> dict:
    return {
        "rows": verdict.rows,
        "valid": verdict.valid,
        "rejected_total": len(verdict.errors),
        "rejected": [error.as_dict() for error in verdict.errors[: ImportBatch.MAX_STORED_ERRORS]],
    }


def validate_batch(*, batch: ImportBatch, report=None) -> Verdict | None:
    """Check the whole file and store the verdict on the batch (status "checked").

    A problem with the file as a whole marks the batch failed and returns None.
    """
    try:
        verdict = _check_file(batch, report=report)
    except IntakeError as error:
        _fail(batch, error, statuses=[status for status in BatchStatus.values if status != BatchStatus.COMMITTED])
        batch.refresh_from_db()
        return None
    except Exception:
        _fail(batch, IntakeError("check_failed"), statuses=[BatchStatus.VALIDATING])
        raise
    existing = _existing_count([row.contract_no for row in verdict.clean])
    ImportBatch.objects.filter(pk=batch.pk, status__in=[BatchStatus.VALIDATING, BatchStatus.MAPPING]).update(
        status=BatchStatus.VALIDATED,
        validated_at=timezone.now(),
        would_create=verdict.valid - existing,
        would_update=existing,
        **_verdict_fields(verdict),
    )
    batch.refresh_from_db()
    return verdict


def stored_verdict(batch: ImportBatch) -> Verdict:
    """The verdict as stored on the batch (row errors beyond MAX_STORED_ERRORS are counted, not kept)."""
    return Verdict(
        rows=batch.rows,
        valid=batch.valid,
        created=batch.created,
        updated=batch.updated,
        unchanged=batch.unchanged,
        errors=batch.row_errors(),
    )


def commit_batch(*, batch: ImportBatch, report=None, verdict: Verdict | None = None, actor=None) -> Verdict:
    """Import the valid rows of a checked batch, all in one transaction; a second call changes nothing.

    The file is checked again (the rules may depend on today's date), unless
    the caller has just done so and passes the verdict.
    """
    batch.refresh_from_db()
    if batch.status == BatchStatus.COMMITTED:
        return stored_verdict(batch)
    if batch.status not in (BatchStatus.VALIDATED, BatchStatus.COMMITTING):
        raise ValueError(f"batch {batch.pk} is {batch.status}, not checked")
    if verdict is None or verdict.mapped is None:
        try:
            verdict = _check_file(batch, report=report, progress_share=50)
        except IntakeError as error:
            _fail(batch, error, statuses=[BatchStatus.VALIDATED, BatchStatus.COMMITTING])
            batch.refresh_from_db()
            raise
    if report is not None:
        report(55, _("Writing %(rows)s cases to the database") % {"rows": f"{verdict.valid:,}"})
    try:
        return _commit_checked(batch, verdict, actor)
    except Exception:
        # Everything was rolled back; say so, and let a person start it again.
        ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.COMMITTING).update(
            status=BatchStatus.VALIDATED, error=IntakeError("commit_failed").as_dict()
        )
        raise


def _commit_checked(batch: ImportBatch, verdict: Verdict, actor) -> Verdict:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == BatchStatus.COMMITTED:  # a redelivered job that lost the race
            return stored_verdict(locked)
        wording = limitation.evidence_template(gettext_lazy("Import of %(file)s, row %(row)s"))  # once, not per row
        outcome = commit_rows(
            rows=verdict.clean,
            mapped=verdict.mapped,
            source=f"import:{batch.pk}",
            evidence=lambda row: wording % {"file": batch.original_name[:200], "row": row},
            history={"import": str(batch.pk), "user": batch.created_by_id, "token": str(batch.token_id or "")},
        )
        verdict.created, verdict.updated, verdict.unchanged = outcome.created, outcome.updated, outcome.unchanged
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.COMMITTED,
            committed_at=timezone.now(),
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            error={},
            **_verdict_fields(verdict),
        )
        record(
            Action.CREATE,
            actor=actor or _actor_of(batch),
            organisation=_lender_organisation(),
            object_type="intake.importbatch",
            object_id=str(batch.pk),
            file=batch.original_name,
            rows=verdict.rows,
            valid=verdict.valid,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
        )
        _discard_file_after_commit(batch.pk)  # the cases are in; the file has served its purpose
    batch.refresh_from_db()
    return verdict


def _actor_of(batch: ImportBatch):
    if batch.token_id:
        from .models import IntegrationToken

        token = IntegrationToken.objects.filter(pk=batch.token_id).first()
        return IntegrationActor(token_id=batch.token_id, prefix=token.prefix if token else "")
    if batch.created_by_id:
        from tenants.models import User

        return User.objects.filter(pk=batch.created_by_id).first()
    return None


def import_now(
    *,
    content: bytes,
    original_name: str,
    commit: bool,
    source: str = BatchSource.COMMAND,
    json_rows: bool = False,
    mapping_name: str = "",
    created_by=None,
    token=None,
):
    """Check a file and, with ``commit``, import its valid rows, here and now: (batch, verdict).

    The command line and the API's small requests use this; a file whose
    columns cannot be matched is refused with IntakeError (a person maps
    columns on the page).
    """
    batch, mapping = receive_file(
        content=content,
        original_name=original_name,
        source=source,
        created_by=created_by,
        token=token,
        mapping_name=mapping_name,
        json_rows=json_rows,
    )
    require_complete_mapping(batch=batch, mapping=mapping)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    verdict = validate_batch(batch=batch)
    if verdict is None:
        raise batch.file_error
    if commit and verdict.valid:
        actor = IntegrationActor(token_id=token.pk, prefix=token.prefix) if token is not None else created_by
        verdict = commit_batch(batch=batch, verdict=verdict, actor=actor)
    else:
        finish_unattended_check(batch=batch)
    return batch, verdict


def finish_unattended_check(*, batch: ImportBatch):
    """A check that no person will follow up (API, command line: nobody maps or commits it later) is final: drop the file."""
    if batch.source != BatchSource.WEB:
        _discard_file_after_commit(batch.pk)


def require_complete_mapping(*, batch: ImportBatch, mapping):
    """Where no person will map the columns (command line, API): an incomplete match fails the batch, with the reason."""
    try:
        mapping.check()
    except IntakeError as error:
        _fail(batch, error)
        raise
