"""What can be wrong with an import, in words a lender can act on.

Errors are stored as a code and parameters and put into words when shown, so
a report reads in the language of whoever reads it (the worker that found
the error has no language of its own).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from portal.errors import RuleError

# Whole-file problems: nothing is read.
FILE_MESSAGES = {
    "empty": _("The file is empty."),
    "no_rows": _("The file has column names but no rows."),
    "no_header": _("The first row must hold the column names."),
    "encoding": _("The file is not UTF-8 or GB18030 text; save it as CSV UTF-8 and upload again."),
    "too_large": _("The file is larger than %(mb)s MB."),
    "file_deleted": _("The file was deleted on %(when)s: files are kept only while they are imported; upload it again."),
    "too_many_rows": _("The file has more than %(max)s rows; split it into files of at most %(max)s rows."),
    "bad_csv": _("The CSV file cannot be read from row %(row)s on; look for a stray quote mark."),
    "xls": _("Old Excel files (.xls) are not supported; save the sheet as .xlsx or as CSV UTF-8."),
    "bad_xlsx": _("The workbook could not be read; save it again as .xlsx or as CSV UTF-8."),
    "xlsx_too_big": _("The workbook is too large when unpacked."),
    "duplicate_header": _(
        "Two columns are both read as “%(column)s”: “%(first)s” and “%(second)s”. Remove one, or map the columns yourself."
    ),
    "missing_columns": _("Required columns are missing: %(columns)s. Use the template's column names, or map your columns."),
    "bad_json": _("Send a JSON list of rows, each an object keyed by the template's column names."),
    "check_failed": _("Checking stopped unexpectedly and nothing was saved; upload the file again."),
    "commit_failed": _("The import stopped before it finished and nothing was saved; you can start it again."),
    "unknown_mapping": _("There is no saved column mapping called “%(name)s”."),
}

# One cell (or one row) refused.
ROW_MESSAGES = {
    "required": _("This cell is empty; a value is required."),
    "too_long": _("Too long: at most %(max)s characters."),
    "formula": _("Starts with “%(char)s”, which spreadsheets run as a formula; names and other texts never start with it."),
    "control": _("Contains control characters."),
    "spreadsheet_error": _("Holds a spreadsheet error (%(value)s) instead of a value."),
    "duplicate": _("Contract no. %(value)s already appears on row %(first)s; each contract may appear once per file."),
    "id_format": _("Not an ID number: 18 characters, 17 digits then a digit or X."),
    "id_birth": _("The ID number contains an impossible date of birth."),
    "id_checksum": _("The ID number's check character does not match (GB 11643); look for a typing error."),
    "id_region": _("The ID number's first two digits are not a province's code (GB/T 2260); look for a typing error."),
    "id_stored_as_number": _(
        "The ID number was stored as a number, so Excel has changed its last digits; format the column as text and enter the numbers again."
    ),
    "mobile": _("Not a mobile number: 11 digits starting with 13 to 19."),
    "phone": _("Not a phone number: 7 to 20 digits, hyphens allowed."),
    "amount": _("Not an amount: use digits and a decimal point, e.g. 12500.00."),
    "negative": _("Must not be negative."),
    "amount_places": _("More than two decimal places; amounts are in yuan and fen."),
    "amount_too_large": _("Too large: at most 999,999,999,999.99."),
    "principal_over_loan": _("Principal due is more than the loan amount."),
    "rate": _("Not a number: write the annual rate in percent, e.g. 24 for 24%."),
    "rate_range": _("Must be between 0 and 100 (percent a year)."),
    "rate_places": _("More than four decimal places."),
    "rate_fraction": _(
        "%(value)s looks like a fraction, but this column is in percent: did you mean %(percent)s%%? Write %(percent)s, or mark the column as a fraction on the mapping step."
    ),
    "repayment_method": _(
        "Unknown repayment method; use equal instalments, equal principal, interest first or bullet (等额本息, 等额本金, 先息后本, 到期一次还本付息)."
    ),
    "term": _("Must be a whole number of months."),
    "term_range": _("Must be between 1 and 360 months."),
    "date": _("Not a date: use YYYY-MM-DD, e.g. 2024-03-15."),
    "future": _("This date is in the future."),
    "too_early": _("Before 1980; check the year."),
    "disbursed_after_overdue": _("The disbursement date is after the overdue date; a loan cannot fall overdue before it is paid out."),
    "payment_before_disbursed": _("The last payment is before the disbursement date."),
    "relation": _(
        "Unknown relation; use spouse, parent, child, sibling, relative, colleague, friend, reference or other (配偶, 父母, 子女, 兄弟姐妹, 亲属, 同事, 朋友, 其他)."
    ),
    "contact_incomplete": _("A contact needs both a name and a phone number."),
}


class IntakeError(RuleError):
    """The file as a whole cannot be read or matched; no row was looked at.

    The project's one error type (portal.errors.RuleError): its code names the rule, and ``message`` is the
    reason in the active language, placeholders filled (so errors.to_messages and str() read the same)."""

    def __init__(self, code, **params):
        if code not in FILE_MESSAGES:
            raise ValueError(f"unknown intake error {code!r}")
        super().__init__(FILE_MESSAGES[code], code=code)
        self.params = params  # ValidationError keeps None for "no params"; the stored form (as_dict) keeps {}

    @property
    def message(self) -> str:
        return str(FILE_MESSAGES[self.code]) % self.params if self.params else str(FILE_MESSAGES[self.code])

    @message.setter
    def message(self, _template):  # ValidationError.__init__ stores the template; the text comes from the code
        pass

    def as_dict(self):
        return {"code": self.code, "params": self.params}

    @classmethod
    def from_dict(cls, data):
        return cls(data["code"], **data.get("params", {}))

    def __str__(self):
        return self.message


class CellError(Exception):
    """Raised by a cleaner; becomes a RowError with the row and column attached."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class RowError:
    row: int  # as the lender's spreadsheet numbers it: the header is row 1
    column: str  # canonical column name
    code: str
    header: str = ""  # the file's own header for that column, when it differs
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        text = str(ROW_MESSAGES[self.code])
        return text % self.params if self.params else text

    def as_dict(self):
        """Stored form (ImportBatch.rejected): words are chosen when shown."""
        data = {"row": self.row, "column": self.column, "code": self.code}
        if self.header:
            data["header"] = self.header
        if self.params:
            data["params"] = self.params
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(row=data["row"], column=data["column"], code=data["code"], header=data.get("header", ""), params=data.get("params", {}))

    def as_verdict(self):
        """The public shape (command --json and the API): row, column, message."""
        return {"row": self.row, "column": self.column, "message": self.message}
