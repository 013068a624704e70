"""A statement as a document (结算单): one set of rows for the screen, CSV, XLSX and PDF, whatever its kind.

``build(statement)`` asks the statement's kind for its rows once; the writers only lay them out. Totals are summed
from the rows written (``sum_rows``), so every file reconciles with what it lists. Spreadsheet text goes through
``neutralise`` (CWE-1236: a reference such as "=HYPERLINK(…)" must stay text); amounts are Decimals with two
places, never floats.

The PDF is the document sent to the partner: its SHA-256 is stored when the statement is issued, and a later
download returns the stored bytes. It depends only on the statement: always rendered in the lender's document
language (Simplified Chinese, ``DOCUMENT_LANGUAGE``), dated by the statement's approval (no current time), no
status shown once approved (approving freezes everything it shows), nothing fetched (the stylesheet is read from
our static files; every URL is refused), no file identifier, and the font subsets stamped with a fixed time
(``SOURCE_DATE_EPOCH``), so two renders give the same bytes.
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
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _, gettext_lazy, pgettext

from portal.lib.money import format_cny, percent, to_fen
from portal.lib.spreadsheet import csv_bytes, neutralise

from . import kinds
from .models import Statement, StatementStatus

PDF_STYLESHEET = "css/statement_pdf.css"
PDF_TEMPLATE = "fees/statement_pdf.html"
AMOUNT_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Totals:
    count: int
    base: Decimal
    amount: Decimal


def sum_rows(rows) -> Totals:
    """Count and sums of already-rounded row amounts (a pure function: the statement's rule)."""
    count, base, amount = 0, Decimal("0.00"), Decimal("0.00")
    for row in rows:
        count += 1
        base += row.base
        amount += row.amount
    return Totals(count, to_fen(base), to_fen(amount))


@dataclass(frozen=True)
class StatementDocument:
    statement: Statement
    kind: kinds.StatementKind
    lender_name: str
    partner_name: str
    rows: tuple[kinds.Row, ...]
    totals: Totals

    @property
    def title(self) -> str:
        return str(self.kind.label)

    @property
    def month(self) -> str:
        return f"{self.statement.period:%Y-%m}"

    @property
    def is_draft(self) -> bool:
        """Before approval the PDF is marked as not for payment."""
        return self.statement.status in (StatementStatus.DRAFT, StatementStatus.IN_REVIEW)

    @property
    def filename_stem(self) -> str:
        return self.statement.number

    @property
    def created(self) -> datetime.datetime:
        """The document's date: approval (frozen from then on), or the draft's creation."""
        return self.statement.approved_at or self.statement.created_at


def build(statement: Statement) -> StatementDocument:
    kind = kinds.get(statement.kind)
    rows = tuple(kind.rows(statement))
    tenant = getattr(connection, "tenant", None)
    return StatementDocument(
        statement=statement,
        kind=kind,
        lender_name=getattr(tenant, "name", ""),
        partner_name=statement.partner.name,
        rows=rows,
        totals=sum_rows(rows),
    )


def _person(user) -> str:
    return (getattr(user, "full_name", "") or getattr(user, "email", "")) if user else ""


def _local(moment: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(moment)


# The document's default wording; a kind says it in its own terms (kinds.StatementKind.labels).
LABELS = {
    "case_ref": gettext_lazy("Contract or matter no."),
    "description": gettext_lazy("Description"),
    "period_end": gettext_lazy("Lines up to"),
    "base_total": gettext_lazy("Total recovered"),
    "amount_total": gettext_lazy("Total amount"),
    "partner_confirms": gettext_lazy("Confirmed by the partner (seal)"),
    "note": gettext_lazy(
        "Each line is one fee the partner earned in the period, rounded half up to the fen on each line; "
        "the totals are the sums of the lines."
    ),
}


def label(document: StatementDocument, key: str) -> str:
    found = document.kind.labels.get(key)
    if found:
        return str(found)
    if key in ("base_column", "amount_column"):  # the column's heading with its currency
        heading = base_label(document) if key == "base_column" else amount_label(document)
        # Translators: a money column's heading with its currency, e.g. "Fee (CNY)"; zh: "律师费（元）".
        return _("%(heading)s (CNY)") % {"heading": heading}
    return str(LABELS[key])


def base_label(document: StatementDocument) -> str:
    return str(document.kind.base_label or _("Recovered"))


def amount_label(document: StatementDocument) -> str:
    return str(document.kind.amount_label or _("Amount"))


def header_rows(document: StatementDocument, *, with_status=True) -> list[tuple[str, object]]:
    """(label, value) pairs of the block above the lines; values are text or Decimal amounts."""
    statement = document.statement
    rows = [
        (_("Statement no."), statement.number),
        (_("Lender"), document.lender_name),
        (_("Partner"), document.partner_name),
        (_("Month"), document.month),
        (label(document, "period_end"), statement.period_end.isoformat()),
    ]
    if with_status:
        rows.append((_("Status"), str(statement.get_status_display())))
    rows += [
        (_("Number of lines"), str(document.totals.count)),
        (label(document, "base_total"), document.totals.base),
        (label(document, "amount_total"), document.totals.amount),
    ]
    if statement.approved_at:
        rows.append((_("Approved"), f"{_local(statement.approved_at):%Y-%m-%d %H:%M} {_person(statement.approved_by)}".strip()))
    if with_status and statement.issued_at:
        rows.append((_("Issued"), f"{_local(statement.issued_at):%Y-%m-%d %H:%M} {_person(statement.issued_by)}".strip()))
    if with_status and statement.paid_at:
        rows.append((pgettext("statement status", "Paid"), f"{_local(statement.paid_at):%Y-%m-%d %H:%M}"))
    return rows


def column_labels(document: StatementDocument) -> list[str]:
    return [
        _("Date"),
        label(document, "case_ref"),
        label(document, "description"),
        _("Details"),
        _("Rate (%)"),
        label(document, "base_column"),
        label(document, "amount_column"),
    ]


def rate_percent(row: kinds.Row):
    """The files' "Rate (%)" column: the row's rate in per cent (portal.lib.money.percent, the one definition); blank
    for a fixed amount."""
    return percent(row.rate) if row.rate is not None else ""


# ----------------------------------------------------------------- CSV and XLSX


def to_csv(document: StatementDocument) -> bytes:
    """UTF-8 with a BOM; header block, lines, totals (portal.lib.spreadsheet.csv_bytes neutralises every text cell)."""
    rows = [[label, to_fen(value) if isinstance(value, Decimal) else value] for label, value in header_rows(document)]
    rows.append([])
    rows.append(column_labels(document))
    for row in document.rows:
        rows.append(
            [row.date.isoformat(), row.case_ref, row.description, row.note, rate_percent(row), to_fen(row.base), to_fen(row.amount)]
        )
    rows.append([_("Total"), "", "", "", "", to_fen(document.totals.base), to_fen(document.totals.amount)])
    return csv_bytes(rows)


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
    sheet.append([neutralise(label) for label in column_labels(document)])
    heading_row = sheet.max_row
    for cell in sheet[heading_row]:
        cell.font = bold
    for row in document.rows:
        sheet.append(
            [
                row.date,
                neutralise(row.case_ref),
                neutralise(row.description),
                neutralise(row.note),
                rate_percent(row),
                to_fen(row.base),
                to_fen(row.amount),
            ]
        )
        at = sheet.max_row
        sheet.cell(row=at, column=1).number_format = "yyyy-mm-dd"
        for column in (2, 3, 4):
            sheet.cell(row=at, column=column).number_format = "@"
        sheet.cell(row=at, column=5).number_format = "0.00"
        sheet.cell(row=at, column=6).number_format = AMOUNT_FORMAT
        sheet.cell(row=at, column=7).number_format = AMOUNT_FORMAT
    sheet.append([neutralise(_("Total")), None, None, None, None, document.totals.base, document.totals.amount])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    sheet.cell(row=sheet.max_row, column=6).number_format = AMOUNT_FORMAT
    sheet.cell(row=sheet.max_row, column=7).number_format = AMOUNT_FORMAT
    for letter, width in zip("ABCDEFG", (12, 24, 30, 14, 10, 16, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = sheet.cell(row=heading_row + 1, column=1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------- PDF

_fonts = None
_fonts_lock = threading.Lock()

# fontTools, which subsets the embedded fonts, stamps each subset's "head" table with the current time unless
# SOURCE_DATE_EPOCH is set (reproducible-builds.org); a fixed value keeps the bytes stable.
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
        document = build(document.statement)  # the rows' words (a clawback's marker…) in the document's language too
        return render_to_string(
            PDF_TEMPLATE,
            {
                "document": document,
                "statement": document.statement,
                "header": [
                    (label, format_cny(value) if isinstance(value, Decimal) else value)
                    for label, value in header_rows(document, with_status=False)
                ],
                "columns": column_labels(document),
                "rows": [(row, rate_percent(row)) for row in document.rows],
                "created": _local(document.created).isoformat(timespec="seconds"),
                "note": label(document, "note"),
                "partner_confirms": label(document, "partner_confirms"),
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


def render_pdf(statement: Statement) -> bytes:
    return to_pdf(build(statement))
