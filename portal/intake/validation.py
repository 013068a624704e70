"""The rules a row must meet before it may become a case, checked over the whole file first.

Each cleaner turns one cell into a Python value (Decimal for money, never
float; date for dates) or raises CellError with a code from errors.py.
validate() runs them over every row and returns the verdict: how many rows,
which are valid (with their clean values), and every refused cell by row
number (the header is row 1) and column.
"""

import contextlib
import datetime
import gc
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import compress, count
from typing import NamedTuple

from django.utils import timezone

from portal.lib import idnumber, phones
from portal.lib.money import FEN, to_fen
from portal.lib.spreadsheet import FORMULA_TRIGGERS

from .columns import METHODS, NAMES, RELATIONS, normalise_header
from .errors import CellError, RowError
from .mapping import Mapping

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("1000000000000")  # Case amounts are numeric(14, 2)
EARLIEST = datetime.date(1980, 1, 1)
# Text a spreadsheet shows instead of a value when a formula failed.
SPREADSHEET_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"})
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Phones: one definition (portal.lib.phones), ASCII digits only. Every pattern here is re.ASCII: \d must not
# match the digits of other scripts (full-width digits are folded to ASCII by _ascii() first).
MOBILE, PHONE = phones.MOBILE, phones.PHONE
NUMBER = re.compile(r"\d+(?:\.\d*)?", re.ASCII)
GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)  # 20,000.00
DATE = re.compile(
    r"(\d{4})(?:[-/.](\d{1,2})[-/.](\d{1,2})|年(\d{1,2})月(\d{1,2})日?|(\d{2})(\d{2}))(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", re.ASCII
)
TERM_SUFFIXES = ("个月", "月", "期")
# portal.lib.idnumber's reasons -> our codes (its words are not translatable).
ID_REASONS = {
    "must be 17 digits followed by a digit or X": "id_format",
    "contains an impossible birth date": "id_birth",
    "check character does not match (GB 11643)": "id_checksum",
    "region code is not a province of GB/T 2260": "id_region",
}


def _text_of(value) -> str:
    """A non-text cell (XLSX number, date; JSON number) as the text a person would have typed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _ascii(text: str) -> str:
    """Full-width digits and letters (１３８…) as ASCII."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


# ---------------------------------------------------------------- cleaners


def clean_text(value, *, max_length: int, required: bool = False) -> str:
    """Free text. Never a formula (CWE-1236): names and addresses do not start with = + - @."""
    if type(value) is not str:
        value = _text_of(value)
    value = value.strip()
    if not value:
        if required:
            raise CellError("required")
        return ""
    if value.startswith(FORMULA_TRIGGERS):
        raise CellError("formula", char=value[0])
    if value[0] == "#" and value in SPREADSHEET_ERRORS:
        raise CellError("spreadsheet_error", value=value)
    if CONTROL.search(value):
        raise CellError("control")
    if "\n" in value or "\t" in value or "\r" in value:
        value = " ".join(value.split())  # a multi-line address cell becomes one line
    if len(value) > max_length:
        raise CellError("too_long", max=max_length)
    return value


def clean_id_number(value) -> str:
    """Resident ID number, GB 11643 (checked by portal.lib.idnumber)."""
    if type(value) is not str:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            # 18 digits do not fit a spreadsheet number; Excel has already replaced the last ones.
            raise CellError("id_stored_as_number")
        value = _text_of(value)
    value = _ascii(value).strip().upper()
    if not value:
        raise CellError("required")
    reason = idnumber.validate(value)
    if reason:
        raise CellError(ID_REASONS.get(reason, "id_format"))
    return value


def _phone_text(value) -> str:
    if type(value) is not str:
        value = _text_of(value)
    return _ascii(value).strip().replace(" ", "")


def clean_mobile(value, *, required: bool = False) -> str:
    value = _phone_text(value)
    if not value:
        if required:
            raise CellError("required")
        return ""
    mobile = phones.as_mobile(value)  # hyphens and a +86/86 country code dropped (portal.lib.phones)
    if mobile is None:
        raise CellError("mobile")
    return mobile


