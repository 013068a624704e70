"""Lender payment files (还款流水): CSV or XLSX, checked whole before anything is recorded.

Columns: contract_no, paid_on, amount, reference, note (Chinese headers accepted). Every bad row is
named by row (the header is row 1), column and reason; the valid rows are then recorded in one
transaction through services.record_payment, so a file either lands whole or not at all, and
sending it again records nothing twice (the reference is the payment's natural key).

A checked file waiting to be recorded is kept sealed with the field keys (keep_checked_file, PIPL
art. 51) under UPLOAD_FOLDER, deleted once recorded, and at the latest by the retention task
(portal.retention); check_and_record opens a sealed file itself, so whoever reads it back needs no key.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from portal.intake.columns import normalise_header
from portal.intake.errors import ROW_MESSAGES, CellError, IntakeError
from portal.intake.parsing import read_table
from portal.intake.validation import clean_amount, clean_date, clean_text
from portal.lib import filecrypt
from portal.models import Case

from . import services
from .models import Payment, PaymentSource

MAX_BYTES = 10 * 1024 * 1024
UPLOAD_FOLDER = "payment-uploads"
MAX_ROWS = 20_000
PROGRESS_EVERY = 100
COLUMNS = ("contract_no", "paid_on", "amount", "reference", "note")
REQUIRED = ("contract_no", "paid_on", "amount", "reference")
ALIASES = {
    "contract_no": ("contract_no", "合同编号", "合同号", "借款合同编号"),
    "paid_on": ("paid_on", "还款日期", "还款日", "交易日期"),
    "amount": ("amount", "还款金额", "金额", "实还金额"),
    "reference": ("reference", "流水号", "交易流水号", "还款流水号", "参考号"),
    "note": ("note", "备注"),
}
MESSAGES = {
    "unknown_contract": gettext_lazy("No case has contract no. %(value)s."),
    "zero": gettext_lazy("Must be more than zero."),
    "reference_repeated": gettext_lazy("Reference %(value)s already appears on row %(first)s."),
    "reference_taken": gettext_lazy("Reference %(value)s is already recorded for a different payment."),
    "before_loan": gettext_lazy("Before the loan was disbursed."),
}


@dataclass
class PaymentFileResult:
    rows: int = 0
    valid: int = 0
    created: int = 0
    existing: int = 0
    rejected: list = field(default_factory=list)
    file_error: str = ""

    def as_dict(self):
        return {
            "rows": self.rows,
            "valid": self.valid,
            "created": self.created,
            "existing": self.existing,
            "rejected": self.rejected,
            "file_error": self.file_error,
        }


def _header_map(headers) -> dict:
    by_alias = {normalise_header(alias): column for column, aliases in ALIASES.items() for alias in aliases}
    found = {}
    for index, header in enumerate(headers):
        column = by_alias.get(normalise_header(header))
        if column and column not in found:
            found[column] = index
    return found


def _message(code, params) -> str:
    text = str(MESSAGES.get(code) or ROW_MESSAGES[code])
    return text % params if params else text


def check_and_record(
    content: bytes,
    *,
    commit: bool,
    recorded_by=None,
    now: datetime.datetime | None = None,
    json_rows: bool = False,
    report=None,
    source: str = PaymentSource.IMPORT,
) -> PaymentFileResult:
    """Check the whole file; with ``commit``, record the valid rows in one transaction.

    ``report(percent, message)`` hears the progress of the recording (the page's progress bar)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    result = PaymentFileResult()
    try:
        content = filecrypt.unseal(content)  # a file kept by keep_checked_file, read back as stored
    except filecrypt.FileUnreadable:
        result.file_error = str(_("The stored file could not be opened; upload it again."))
        return result
    try:
        table = read_table(content, max_bytes=MAX_BYTES, max_rows=MAX_ROWS, json_rows=json_rows)
        columns = _header_map(table.headers)
        missing = [column for column in REQUIRED if column not in columns]
        if missing:  # a payment file has no column-mapping step: say which names it takes
            result.file_error = _("Required columns are missing: %(columns)s. Use the column names of the template.") % {
                "columns": ", ".join(missing)
            }
            return result
        rows = list(table.rows())
    except IntakeError as error:
        result.file_error = error.message
        return result

    def reject(row, column, code, **params):
        result.rejected.append({"row": row, "column": column, "message": _message(code, params)})

    parsed, first_row_of_reference = [], {}
    for number, cells in rows:
        result.rows += 1
        cell = {column: (cells[index] if index < len(cells) else None) for column, index in columns.items()}
        values, bad = {}, False
        for column, clean in (
            ("contract_no", lambda v: clean_text(v, max_length=64, required=True)),
            ("paid_on", lambda v: clean_date(v, today=today, required=True)),
            ("amount", lambda v: clean_amount(v, required=True)),
            ("reference", lambda v: clean_text(v, max_length=64, required=True)),
            ("note", lambda v: clean_text(v, max_length=300)),
        ):
            try:
                values[column] = clean(cell.get(column))
            except CellError as error:
                reject(number, column, error.code, **error.params)
                bad = True
        if bad:
            continue
        if values["amount"] <= 0:
            reject(number, "amount", "zero")
            continue
        first = first_row_of_reference.setdefault(values["reference"], number)
        if first != number:
            reject(number, "reference", "reference_repeated", value=values["reference"], first=first)
            continue
        parsed.append((number, values))

    found = list(
        Case.objects.filter(contract_no__in={v["contract_no"] for _, v in parsed}).values_list("contract_no", "pk", "disbursed_on")
    )
    cases = {contract_no: pk for contract_no, pk, _disbursed in found}
    disbursed = {pk: disbursed_on for _contract_no, pk, disbursed_on in found}
    recorded = {p.reference: p for p in Payment.objects.filter(reference__in=[v["reference"] for _, v in parsed])}
    valid = []
    for number, values in parsed:
        case_id = cases.get(values["contract_no"])
        if case_id is None:
            reject(number, "contract_no", "unknown_contract", value=values["contract_no"])
            continue
        if disbursed.get(case_id) and values["paid_on"] < disbursed[case_id]:
            reject(number, "paid_on", "before_loan")
            continue
        earlier = recorded.get(values["reference"])
        if earlier is not None and (earlier.case_id, earlier.amount, earlier.paid_on) != (case_id, values["amount"], values["paid_on"]):
            reject(number, "reference", "reference_taken", value=values["reference"])
            continue
        valid.append((case_id, values))
    result.rejected.sort(key=lambda item: (item["row"], COLUMNS.index(item["column"])))
    result.valid = len(valid)
    if not commit or not valid:
        return result
    with transaction.atomic():
        for number, (case_id, values) in enumerate(valid, start=1):
            if report is not None and number % PROGRESS_EVERY == 0:
                report(100 * number // len(valid), _("%(done)s of %(total)s payments") % {"done": number, "total": len(valid)})
            _payment, created = services.record_payment(
                case=Case(pk=case_id),
                amount=values["amount"],
                paid_on=values["paid_on"],
                reference=values["reference"],
                source=source,
                recorded_by=recorded_by,
                note=values["note"],
                now=now,
            )
            if created:
                result.created += 1
            else:
                result.existing += 1
    return result


def template_csv() -> bytes:
    header = ",".join(COLUMNS) + "\r\n"
    example = "HT-2024-000123,2026-11-20,3000.00,BANK-20261120-0001," + _("paid by bank transfer") + "\r\n"
    return ("\ufeff" + header + example).encode("utf-8")


def keep_checked_file(content: bytes, *, storage=None) -> str:
    """Keep a checked file, sealed, until it is recorded; returns its storage name (server-chosen)."""
    return filecrypt.save(storage or default_storage, f"{UPLOAD_FOLDER}/{uuid.uuid4().hex}", content)


def read_checked_file(name: str, *, storage=None) -> bytes:
    """The plain bytes of a kept file; filecrypt.FileGone when it was recorded or expired."""
    return filecrypt.read(storage or default_storage, name)


def discard_checked_file(name: str, *, storage=None) -> None:
    filecrypt.delete(storage or default_storage, name)
