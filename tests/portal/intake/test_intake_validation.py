"""Intake: every kind of bad row gets the right verdict, by row (the header is row 1), column and reason."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest

from portal.intake import mapping, parsing, validation
from portal.intake.columns import NAMES
from tests.intake_support import id_number, row, to_csv, to_xlsx

TODAY = datetime.date(2026, 6, 30)


def check(rows, *, content=None, today=TODAY, **csv_options):
    table = parsing.read_table(content if content is not None else to_csv(rows, **csv_options), max_bytes=50 * 1024 * 1024)
    columns = mapping.resolve(table.headers)
    columns.check()
    return validation.validate(table, columns, today=today)


def rejected(rows, **options):
    return [(error["row"], error["column"], error["message"]) for error in check(rows, **options).as_json()["rejected"]]


def test_a_clean_file_has_no_verdict_against_it():
    verdict = check([row(1), row(2), row(3)])
    assert verdict.as_json() == {"rows": 3, "valid": 3, "created": 0, "updated": 0, "rejected": []}
    first = verdict.clean[0]
    assert first.row == 2 and first.contract_no == "HT00000001" and first.loan_amount == Decimal("20000.00")
    assert first.overdue_since == datetime.date(2024, 3, 15) and first.contact1_relation == "spouse" and first.term_months == 12


def test_a_bad_id_checksum_is_refused_with_gb11643_named():
    good = id_number(7)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    assert rejected([row(1), row(2, id_number=bad)]) == [
        (3, "id_number", "The ID number's check character does not match (GB 11643); look for a typing error.")
    ]


def test_impossible_birth_dates_and_short_numbers_are_refused():
    assert rejected([row(1, id_number="11010519491331002X"), row(2, id_number="1101051949")]) == [
        (2, "id_number", "The ID number contains an impossible date of birth."),
        (3, "id_number", "Not an ID number: 18 characters, 17 digits then a digit or X."),
    ]


def test_a_lower_case_x_and_full_width_digits_are_accepted():
    for seed in range(2000):
        number = id_number(seed)
        if number.endswith("X"):
            break
    verdict = check([row(1, id_number=number.lower(), mobile="１３８００１３８０００")])
    assert verdict.valid == 1 and verdict.clean[0].id_number == number and verdict.clean[0].mobile == "13800138000"


def test_a_negative_amount_is_refused():
    assert rejected([row(1, interest_due="-12.50")]) == [(2, "interest_due", "Must not be negative.")]


def test_amounts_with_more_than_two_decimals_are_refused_not_rounded():
    assert rejected([row(1, principal_due="15000.005")]) == [
        (2, "principal_due", "More than two decimal places; amounts are in yuan and fen.")
    ]


def test_grouped_amounts_and_currency_signs_are_read_exactly():
    verdict = check([row(1, loan_amount="¥20,000.00", principal_due="15,000.5", fees_due="")])
    clean = verdict.clean[0]
    assert (clean.loan_amount, clean.principal_due, clean.fees_due) == (Decimal("20000.00"), Decimal("15000.50"), Decimal("0.00"))


def test_text_in_an_amount_and_a_european_decimal_comma_are_refused():
    assert rejected([row(1, loan_amount="两万"), row(2, penalty_due="1,5")]) == [
        (2, "loan_amount", "Not an amount: use digits and a decimal point, e.g. 12500.00."),
        (3, "penalty_due", "Not an amount: use digits and a decimal point, e.g. 12500.00."),
    ]


def test_principal_above_the_loan_is_refused():
    assert rejected([row(1, loan_amount="1000.00", principal_due="1000.01")]) == [
        (2, "principal_due", "Principal due is more than the loan amount.")
    ]


def test_a_missing_contract_number_is_refused():
    assert rejected([row(1), row(2, contract_no="  ")]) == [(3, "contract_no", "This cell is empty; a value is required.")]


def test_a_contract_twice_in_one_file_refuses_the_second_naming_the_first():
    assert rejected([row(1), row(2), row(3, contract_no="HT00000001")]) == [
        (4, "contract_no", "Contract no. HT00000001 already appears on row 2; each contract may appear once per file.")
    ]


def test_dates_in_the_future_are_refused():
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    assert rejected([row(1, overdue_since=tomorrow), row(2, last_payment_on=tomorrow), row(3, overdue_since=TODAY.isoformat())]) == [
        (2, "overdue_since", "This date is in the future."),
        (3, "last_payment_on", "This date is in the future."),
    ]


def test_other_date_spellings_are_read_and_nonsense_is_refused():
    verdict = check([row(1, overdue_since="2024/3/5", disbursed_on="2023年1月15日", last_payment_on="20240306")])
    clean = verdict.clean[0]
    assert (clean.overdue_since, clean.disbursed_on, clean.last_payment_on) == (
        datetime.date(2024, 3, 5),
        datetime.date(2023, 1, 15),
        datetime.date(2024, 3, 6),
    )
    assert rejected([row(1, overdue_since="2024-02-30"), row(2, overdue_since="15/03/2024"), row(3, disbursed_on="1970-01-01")]) == [
        (2, "overdue_since", "Not a date: use YYYY-MM-DD, e.g. 2024-03-15."),
        (3, "overdue_since", "Not a date: use YYYY-MM-DD, e.g. 2024-03-15."),
        (4, "disbursed_on", "Before 1980; check the year."),
    ]


def test_dates_out_of_order_are_refused():
    assert rejected([row(1, disbursed_on="2024-04-01", overdue_since="2024-03-15", last_payment_on="")]) == [
        (2, "disbursed_on", "The disbursement date is after the overdue date; a loan cannot fall overdue before it is paid out.")
    ]
    assert rejected([row(1, disbursed_on="2023-01-15", last_payment_on="2022-12-31")]) == [
        (2, "last_payment_on", "The last payment is before the disbursement date.")
    ]


def test_bad_phones_are_refused():
    assert rejected([row(1, mobile="12800138000"), row(2, mobile=""), row(3, home_phone="call me"), row(4, contact1_phone="123")]) == [
        (2, "mobile", "Not a mobile number: 11 digits starting with 13 to 19."),
        (3, "mobile", "This cell is empty; a value is required."),
        (4, "home_phone", "Not a phone number: 7 to 20 digits, hyphens allowed."),
        (5, "contact1_phone", "Not a phone number: 7 to 20 digits, hyphens allowed."),
    ]


def test_mobiles_written_with_country_code_or_spaces_are_normalised():
    verdict = check([row(1, mobile="+86 138 0013 8000"), row(2, mobile="138-0013-8001")])
    assert [clean.mobile for clean in verdict.clean] == ["13800138000", "13800138001"]


def test_a_rate_that_is_not_a_number_or_out_of_range_is_refused():
    assert rejected([row(1, annual_rate="十八"), row(2, annual_rate="150"), row(3, annual_rate="-1"), row(4, annual_rate="18.123456")]) == [
        (2, "annual_rate", "Not a number: write the annual rate in percent, e.g. 24 for 24%."),
        (3, "annual_rate", "Must be between 0 and 100 (percent a year)."),
        (4, "annual_rate", "Must not be negative."),
        (5, "annual_rate", "More than four decimal places."),
    ]


def test_rates_with_a_percent_sign_are_percent():
    verdict = check([row(1, annual_rate="24%"), row(2, annual_rate="")])
    assert [clean.annual_rate for clean in verdict.clean] == [Decimal("24.0000"), None]


def test_terms_must_be_whole_months_in_range():
    assert rejected([row(1, term_months="12.5"), row(2, term_months="0"), row(3, term_months="400")]) == [
        (2, "term_months", "Must be a whole number of months."),
        (3, "term_months", "Must be between 1 and 360 months."),
        (4, "term_months", "Must be between 1 and 360 months."),
    ]
    assert check([row(1, term_months="12期")]).clean[0].term_months == 12


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","张三")', "+86 张三", "-张三", "@SUM(A1)"])
def test_formula_looking_names_are_refused_never_stored(name):
    assert rejected([row(1, borrower_name=name)]) == [
        (2, "borrower_name", f"Starts with “{name[0]}”, which spreadsheets run as a formula; names and other texts never start with it.")
    ]


def test_control_characters_and_overlong_text_are_refused():
    assert rejected([row(1, address="上海\x07"), row(2, contract_no="X" * 65)]) == [
        (2, "address", "Contains control characters."),
        (3, "contract_no", "Too long: at most 64 characters."),
    ]


def test_a_multi_line_address_becomes_one_line():
    assert check([row(1, address="上海市\n浦东新区")]).clean[0].address == "上海市 浦东新区"


def test_contacts_need_a_name_and_a_phone_and_a_known_relation():
    assert rejected(
        [row(1, contact1_phone=""), row(2, contact1_name="", contact1_phone="", contact1_relation="配偶"), row(3, contact1_relation="邻居")]
    ) == [
        (2, "contact1_phone", "A contact needs both a name and a phone number."),
        (3, "contact1_name", "A contact needs both a name and a phone number."),
        (3, "contact1_phone", "A contact needs both a name and a phone number."),
        (
            4,
            "contact1_relation",
            "Unknown relation; use spouse, parent, child, sibling, relative, colleague, friend, reference or other (配偶, 父母, 子女, 兄弟姐妹, 亲属, 同事, 朋友, 其他).",
        ),
    ]
    relations = [row(seed, contact1_relation=word) for seed, word in enumerate(["父亲", "Sibling", "同事", "", "other relative"], start=1)]
    assert [clean.contact1_relation for clean in check(relations).clean] == ["parent", "sibling", "colleague", "", "relative"]


def test_a_row_with_several_problems_lists_each_in_column_order():
    assert rejected([row(1, contract_no="", mobile="1", loan_amount="x", overdue_since="soon")]) == [
        (2, "contract_no", "This cell is empty; a value is required."),
        (2, "mobile", "Not a mobile number: 11 digits starting with 13 to 19."),
        (2, "loan_amount", "Not an amount: use digits and a decimal point, e.g. 12500.00."),
        (2, "overdue_since", "Not a date: use YYYY-MM-DD, e.g. 2024-03-15."),
    ]


def test_blank_rows_are_skipped_but_row_numbers_stay_those_of_the_sheet():
    content = to_csv([row(1)]) + b",,,,\n\n" + to_csv([row(2, mobile="x")]).split(b"\n", 1)[1]
    verdict = check([], content=content)
    assert verdict.rows == 2 and [(error.row, error.column) for error in verdict.errors] == [(5, "mobile")]


def test_a_quoted_cell_spanning_lines_is_still_one_row():
    content = to_csv([row(1, address="第一行\n第二行"), row(2, mobile="x")])
    assert [(error.row, error.column) for error in check([], content=content).errors] == [(3, "mobile")]


def test_optional_columns_may_be_left_out_entirely():
    headers = ["contract_no", "product", "borrower_name", "id_number", "mobile", "loan_amount", "principal_due", "overdue_since"]
    verdict = check([row(1)], headers=headers)
    clean = verdict.clean[0]
    assert verdict.valid == 1 and clean.interest_due == Decimal("0.00") and clean.disbursed_on is None and clean.contact1_name == ""


def test_xlsx_numbers_and_dates_are_read_as_excel_stores_them():
    def as_excel(name, text):
        if name in ("loan_amount", "principal_due", "interest_due"):
            return float(text)
        if name in ("overdue_since", "disbursed_on"):
            return datetime.datetime.fromisoformat(text)
        if name in ("mobile", "term_months"):
            return int(text)
        return text

    verdict = check([], content=to_xlsx([row(1), row(2, interest_due="0.1")], cell=as_excel))
    assert verdict.valid == 2
    assert verdict.clean[0].interest_due == Decimal("812.35") and verdict.clean[0].mobile == "13800000001"
    assert verdict.clean[1].interest_due == Decimal("0.10") and verdict.clean[0].overdue_since == datetime.date(2024, 3, 15)


def _with_excel_digits(content: bytes, written: str, stored: str) -> bytes:
    """Excel keeps 17 significant digits in the sheet XML (openpyxl writes 16): put them back."""
    source, target = io.BytesIO(content), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(f"<v>{written}</v>".encode(), f"<v>{stored}</v>".encode())
            new.writestr(item, data)
    return target.getvalue()


def test_xlsx_float_artefacts_and_numeric_id_numbers_are_refused_honestly():
    def as_excel(name, text):
        if name == "interest_due":
            return 0.3
        if name == "id_number":
            return float(text)
        return text

    content = _with_excel_digits(to_xlsx([row(1)], cell=as_excel), "0.3", repr(0.1 + 0.2))  # =0.1+0.2 in Excel: not money
    assert rejected([], content=content) == [
        (
            2,
            "id_number",
            "The ID number was stored as a number, so Excel has changed its last digits; format the column as text and enter the numbers again.",
        ),
        (2, "interest_due", "More than two decimal places; amounts are in yuan and fen."),
    ]


def test_spreadsheet_error_values_are_named():
    assert rejected([], content=to_xlsx([row(1, employer="#N/A")])) == [
        (2, "employer", "Holds a spreadsheet error (#N/A) instead of a value.")
    ]


def test_one_hundred_thousand_rows_get_the_right_verdict():
    """The whole file is checked: a few planted faults among 100,000 rows are each found, by row."""
    faults = {
        1234: {"mobile": "999"},
        50_000: {"id_number": id_number(50_000)[:17] + "Z"},
        77_777: {"principal_due": "-1"},
        99_998: {"contract_no": "HT00000005"},
    }
    rows = [row(seed, **faults.get(seed, {})) for seed in range(100_000)]
    verdict = check(rows)
    assert verdict.rows == 100_000 and verdict.valid == 100_000 - 4
    assert [(error.row, error.column) for error in verdict.errors] == [
        (1236, "mobile"),
        (50_002, "id_number"),
        (77_779, "principal_due"),
        (100_000, "contract_no"),
    ]
    assert len(verdict.clean) == 99_996 and verdict.clean[-1].row == 100_001
    assert NAMES[0] == "contract_no"