def clean_phone(value) -> str:
    """A landline or mobile: digits and hyphens, 7–20 characters; may be empty."""
    value = _phone_text(value)
    if not value:
        return ""
    if not PHONE.fullmatch(value):
        raise CellError("phone")
    return value


def _decimal(value, *, bad: str) -> Decimal:
    """Text or a number as a Decimal, exactly as written; a float goes through its shortest repr."""
    if type(value) is str:
        text = value.strip()
        if text and text[0] in "¥￥":
            text = text[1:].strip()
        negative = text.startswith("-")
        if negative:
            text = text[1:]
        if not NUMBER.fullmatch(text):
            if GROUPED.fullmatch(text):
                text = text.replace(",", "")
            else:
                text = _ascii(text)
                if not NUMBER.fullmatch(text):
                    raise CellError(bad)
        if negative:
            raise CellError("negative")
        return Decimal(text)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise CellError(bad)
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise CellError(bad)
    if number < 0:
        raise CellError("negative")
    return number


def clean_amount(value, *, required: bool = False) -> Decimal:
    """Yuan with at most two decimals, not negative; empty is 0 unless required.

    More decimals are refused, not rounded: 812.345 is a question for the
    lender, and a float artefact from a spreadsheet (0.30000000000000004)
    must not become money silently.
    """
    if value == "" or value is None or (type(value) is str and not value.strip()):
        if required:
            raise CellError("required")
        return ZERO
    number = _decimal(value, bad="amount")
    if number >= MAX_AMOUNT:
        raise CellError("amount_too_large")
    if number != number.quantize(FEN):
        raise CellError("amount_places")
    return to_fen(number)


def clean_rate(value, *, fraction: bool = False) -> Decimal | None:
    """Annual rate in percent (24 = 24%), 0–100, at most four decimals; may be empty.

    A value between 0 and 1 (0.18) is a fraction where the column means percent: refused with "did you mean
    18%?", since storing 0.18% would understate the interest a court is asked for a hundredfold. When the
    mapping marks the column as a fraction (``fraction``), every value is multiplied by 100 (0.18 → 18), except
    one written with a percent sign, which is percent already.
    The 24%/36% ceilings of the private-lending rules are a question for
    litigation, not a reason to refuse the loan's data here.
    """
    marked_percent = False
    if type(value) is str:
        text = value.strip()
        value = text.removesuffix("%").removesuffix("％").strip()
        marked_percent = value != text
    if value == "" or value is None:
        return None
    number = _decimal(value, bad="rate")
    if fraction and not marked_percent:
        number = number * 100
    elif 0 < number < 1:
        percent = (number * 100).normalize()
        raise CellError("rate_fraction", value=str(value).strip() if type(value) is str else _text_of(value), percent=f"{percent:f}")
    if number > 100:
        raise CellError("rate_range")
    if number != number.quantize(Decimal("0.0001")):
        raise CellError("rate_places")
    return number.quantize(Decimal("0.0001"))


def clean_term(value) -> int | None:
    """Loan term in whole months, 1–360; may be empty."""
    if type(value) is str:
        value = value.strip()
        for suffix in TERM_SUFFIXES:
            value = value.removesuffix(suffix)
        value = value.strip()
    if value == "" or value is None:
        return None
    try:
        number = _decimal(value, bad="term")
    except CellError as error:
        raise CellError("term_range" if error.code == "negative" else "term") from None
    if number != number.to_integral_value():
        raise CellError("term")
    if not 1 <= number <= 360:
        raise CellError("term_range")
    return int(number)


def clean_date(value, *, today: datetime.date, required: bool = False) -> datetime.date | None:
    """YYYY-MM-DD (also / or . separated, 2024年3月15日, 20240315, or a spreadsheet date); not in the future."""
    if type(value) is str:
        text = value.strip()
        if not text:
            if required:
                raise CellError("required")
            return None
        day = None
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                day = datetime.date.fromisoformat(text)
            except ValueError:
                day = None
        if day is None:
            match = DATE.fullmatch(_ascii(text))
            if not match:
                raise CellError("date")
            year, *parts = match.groups()
            month, dom = [int(part) for part in parts if part is not None][:2]
            try:
                day = datetime.date(int(year), month, dom)
            except ValueError:
                raise CellError("date") from None
    elif isinstance(value, datetime.datetime):
        day = value.date()
    elif isinstance(value, datetime.date):
        day = value
    elif value is None:
        if required:
            raise CellError("required")
        return None
    else:  # a bare spreadsheet number is not a date we can trust
        raise CellError("date")
    if day > today:
        raise CellError("future")
    if day < EARLIEST:
        raise CellError("too_early")
    return day


