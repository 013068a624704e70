"""The net-recovery dashboard's tables as CSV and XLSX (reports.export_tables: the same rows as the page).

Text cells go through portal.lib.spreadsheet (``csv_bytes`` / ``neutralise``: a product or partner named
``=cmd|…`` is written as text, never as a formula; CWE-1236, ASVS 1.2.10). Money stays a number: Decimal in
the CSV (two places), a numeric cell with a two-decimal format in the XLSX.
"""

from __future__ import annotations

import io
from decimal import Decimal

from portal.lib.spreadsheet import csv_bytes, neutralise

from .reports import NetRecovery, export_tables

AMOUNT_FORMAT = "#,##0.00"
RATIO_FORMAT = "0.0000"


def to_csv(report: NetRecovery) -> bytes:
    """Each table under its title, a blank line between (UTF-8 with a BOM, read as such by Excel)."""
    rows: list[list] = []
    for title, header, lines in export_tables(report):
        if rows:
            rows.append([])
        rows.append([title])
        rows.append(header)
        rows.extend(lines)
    return csv_bytes(rows)


def to_xlsx(report: NetRecovery) -> bytes:
    """One worksheet per table; the four figures as numbers (money to two decimals, the ratio to four)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for title, header, lines in export_tables(report):
        sheet = workbook.create_sheet(title=neutralise(title)[:31])
        sheet.append([neutralise(str(cell)) for cell in header])
        for cell in sheet[1]:
            cell.font = bold
        figures_from = len(header) - 4  # the last four columns: recovered, cost, net, cost per yuan
        for line in lines:
            sheet.append([value if isinstance(value, Decimal) else neutralise(str(value)) for value in line])
            row = sheet.max_row
            for column in range(figures_from + 1, figures_from + 4):
                sheet.cell(row=row, column=column).number_format = AMOUNT_FORMAT
            sheet.cell(row=row, column=figures_from + 4).number_format = RATIO_FORMAT
            for column in range(1, figures_from + 1):
                sheet.cell(row=row, column=column).number_format = "@"
        for index, width in enumerate([24] * figures_from + [16, 16, 16, 14], start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
