"""Exports that a spreadsheet will open safely (CWE-1236, ASVS 1.2.10)."""

import csv
import io

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


BOM = "\ufeff"


def csv_bytes(rows) -> bytes:
    """Rows as CSV in UTF-8 with a BOM (Excel then reads it as UTF-8), every text cell neutralised."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def neutralise(value):
    """Prefix text that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
