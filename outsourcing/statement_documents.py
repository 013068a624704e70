"""The commission statement (佣金结算单) as a document: one set of rows for CSV, XLSX and PDF.

``build(statement)`` reads the statement's lines once; the three writers only lay the same rows
out. Totals are summed from the rows written (``sum_lines``), so every file reconciles with what
it lists. Spreadsheet text goes through ``neutralise`` (CWE-1236: a payment reference such as
"=HYPERLINK(…)" must stay text); amounts are Decimals with two places, never floats.

The PDF is the document sent to the agency: its SHA-256 is stored when the statement is issued,
and a later download must give the same bytes. So it depends only on the statement: it is always
rendered in the lender's document language (Simplified Chinese), carries the statement's own
approval date as its creation date (no current time), shows no status once approved (approving
freezes everything it shows; issuing changes only the status), fetches nothing (the stylesheet is
read from our static files; every URL is refused) and embeds no file identifier.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.lib.money import format_cny, percent, to_fen
from portal.lib.spreadsheet import csv_bytes, neutralise

from .models import Statement, StatementStatus

PDF_STYLESHEET = "css/statement_pdf.css"
AMOUNT_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Line:
    contract_no: str
    paid_on: datetime.date
    reference: str
    bucket: str
    round: int
    rate: Decimal  # a fraction, as stored (0.1600)
    recovered: Decimal
    commission: Decimal
    payment_id: object = None  # for the screen (open disputes); not written to files
    case_id: object = None
    clawback: bool = False  # a reversed payment's line: dated the reversal, amounts negative
    adjustment: bool = False  # an earlier payment was reversed and this one applied again (民法典 art. 561): the difference

    @property
    def shown_reference(self) -> str:
        """The reference as the files show it, a clawback marked (in the active language: the PDF renders in its own)."""
        if self.clawback:
            marker = _("(reversed: clawback)")  # outside the f-string, where makemessages finds it
        elif self.adjustment:
            marker = _("(applied again after a reversal)")
        else:
            return self.reference
        return f"{self.reference} {marker}"

    @property
    def rate_percent(self) -> Decimal:
        """The rate in per cent for the "Rate (%)" column (portal.lib.money.percent, the one definition)."""
        return percent(self.rate)

    @property
    def round_label(self) -> str:
        from .forms import round_label

        return round_label(self.round)


@dataclass(frozen=True)
class Totals:
    count: int
    recovered: Decimal
    commission: Decimal


def sum_lines(lines) -> Totals:
    """Count and sums of already-rounded line amounts (a pure function: the statement's rule)."""
    count, recovered, commission = 0, Decimal("0.00"), Decimal("0.00")
    for line in lines:
        count += 1
        recovered += line.recovered
        commission += line.commission
    return Totals(count, to_fen(recovered), to_fen(commission))


@dataclass(frozen=True)
class StatementDocument:
    statement: Statement
    lender_name: str
    partner_name: str
    lines: tuple[Line, ...]
    totals: Totals

    @property
    def month(self) -> str:
        return f"{self.statement.period:%Y-%m}"

    @property
    def is_draft(self) -> bool:
        return self.statement.status == StatementStatus.DRAFT

    @property
    def filename_stem(self) -> str:
        return f"{self.statement.number}"

    @property
    def created(self) -> datetime.datetime:
        """The document's date: approval (frozen from then on), or the draft's creation."""
        return self.statement.approved_at or self.statement.created_at


def build(statement: Statement) -> StatementDocument:
    lines = tuple(
        Line(
            contract_no=row.case.contract_no,
            paid_on=row.paid_on,
            reference=row.payment.reference,
            bucket=row.bucket,
            round=row.round,
            rate=row.rate,
            recovered=row.recovered,
            commission=row.commission,
            payment_id=row.payment_id,
            case_id=row.case_id,
            clawback=row.reversal_id is not None,
            adjustment=row.correction_id is not None,
        )
        for row in statement.lines.select_related("case", "payment").order_by(
            "paid_on", "case__contract_no", "payment__reference", F("reversal").asc(nulls_first=True), "id"
        )  # earned, then its clawback
    )
    tenant = getattr(connection, "tenant", None)
    return StatementDocument(
        statement=statement,
        lender_name=getattr(tenant, "name", ""),
        partner_name=statement.partner.name,
        lines=lines,
        totals=sum_lines(lines),
    )


def _person(user) -> str:
    return (getattr(user, "full_name", "") or getattr(user, "email", "")) if user else ""


def header_rows(document: StatementDocument, *, with_status=True) -> list[tuple[str, object]]:
    """(label, value) pairs of the block above the lines; values are text or Decimal amounts."""
    statement = document.statement
    rows = [
        (_("Commission statement no."), statement.number),
        (_("Lender"), document.lender_name),
        (_("Agency"), document.partner_name),
        (_("Month"), document.month),
        (_("Payments up to"), statement.period_end.isoformat()),
    ]
    if with_status:
        rows.append((_("Status"), str(statement.get_status_display())))
    rows += [
        (_("Number of lines"), str(document.totals.count)),
        (_("Total recovered"), document.totals.recovered),
        (_("Total commission"), document.totals.commission),
    ]
    if statement.approved_at:
        rows.append((_("Approved"), f"{_local(statement.approved_at):%Y-%m-%d %H:%M} {_person(statement.approved_by)}".strip()))
    if with_status and statement.issued_at:
        rows.append((_("Issued"), f"{_local(statement.issued_at):%Y-%m-%d %H:%M} {_person(statement.issued_by)}".strip()))
    return rows


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment)