def clean_relation(value) -> str:
    """A ContactRelation value, from English or Chinese words; may be empty."""
    if type(value) is not str:
        value = _text_of(value)
    value = value.strip()
    if not value:
        return ""
    relation = RELATIONS.get(normalise_header(value))
    if relation is None:
        raise CellError("relation")
    return relation


def clean_repayment_method(value) -> str:
    """A RepaymentMethod value, from English or Chinese words; may be empty."""
    if type(value) is not str:
        value = _text_of(value)
    value = value.strip()
    if not value:
        return ""
    method = METHODS.get(normalise_header(value))
    if method is None:
        raise CellError("repayment_method")
    return method


# ---------------------------------------------------------------- whole columns at once
# A fast path per column for the common case of clean, plain text cells. It
# only ever accepts what the cell's cleaner would accept, with the same
# value (tests/portal/intake/test_intake_properties.py checks this); when anything in the
# column is unusual it returns None and every cell goes through its cleaner.


def _joined(column, pattern) -> bool:
    """Does every cell, as text, fully match pattern (cells joined by newlines)?"""
    try:
        joined = "\n".join(column)
    except TypeError:  # a number or a date from a workbook: the cleaners handle those
        return False
    return joined.count("\n") == len(column) - 1 and pattern.fullmatch(joined) is not None


def _lines(cell: str, *, optional: bool = False):
    cell = f"(?:{cell})?" if optional else f"(?:{cell})"
    return re.compile(f"{cell}(?:\n{cell})*", re.ASCII)


_CONTROL_OR_TAB = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # also the unprintable formula triggers
_SUSPECT_START = tuple(trigger for trigger in FORMULA_TRIGGERS if trigger.isprintable()) + ("#",)  # "#": spreadsheet errors
_SUSPECT_AFTER_NEWLINE = tuple("\n" + start for start in _SUSPECT_START)


def fast_text(column, *, max_length: int, required: bool = False):
    try:
        joined = "\n".join(column)
    except TypeError:
        return None
    if joined.count("\n") != len(column) - 1 or "\n".join(map(str.strip, column)) != joined:
        return None  # a line break inside a cell, or spaces around one
    if joined.startswith(_SUSPECT_START) or any(marker in joined for marker in _SUSPECT_AFTER_NEWLINE):
        return None
    if _CONTROL_OR_TAB.search(joined) or max(map(len, column)) > max_length:
        return None
    if required and ("" in column):
        return None
    return list(column)


_MOBILES = _lines(phones.MOBILE.pattern)
_PHONES = _lines(phones.PHONE.pattern, optional=True)
_IDS = _lines(r"\d{17}[\dX]")
_AMOUNTS = _lines(r"\d{1,12}(?:\.\d{1,2})?")
_OPTIONAL_AMOUNTS = _lines(r"\d{1,12}(?:\.\d{1,2})?", optional=True)
_RATES = _lines(r"\d{1,3}(?:\.\d{1,4})?", optional=True)
_TERMS = _lines(r"[1-9]\d{0,2}", optional=True)
_DATES = _lines(r"\d{4}-\d{2}-\d{2}")
_OPTIONAL_DATES = _lines(r"\d{4}-\d{2}-\d{2}", optional=True)
_RELATIONS_AS_WRITTEN = {"": "", **RELATIONS}  # the words as lenders write them are already in normal form


def fast_mobile(column):
    return list(column) if _joined(column, _MOBILES) else None


def fast_phone(column):
    return list(column) if _joined(column, _PHONES) else None


_ID_WEIGHTS_OF_ZEROS = ord("0") * sum(idnumber.WEIGHTS)


