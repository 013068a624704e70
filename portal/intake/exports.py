"""Files the import pages hand out: the blank template (CSV, XLSX) and the report of refused cells.

Everything written is neutralised against formula injection (CWE-1236,
ASVS 1.2.10); CSV carries a UTF-8 BOM so Excel opens Chinese text correctly.
"""

import io

from django.utils.translation import gettext as _

from portal.lib.spreadsheet import csv_bytes, neutralise

from .columns import COLUMNS, NAMES

# Columns Excel must keep as text: long digit strings lose digits or leading zeros as numbers.
TEXT_COLUMNS = ("contract_no", "id_number", "mobile", "home_phone", "work_phone", "contact1_phone")


def template_csv() -> bytes:
    return csv_bytes([NAMES])


def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "cases"
    sheet.append(list(NAMES))
    for position, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(14, len(column.name) + 4)
        sheet.cell(row=1, column=position).font = Font(bold=column.required)
        if column.name in TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, 1002):  # pre-format the first thousand rows, which Excel honours when typing
                sheet.cell(row=row, column=position).number_format = "@"
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet(_("Notes"))
    notes.append([_("Column"), _("Meaning"), _("Required"), _("Example"), _("What to enter")])
    for column in COLUMNS:
        notes.append([column.name, str(column.label), _("yes") if column.required else "", neutralise(column.example), str(column.help)])
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 22
    notes.column_dimensions["E"].width = 90
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_csv(batch) -> bytes:
    """Every stored refusal of a batch: row, column, the file's header, and why, in the reader's language."""
    rows = [[_("Row"), _("Column"), _("Column in your file"), _("Problem")]]
    rows.extend([error.row, error.column, error.header or error.column, str(error.message)] for error in batch.row_errors())
    return csv_bytes(rows)