def column_labels() -> list[str]:
    return [
        _("Contract no."),
        _("Paid on"),
        _("Payment reference"),
        _("Bucket"),
        _("Round"),
        _("Rate (%)"),
        _("Recovered (CNY)"),
        _("Commission (CNY)"),
    ]


# ----------------------------------------------------------------- CSV


def to_csv(document: StatementDocument) -> bytes:
    """UTF-8 with a BOM (Excel then reads the Chinese correctly); header block, lines, totals. Written by
    ``portal.lib.spreadsheet.csv_bytes``, which neutralises every text cell; amounts and rates go in as
    Decimals (two places), so a clawback's "-480.00" stays a number."""
    rows = [[label, to_fen(value) if isinstance(value, Decimal) else value] for label, value in header_rows(document)]
    rows.append([])
    rows.append(column_labels())
    for line in document.lines:
        rows.append(
            [
                line.contract_no,
                line.paid_on.isoformat(),
                line.shown_reference,
                line.bucket,
                line.round,
                line.rate_percent,
                to_fen(line.recovered),
                to_fen(line.commission),
            ]
        )
    rows.append([_("Total"), "", "", "", "", "", to_fen(document.totals.recovered), to_fen(document.totals.commission)])
    return csv_bytes(rows)


# ----------------------------------------------------------------- XLSX


def to_xlsx(document: StatementDocument) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = neutralise(document.statement.number)[:31]
    bold = Font(bold=True)
    for label, value in header_rows(document):
        sheet.append([neutralise(label), to_fen(value) if isinstance(value, Decimal) else neutralise(value)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        if isinstance(value, Decimal):
            sheet.cell(row=sheet.max_row, column=2).number_format = AMOUNT_FORMAT
    sheet.append([])
    sheet.append([neutralise(label) for label in column_labels()])
    heading_row = sheet.max_row
    for cell in sheet[heading_row]:
        cell.font = bold
    for line in document.lines:
        sheet.append(
            [
                neutralise(line.contract_no),
                line.paid_on,
                neutralise(line.shown_reference),
                neutralise(line.bucket),
                line.round,
                line.rate_percent,
                to_fen(line.recovered),
                to_fen(line.commission),
            ]
        )
        row = sheet.max_row
        sheet.cell(row=row, column=1).number_format = "@"
        sheet.cell(row=row, column=2).number_format = "yyyy-mm-dd"
        sheet.cell(row=row, column=3).number_format = "@"
        sheet.cell(row=row, column=6).number_format = "0.00"
        sheet.cell(row=row, column=7).number_format = AMOUNT_FORMAT
        sheet.cell(row=row, column=8).number_format = AMOUNT_FORMAT
    sheet.append([neutralise(_("Total")), None, None, None, None, None, document.totals.recovered, document.totals.commission])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    sheet.cell(row=sheet.max_row, column=7).number_format = AMOUNT_FORMAT
    sheet.cell(row=sheet.max_row, column=8).number_format = AMOUNT_FORMAT
    for letter, width in zip("ABCDEFGH", (24, 12, 24, 8, 8, 10, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = sheet.cell(row=heading_row + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------- PDF

_fonts = None
_fonts_lock = threading.Lock()


# fontTools, which subsets the embedded fonts, stamps each subset's "head" table with the current
# time unless SOURCE_DATE_EPOCH is set (reproducible-builds.org); a fixed value keeps the bytes stable.
FONT_TIMESTAMP = "1577836800"  # 2020-01-01T00:00:00Z


def font_configuration():
    """One WeasyPrint FontConfiguration per process (building one scans the system's fonts)."""
    global _fonts
    if _fonts is None:
        with _fonts_lock:
            if _fonts is None:
                from weasyprint.text.fonts import FontConfiguration

                os.environ.setdefault("SOURCE_DATE_EPOCH", FONT_TIMESTAMP)
                _fonts = FontConfiguration()
    return _fonts


def _refusing_fetcher():
    """A URL fetcher that fetches nothing: no network, no files, no data: URLs."""
    from weasyprint.urls import URLFetcher

    class NothingFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"statement documents fetch nothing ({url[:80]})")

    return NothingFetcher(allowed_protocols=())


def _stylesheet(fetcher):
    from weasyprint import CSS

    path = finders.find(PDF_STYLESHEET)
    with open(path, encoding="utf-8") as handle:
        return CSS(string=handle.read(), url_fetcher=fetcher, font_config=font_configuration())


def pdf_html(document: StatementDocument) -> str:
    with translation.override(settings.DOCUMENT_LANGUAGE):  # whatever the reader's screen language
        return render_to_string(
            "outsourcing/statement_pdf.html",
            {
                "document": document,
                "statement": document.statement,
                "header": [
                    (label, format_cny(value) if isinstance(value, Decimal) else value)
                    for label, value in header_rows(document, with_status=False)
                ],
                "columns": column_labels(),
                "created": _local(document.created).isoformat(timespec="seconds"),
            },
        )


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def to_pdf(document: StatementDocument) -> bytes:
    """The statement as an A4 PDF: the same statement gives the same bytes."""
    from weasyprint import HTML

    fetcher = _refusing_fetcher()
    html = HTML(string=pdf_html(document), url_fetcher=fetcher)
    return html.write_pdf(stylesheets=[_stylesheet(fetcher)], font_config=font_configuration(), pdf_identifier=False)
