"""From uploaded bytes to a header and rows, judged by content, never by file name (OWASP, ASVS 5.2).

CSV is decoded strictly as UTF-8 (with or without BOM) and then as GB18030;
anything else is refused rather than guessed. XLSX (a zip: PK\\x03\\x04) is
read with openpyxl in read-only mode with cached values only, so no formula
is ever evaluated here; its unpacked size is checked before it is opened
(ASVS 5.2.3). Rows are streamed: a 200,000-row file is never held twice.
"""

import csv
import datetime
import io
import json
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import IntakeError

MAX_ROWS = 200_000
XLSX_MAX_UNPACKED = 512 * 1024 * 1024
XLSX_MAX_ENTRIES = 10_000
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and other OLE2 documents)


@dataclass
class Table:
    """A header and a way to walk the rows: (row number counting the header as 1, cells)."""

    format: str  # csv, xlsx, json
    encoding: str  # utf-8, utf-8-sig, gb18030; "" for xlsx and json
    headers: list
    _rows: object = field(repr=False)
    max_rows: int = MAX_ROWS
    _progress: object = field(default=None, repr=False)  # () -> fraction of the file read so far

    def check_has_rows(self):
        """Raise IntakeError("no_rows") for a file with only a header, reading no further than the first row."""
        rows = self.rows()
        try:
            next(rows)
        except StopIteration:  # pragma: no cover - rows() raises no_rows itself
            raise IntakeError("no_rows") from None
        finally:
            rows.close()

    def fraction_done(self) -> float:
        return min(1.0, max(0.0, self._progress())) if self._progress else 0.0

    def rows(self):
        """Yield (row number, cells) for every row that is not blank; refuse more than max_rows rows."""
        count = 0
        for number, cells in self._rows():
            if _blank(cells):
                continue
            count += 1
            if count > self.max_rows:
                raise IntakeError("too_many_rows", max=self.max_rows)
            yield number, cells
        if count == 0:
            raise IntakeError("no_rows")


def _blank(cells) -> bool:
    for cell in cells:
        if cell is None or cell == "" or (isinstance(cell, str) and cell.isspace()):
            continue
        return False
    return True


def sniff_format(content: bytes) -> str:
    """xlsx, xls or text, from the first bytes."""
    if content.startswith(ZIP_MAGIC):
        return "xlsx"
    if content.startswith(OLE2_MAGIC):
        return "xls"
    return "text"


def read_table(content: bytes, *, max_bytes: int, max_rows: int = MAX_ROWS, json_rows: bool = False) -> Table:
    """Open uploaded bytes as a table, or raise IntakeError saying what is wrong with the file."""
    if len(content) > max_bytes:
        raise IntakeError("too_large", mb=max_bytes // (1024 * 1024))
    if not content.strip():
        raise IntakeError("empty")
    if json_rows:
        return _read_json(content, max_rows=max_rows)
    kind = sniff_format(content)
    if kind == "xls":
        raise IntakeError("xls")
    if kind == "xlsx":
        return _read_xlsx(content, max_rows=max_rows)
    return _read_csv(content, max_rows=max_rows)


# ---------------------------------------------------------------- CSV


def decode_text(content: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM or not) first, then GB18030, both strict; otherwise refuse."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # UTF-16 or a binary file that happened to decode
            break
        if encoding == "utf-8-sig" and not content.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        return text, encoding
    raise IntakeError("encoding")


def _read_csv(content: bytes, *, max_rows: int) -> Table:
    text, encoding = decode_text(content)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    except csv.Error:
        raise IntakeError("no_header") from None
    if not any(cell.strip() for cell in header):
        raise IntakeError("no_header")

    buffer = io.StringIO(text, newline="")

    def rows():
        buffer.seek(0)
        reader = csv.reader(buffer, delimiter=delimiter)
        number = 1
        try:
            next(reader)
            # Records, not physical lines: a quoted cell may span lines but stays one spreadsheet row.
            for number, cells in enumerate(reader, start=2):
                yield number, cells
        except csv.Error:  # e.g. a stray quote mark that swallows the rest of the file
            raise IntakeError("bad_csv", row=number + 1) from None

    return Table("csv", encoding, [cell.strip() for cell in header], rows, max_rows, lambda: buffer.tell() / len(text))


# ---------------------------------------------------------------- XLSX


def _check_zip(content: bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise IntakeError("bad_xlsx") from None
    if len(entries) > XLSX_MAX_ENTRIES or sum(entry.file_size for entry in entries) > XLSX_MAX_UNPACKED:
        raise IntakeError("xlsx_too_big")


def _cell_value(cell):
    """A cell as the validators take it: text, a number (int, float) or a date; percent cells as "18.25%"."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, float | int) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        # Excel stores 18.25% as 0.1825; the import speaks percent.
        return f"{Decimal(repr(value)) * 100}%"
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.time):
        return value.isoformat()
    return value


def _read_xlsx(content: bytes, *, max_rows: int) -> Table:
    _check_zip(content)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        claimed_rows = sheet.max_row or 0  # the writer's word for it; only used to show progress
        # Some writers record a wrong used range; read what is really there.
        sheet.reset_dimensions()
        header_cells = next(sheet.iter_rows(min_row=1, max_row=1), ())
        header = [_cell_value(cell) for cell in header_cells]
    except IntakeError:
        raise
    except Exception:  # openpyxl raises a zoo of types (KeyError, InvalidFileException, XML errors) for broken files
        raise IntakeError("bad_xlsx") from None
    if not any(str(cell).strip() for cell in header):
        raise IntakeError("no_header")

    position = [1]

    def rows():
        try:
            for number, cells in enumerate(sheet.iter_rows(min_row=2), start=2):
                position[0] = number
                yield number, [_cell_value(cell) for cell in cells]
        except IntakeError:
            raise
        except Exception:
            raise IntakeError("bad_xlsx") from None
        finally:
            workbook.close()

    return Table(
        "xlsx", "", [str(cell).strip() for cell in header], rows, max_rows, lambda: position[0] / claimed_rows if claimed_rows > 1 else 0.0
    )


# ---------------------------------------------------------------- JSON (the API)


def _read_json(content: bytes, *, max_rows: int) -> Table:
    """A JSON list of objects keyed by canonical names; numbers are read as Decimal, never float.

    Row numbers are the list index + 2, as if the list were a sheet under a header row.
    """
    try:
        data = json.loads(content.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise IntakeError("bad_json") from None
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        data = data["rows"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise IntakeError("bad_json")
    headers = []
    for item in data:
        for key in item:
            if isinstance(key, str) and key not in headers:
                headers.append(key)
    if not headers:
        raise IntakeError("no_rows")

    def text(value):
        if value is None:
            return ""
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        return value

    position = [0]

    def rows():
        for number, item in enumerate(data, start=2):
            position[0] = number - 1
            yield number, [text(item.get(key)) for key in headers]

    return Table("json", "", headers, rows, max_rows, lambda: position[0] / len(data))