def _all_id_numbers_valid(column) -> bool:
    """``not any(map(idnumber.validate, column))`` for cells that already match _IDS, without its per-cell
    regex, date object and generator: each birth date is judged once, the check sum is taken on the bytes."""
    today, births = timezone.localdate(), {}  # as idnumber.validate: the lender's calendar day
    weights, check_chars, zeros, regions = idnumber.WEIGHTS, idnumber.CHECK_CHARS, _ID_WEIGHTS_OF_ZEROS, idnumber.REGIONS
    for value in column:
        if int(value[:2]) not in regions:
            return False
        if not value.isascii():  # digits of another script match \d: the full rule decides
            if idnumber.validate(value):
                return False
            continue
        birth = value[6:14]
        fine = births.get(birth)
        if fine is None:
            try:
                born = datetime.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
            except ValueError:
                fine = False
            else:
                fine = not (born > today or born.year < 1900)
            births[birth] = fine
        if not fine or check_chars[(sum(map(operator.mul, value[:17].encode(), weights)) - zeros) % 11] != value[17]:
            return False
    return True


def fast_id_number(column):
    if not _joined(column, _IDS) or not _all_id_numbers_valid(column):
        return None
    return list(column)


def fast_amount(column, *, required: bool = False):
    """Numerically the cleaner's value (20000 == 20000.00): the database column holds two places either way."""
    if not _joined(column, _AMOUNTS if required else _OPTIONAL_AMOUNTS):
        return None
    if "" in column:
        return [Decimal(cell) if cell else ZERO for cell in column]
    return list(map(Decimal, column))


def fast_rate(column):
    """Percent only (a column marked as a fraction goes through clean_rate); a value below 1 is left to it."""
    if not _joined(column, _RATES):
        return None
    rates = [Decimal(cell) if cell else None for cell in column]
    return rates if all(rate is None or (rate <= 100 and not 0 < rate < 1) for rate in rates) else None


def fast_term(column):
    if not _joined(column, _TERMS):
        return None
    terms = [int(cell) if cell else None for cell in column]
    return terms if all(term is None or term <= 360 for term in terms) else None


def fast_date(column, *, today: datetime.date, required: bool = False):
    if not _joined(column, _DATES if required else _OPTIONAL_DATES):
        return None
    try:
        days = [datetime.date.fromisoformat(cell) if cell else None for cell in column]
    except ValueError:
        return None
    present = [day for day in days if day is not None]
    if present and (max(present) > today or min(present) < EARLIEST):
        return None
    return days


def fast_relation(column):
    try:
        relations = [_RELATIONS_AS_WRITTEN.get(cell) for cell in column]
    except TypeError:  # unhashable cell
        return None
    return None if None in relations else relations


@dataclass(frozen=True)
class Rule:
    clean: object  # cell -> value, or raises CellError
    fast: object = None  # column -> values, or None to fall back to clean()


def rules(*, today: datetime.date, rate_is_fraction: bool = False) -> dict:
    """canonical name -> Rule. Lengths follow the model fields they fill. ``rate_is_fraction``: the mapping says
    the annual_rate column holds fractions (0.18 for 18%)."""

    def text(max_length, required=False):
        return Rule(
            partial(clean_text, max_length=max_length, required=required), partial(fast_text, max_length=max_length, required=required)
        )

    def amount(required=False):
        return Rule(partial(clean_amount, required=required), partial(fast_amount, required=required))

    def day(required=False):
        return Rule(partial(clean_date, today=today, required=required), partial(fast_date, today=today, required=required))

    return {
        "contract_no": text(64, required=True),
        "product": text(100, required=True),
        "borrower_name": text(100, required=True),
        "id_number": Rule(clean_id_number, fast_id_number),
        "mobile": Rule(partial(clean_mobile, required=True), fast_mobile),
        "home_phone": Rule(clean_phone, fast_phone),
        "work_phone": Rule(clean_phone, fast_phone),
        "employer": text(200),
        "address": text(300),
        "contact1_name": text(100),
        "contact1_relation": Rule(clean_relation, fast_relation),
        "contact1_phone": Rule(clean_phone, fast_phone),
        "loan_amount": amount(required=True),
        "disbursed_on": day(),
        "annual_rate": Rule(partial(clean_rate, fraction=True)) if rate_is_fraction else Rule(clean_rate, fast_rate),
        "term_months": Rule(clean_term, fast_term),
        "principal_due": amount(required=True),
        "interest_due": amount(),
        "penalty_due": amount(),
        "fees_due": amount(),
        "overdue_since": day(required=True),
        "last_payment_on": day(),
        "repayment_method": Rule(clean_repayment_method),
        "accelerated_on": day(),
        "region": text(100),
    }


