"""Batch generation of filing packets (批量立案): one background job builds the packet of each chosen matter and
hands back one ZIP, a PDF per matter plus a summary sheet (claim total, court fee, pages, pre-flight problems).

The job is resumable without duplicates. ``litigation.packets.build_packet`` is idempotent per matter and inputs
(the ``packet_inputs_once`` constraint backs it), every packet commits on its own, and the batch fixes "today" to
the day it was started. So a worker killed mid-batch loses at most the packet it was rendering; when the message
is redelivered (acks_late + reject_on_worker_lost, portal.jobs) or the job is resumed, the packets already built
come back as they are and the batch continues from there. The ZIP is assembled only after every packet exists,
one stored packet at a time, into a temporary file: memory stays flat however many matters there are.

Pure helpers (``batch_key``, ``packet_filename``, ``summary_rows``, ``summary_csv``, ``summary_xlsx``, ``write_zip``)
take values and return values; the handler ``build_packet_batch`` is the only part that touches the database.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _, gettext_lazy, ngettext

from portal.jobs.models import Job, JobStatus
from portal.jobs.services import job_handler
from portal.lib.money import to_fen
from portal.lib.spreadsheet import csv_bytes, neutralise

KIND = "packet_batch"
MAX_MATTERS = 2000  # one batch; a bigger book is split by filters (a court, a firm) into several batches
BUILD_SHARE = 90  # per cent of the progress bar spent building packets; the rest on packing the ZIP
AMOUNT_FORMAT = "#,##0.00"

# ---------------------------------------------------------------- pure helpers


def batch_key(matter_ids: Iterable, user_id, day: datetime.date) -> str:
    """The job key of a batch: the same matters, by the same person, on the same day start one job (a double click,
    a resubmitted form). Order and duplicates of the ids do not matter."""
    ids = sorted({str(value) for value in matter_ids})
    digest = hashlib.sha256("\n".join([*ids, f"user:{user_id}", f"day:{day.isoformat()}"]).encode()).hexdigest()
    return f"{KIND}:{digest}"


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def packet_filename(number: str, debtor_name: str) -> str:
    """ "<matter no.>-<debtor>.pdf": a name that unpacks safely on Windows and macOS (no separators, no reserved
    characters); the matter number alone keeps it unique."""
    name = _UNSAFE.sub("_", (debtor_name or "").strip()).strip(" ._")[:60]
    stem = f"{_UNSAFE.sub('_', number)}-{name}" if name else _UNSAFE.sub("_", number)
    return f"{stem}.pdf"


@dataclass
class SummaryRow:
    """One matter of the batch as the summary sheet shows it."""

    matter_id: str
    number: str
    debtor: str
    court: str
    built: bool
    claim_total: Decimal | None = None
    court_fee: Decimal | None = None
    pages: int | None = None
    sha256: str = ""
    packet_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return packet_filename(self.number, self.debtor)


def problem_texts(problems) -> list[str]:
    """Pre-flight problems in words, from Problem objects (a refused build) or their JSON (kept on a packet)."""
    texts = []
    for problem in problems or []:
        data = (
            problem
            if isinstance(problem, dict)
            else {
                "message": getattr(problem, "message", str(problem)),
                "blocking": getattr(problem, "blocking", True),
                "overridden": getattr(problem, "overridden", None),
            }
        )
        text = str(data.get("message") or data.get("code") or "")
        overridden = data.get("overridden")
        if overridden:
            text = _("%(problem)s (overridden: %(reason)s)") % {"problem": text, "reason": overridden.get("reason", "")}
        elif not data.get("blocking", True):
            text = _("%(problem)s (warning)") % {"problem": text}
        texts.append(text)
    return texts


def summary_columns() -> list[str]:
    return [
        _("Matter no."),
        _("Debtor"),
        _("Court"),
        _("Status"),
        _("Claim total (CNY)"),
        _("Court fee payable (CNY)"),
        _("Pages"),
        _("Packet SHA-256"),
        _("Pre-flight problems"),
    ]


def summary_rows(rows: Iterable[SummaryRow]) -> list[list]:
    """The summary as a table: a heading, one line per matter in the batch's order, and the totals of the packets
    built (the claims filed and the acceptance fees to prepay, 诉讼费用交纳办法 art. 20)."""
    table = [summary_columns()]
    claims = fees = Decimal("0.00")
    pages = 0
    for row in rows:
        table.append(
            [
                row.number,
                row.debtor,
                row.court,
                _("Built") if row.built else _("Blocked"),
                to_fen(row.claim_total) if row.claim_total is not None else "",
                to_fen(row.court_fee) if row.court_fee is not None else "",
                row.pages if row.pages is not None else "",
                row.sha256,
                "; ".join(row.problems),
            ]
        )
        if row.built:
            claims += to_fen(row.claim_total or 0)
            fees += to_fen(row.court_fee or 0)
            pages += row.pages or 0
    table.append([_("Total of the packets built"), "", "", "", claims, fees, pages, "", ""])
    return table


def summary_csv(rows: Iterable[SummaryRow]) -> bytes:
    """UTF-8 with a BOM, every text cell neutralised (portal.lib.spreadsheet)."""
    return csv_bytes(summary_rows(rows))


class _FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose entries written by name get a fixed time: openpyxl writes its parts by name, stamped with
    the clock, which would make two summaries of the same batch differ."""

    fixed_date_time = (1980, 1, 1, 0, 0, 0)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zip_entry(zinfo_or_arcname, self.fixed_date_time)
        return super().writestr(zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl writes each worksheet to a temporary file and adds it with write(), which stamps the file's mtime.
        with open(filename, "rb") as handle:
            data = handle.read()
        return self.writestr(arcname or filename, data, compress_type=compress_type, compresslevel=compresslevel)


def summary_xlsx(rows: Iterable[SummaryRow], *, date_time=(1980, 1, 1, 0, 0, 0)) -> bytes:
    """The same table as an Excel sheet, amounts as numbers; the same rows give the same bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    table = summary_rows(rows)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = neutralise(_("Summary"))[:31]
    bold = Font(bold=True)
    for values in table:
        sheet.append([neutralise(value) for value in values])
    for cell in sheet[1]:
        cell.font = bold
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2):
        row[0].number_format = "@"
        row[4].number_format = AMOUNT_FORMAT
        row[5].number_format = AMOUNT_FORMAT
    for letter, width in zip("ABCDEFGHI", (16, 12, 26, 10, 16, 16, 8, 66, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    stamp = datetime.datetime(*date_time)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "Caseport"
    buffer = io.BytesIO()
    archive = _FixedTimeZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    archive.fixed_date_time = date_time
    ExcelWriter(workbook, archive).save()  # closes the archive
    return buffer.getvalue()


def zip_entry(name: str, date_time) -> zipfile.ZipInfo:
    """An entry with a fixed time and permissions, deflated: the same content gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever machine packs it
    info.external_attr = 0o644 << 16
    return info


def write_zip(target, entries: Iterable[tuple[str, Callable[[], bytes]]], *, date_time, on_entry=None) -> int:
    """Write ``entries`` — (name, function returning the bytes) — to the open binary file ``target`` in name order,
    fetching each entry's bytes only when it is written and dropping them before the next: one entry in memory at a
    time. ``on_entry(count)`` after each. Returns the number of entries."""
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, content in sorted(entries, key=lambda entry: entry[0]):
            archive.writestr(zip_entry(name, date_time), content(), compresslevel=6)
            count += 1
            if on_entry is not None:
                on_entry(count)
    return count


def batch_date(job) -> datetime.date:
    """The day the batch was started: the packets' "today" (dates printed, cut-off defaults), so a batch resumed
    after midnight builds the same inputs and finds the packets it already built."""
    return timezone.localdate(job.created_at)


# ---------------------------------------------------------------- the job


@job_handler(
    KIND,
    permission="packet.build",
    label=gettext_lazy("Filing packets, in a batch"),
    done_url="litigation-batch:packet-batch-new",
    done_label=gettext_lazy("Start another batch"),
)
def build_packet_batch(job, report):
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return _build(job, report)


def _build(job, report):
    from tenants.models import User

    from .models import Matter, Packet

    by = User.objects.filter(pk=job.params.get("requested_by")).first()
    asked = [str(value) for value in job.params.get("matter_ids") or []]
    # Re-checked here: only matters of this schema (the view already kept those the person sees), in a stable order.
    ids = [str(pk) for pk in Matter.objects.filter(pk__in=uuids(asked)).order_by("number", "id").values_list("pk", flat=True)]
    total = len(ids)
    today = batch_date(job)
    rows = []
    for done, matter_id in enumerate(ids, start=1):
        matter = Matter.objects.select_related("debtor").get(pk=matter_id)
        rows.append(_build_one(matter, by=by, job=job, today=today))
        report(done * BUILD_SHARE // max(total, 1), f"{done} / {total}")

    date_time = (today.year, today.month, today.day, 0, 0, 0)
    built = [row for row in rows if row.built]

    def pdf(packet_id):
        from .packets import packet_bytes

        return lambda: packet_bytes(Packet.objects.get(pk=packet_id))

    entries = [(row.filename, pdf(row.packet_id)) for row in built]
    entries.append(("summary.csv", lambda: summary_csv(rows)))
    entries.append(("summary.xlsx", lambda: summary_xlsx(rows, date_time=date_time)))
    packing = _("Packing the ZIP")

    def packed(count):
        report(BUILD_SHARE + count * (99 - BUILD_SHARE) // len(entries), f"{packing}: {count} / {len(entries)}")

    with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as handle:
        write_zip(handle, entries, date_time=date_time, on_entry=packed)
        handle.seek(0)
        stored = _store_result(job, handle)
    filename = f"filing-packets-{today:%Y%m%d}-{str(job.pk)[:8]}.zip"
    Job.objects.filter(pk=job.pk).update(result=stored, result_name=filename)
    _audit(job, by, total=total, built=len(built))
    blocked = total - len(built)
    message = ngettext("%(built)s packet built", "%(built)s packets built", len(built)) % {"built": len(built)}
    if blocked:
        message += "; " + ngettext("%(blocked)s matter blocked by pre-flight", "%(blocked)s matters blocked by pre-flight", blocked) % {
            "blocked": blocked
        }
    return {
        "message": message,
        "result_data": {
            "matters": total,
            "built": len(built),
            "blocked": blocked,
            "not_found": len(set(asked)) - total,
            "claim_total": str(sum((to_fen(row.claim_total or 0) for row in built), Decimal("0.00"))),
            "court_fee": str(sum((to_fen(row.court_fee or 0) for row in built), Decimal("0.00"))),
        },
    }


def _build_one(matter, *, by, job, today) -> SummaryRow:
    """Build (or find) the packet of one matter, in its own transaction; a matter the pre-flight blocks is a row of
    the summary with its problems, not a failure of the batch."""
    from .packets import PacketBlocked, build_packet

    row = SummaryRow(matter_id=str(matter.pk), number=matter.number, debtor=matter.debtor.name, court=matter.court, built=False)
    try:
        # build_packet commits the packet on its own (and finds the one a previous delivery of this batch built).
        packet = build_packet(matter, by=by, job_id=job.pk, today=today)
    except PacketBlocked as blocked:
        row.problems = problem_texts(blocked.problems)
        claim = _claim_or_none(matter)
        if claim is not None:
            row.claim_total, row.court_fee = claim.total, claim.payable_fee
        return row
    row.built = True
    row.claim_total, row.court_fee, row.pages = packet.claim_total, packet.court_fee, packet.pages
    row.sha256, row.packet_id = packet.sha256, str(packet.pk)
    row.problems = problem_texts(packet.problems)
    return row


def _claim_or_none(matter):
    """The claim of a blocked matter, when it can be calculated at all (its pre-flight problem may be the reason)."""
    from .claims import claim_for

    try:
        return claim_for(matter)
    except ValueError:  # MissingElement included: the summary's problem column says what is missing
        return None


def _store_result(job, handle) -> str:
    # A fixed name under the job's folder: a resumed job overwrites its ZIP, never leaves a second one.
    name = f"jobs/{job.pk}/filing-packets.zip"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, File(handle, name="filing-packets.zip"))


def _audit(job, by, *, total, built):
    from portal.audit.log import Action, record

    # PIPL art. 51: a bulk export of debtors' particulars is logged, as the audit export is.
    record(Action.EXPORT, actor=by, object_type="jobs.job", object_id=str(job.pk), matters=total, packets=built)


def uuids(values):
    """The well-formed UUIDs among submitted values (checkboxes, job parameters); the others are dropped."""
    import uuid

    found = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


# ---------------------------------------------------------------- starting and resuming


def start_batch(*, matter_ids: Iterable, user, organisation, language: str = "", today: datetime.date | None = None) -> Job:
    """Start the batch job for ``matter_ids`` (already filtered to the matters the person sees), once per person,
    matters and day; a batch that failed is resumed instead (it continues where it stopped)."""
    from portal.jobs.services import start_job

    ids = sorted({str(value) for value in matter_ids})
    if not ids:
        raise ValueError("no matters")
    key = batch_key(ids, getattr(user, "pk", None), today or timezone.localdate())
    job = start_job(
        kind=KIND,
        params={"matter_ids": ids, "requested_by": getattr(user, "pk", None), "language": language},
        user=user,
        organisation=organisation,
        key=key,
    )
    if job.status == JobStatus.FAILED:
        resume(job)
        job.refresh_from_db()
    return job


def resume(job) -> bool:
    """Queue a failed batch again — or one left RUNNING by a worker that died, as an operator would — by
    compare-and-swap back to QUEUED, then enqueue after commit. The packets already built are found again, so
    resuming never duplicates one. (A batch still running on a live worker must not be resumed: two deliveries
    would build side by side; packet_inputs_once still keeps each packet once.)"""
    from portal.jobs.tasks import run_job

    updated = Job.objects.filter(pk=job.pk, kind=KIND, status__in=[JobStatus.FAILED, JobStatus.RUNNING]).update(
        status=JobStatus.QUEUED, error="", finished_at=None
    )
    if updated:
        transaction.on_commit(lambda: run_job.delay(str(job.pk)))
    return bool(updated)