# Value of a field whose column the file does not have.
ABSENT = {
    "interest_due": ZERO,
    "penalty_due": ZERO,
    "fees_due": ZERO,
    "disbursed_on": None,
    "annual_rate": None,
    "term_months": None,
    "last_payment_on": None,
    "accelerated_on": None,
}


class CleanRow(NamedTuple):
    """One valid row, in canonical order, with the row number it had in the file."""

    row: int
    contract_no: str
    product: str
    borrower_name: str
    id_number: str
    mobile: str
    home_phone: str
    work_phone: str
    employer: str
    address: str
    contact1_name: str
    contact1_relation: str
    contact1_phone: str
    loan_amount: Decimal
    disbursed_on: datetime.date | None
    annual_rate: Decimal | None
    term_months: int | None
    principal_due: Decimal
    interest_due: Decimal
    penalty_due: Decimal
    fees_due: Decimal
    overdue_since: datetime.date
    last_payment_on: datetime.date | None
    repayment_method: str
    accelerated_on: datetime.date | None
    region: str


assert CleanRow._fields[1:] == NAMES, "CleanRow must list the columns in canonical order"
SLOT = {name: position for position, name in enumerate(NAMES)}


FAILED = object()  # a cell that did not pass its own rule
CHUNK = 5000


def _real(value) -> bool:
    return value is not None and value is not FAILED


def cross_check(columns: dict) -> list:
    """Rules between the fields of a row, over a chunk of rows: [(position, column, code)].

    A field that failed its own rule is not compared again.
    """
    problems = []
    pairs = (
        # (column blamed, later, earlier, code): later must not be less than earlier
        ("principal_due", columns["loan_amount"], columns["principal_due"], "principal_over_loan"),
        ("disbursed_on", columns["overdue_since"], columns["disbursed_on"], "disbursed_after_overdue"),
        ("last_payment_on", columns["last_payment_on"], columns["disbursed_on"], "payment_before_disbursed"),
    )
    for blamed, later, earlier, code in pairs:
        if FAILED in later or FAILED in earlier or None in later or None in earlier:
            problems.extend(
                (position, blamed, code)
                for position, (high, low) in enumerate(zip(later, earlier, strict=True))
                if _real(high) and _real(low) and high < low
            )
        else:  # every value present and good (the usual case): compared in one pass in C
            problems.extend((position, blamed, code) for position in compress(count(), map(operator.lt, later, earlier)))
    # A contact is a name and a phone number; a relation alone, or a bad cell, still means a contact was meant.
    name, relation, phone = columns["contact1_name"], columns["contact1_relation"], columns["contact1_phone"]
    for position, contact in enumerate(zip(name, relation, phone, strict=True)):
        if any(contact) and not (contact[0] and contact[2]):
            problems.extend(
                (position, column, "contact_incomplete")
                for column, value in (("contact1_name", contact[0]), ("contact1_phone", contact[2]))
                if not value
            )
    return problems


@dataclass
class Verdict:
    rows: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)  # RowError, in row then column order
    clean: list = field(default_factory=list)  # CleanRow for every valid row (when kept)
    mapped: frozenset | None = None  # the canonical columns the file had

    @property
    def rejected_rows(self) -> int:
        return self.rows - self.valid

    def as_json(self) -> dict:
        """The public verdict: {"rows", "valid", "created", "updated", "rejected": [{"row", "column", "message"}]}."""
        return {
            "rows": self.rows,
            "valid": self.valid,
            "created": self.created,
            "updated": self.updated,
            "rejected": [error.as_verdict() for error in self.errors],
        }


class _Checker:
    """Validates a file chunk by chunk, column by column, remembering contract numbers across chunks."""

    def __init__(self, mapping: Mapping, *, today: datetime.date, keep_rows: bool):
        every = rules(today=today, rate_is_fraction=mapping.rate_is_fraction)
        self.mapped = [(name, index, every[name]) for name, index in mapping.indexes.items()]
        self.header = {name: (label if label != name else "") for name, label in mapping.headers.items()}
        self.absent = {name: ABSENT.get(name, "") for name in NAMES if name not in mapping.indexes}
        self.keep_rows = keep_rows
        self.first_seen = {}
        self.verdict = Verdict()

    def chunk(self, numbers: list, rows: list):
        size = len(rows)
        width = max(map(len, rows))
        if min(map(len, rows)) != width:
            rows = [row if len(row) == width else [*row, *[""] * (width - len(row))] for row in rows]
        cells_by_index = list(zip(*rows, strict=True))  # every row padded to the widest above
        columns, bad = {}, {}  # bad: position in chunk -> {column: RowError}
        for name, index, rule in self.mapped:
            cells = cells_by_index[index] if index < width else ("",) * size
            values = rule.fast(cells) if rule.fast else None
            if values is None:
                values = []
                for position, cell in enumerate(cells):
                    try:
                        values.append(rule.clean(cell))
                    except CellError as error:
                        values.append(FAILED)
                        bad.setdefault(position, {})[name] = RowError(numbers[position], name, error.code, self.header[name], error.params)
            columns[name] = values
        for name, value in self.absent.items():
            columns[name] = [value] * size
        for position, column, code in cross_check(columns):
            bad.setdefault(position, {}).setdefault(column, RowError(numbers[position], column, code, self.header.get(column, "")))
        self._duplicates(numbers, columns["contract_no"], bad)
        verdict = self.verdict
        verdict.rows += size
        for position in sorted(bad):
            verdict.errors.extend(sorted(bad[position].values(), key=lambda error: SLOT[error.column]))
        verdict.valid += size - len(bad)
        if self.keep_rows:
            valid = zip(numbers, *[columns[name] for name in NAMES], strict=True)
            if bad:
                valid = (values for position, values in enumerate(valid) if position not in bad)
            verdict.clean.extend(map(CleanRow._make, valid))

    def _duplicates(self, numbers, contracts, bad):
        first_seen = self.first_seen
        for position, contract_no in enumerate(contracts):
            if contract_no is FAILED:
                continue
            first = first_seen.setdefault(contract_no, numbers[position])
            if first != numbers[position]:
                bad.setdefault(position, {})["contract_no"] = RowError(
                    numbers[position], "contract_no", "duplicate", self.header["contract_no"], {"value": contract_no, "first": first}
                )


@contextlib.contextmanager
def cyclic_gc_paused():
    """No cyclic garbage collection while a file is checked or written.

    An import allocates hundreds of thousands of objects that stay alive (rows,
    cells, clean values) and makes no reference cycles; the collector would
    scan them over and over as they pile up (about a third of the time spent
    checking a 100,000-row file). Reference counting still frees everything;
    the collector is switched back on afterwards if it was on, and then runs as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate(table, mapping: Mapping, *, today: datetime.date | None = None, keep_rows: bool = True, report=None) -> Verdict:
    """Check every row of the table; keep the clean values of valid rows when asked (the commit needs them).

    ``report(fraction_done, rows_so_far)`` is called after every chunk of rows.
    """
    with cyclic_gc_paused():
        return _validate(table, mapping, today=today, keep_rows=keep_rows, report=report)


def _validate(table, mapping: Mapping, *, today, keep_rows, report) -> Verdict:
    checker = _Checker(mapping, today=today or timezone.localdate(), keep_rows=keep_rows)
    checker.verdict.mapped = frozenset(mapping.indexes)
    numbers, rows = [], []
    for number, cells in table.rows():
        numbers.append(number)
        rows.append(cells)
        if len(rows) == CHUNK:
            checker.chunk(numbers, rows)
            numbers, rows = [], []
            if report is not None:
                report(table.fraction_done(), checker.verdict.rows)
    if rows:
        checker.chunk(numbers, rows)
    return checker.verdict
