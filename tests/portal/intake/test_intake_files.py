"""Intake: whole files judged by their content: encodings, empty and broken files, workbooks, headers."""

import io
import json
import zipfile
from decimal import Decimal

import pytest

from portal.intake import mapping, parsing, validation
from portal.intake.errors import IntakeError
from tests.intake_support import row, to_csv, to_xlsx

LIMIT = 50 * 1024 * 1024


def read(content, **options):
    return parsing.read_table(content, max_bytes=options.pop("max_bytes", LIMIT), **options)


def verdict_of(content):
    table = read(content)
    columns = mapping.resolve(table.headers)
    columns.check()
    return table, validation.validate(table, columns)


def refusal(content, **options) -> str:
    with pytest.raises(IntakeError) as caught:
        table = read(content, **options)
        list(table.rows())
    return caught.value.message


CHINESE = {
    "contract_no": "合同编号",
    "product": "产品名称",
    "borrower_name": "借款人姓名",
    "id_number": "身份证号码",
    "mobile": "手机号",
    "home_phone": "家庭电话",
    "work_phone": "单位电话",
    "employer": "工作单位",
    "address": "家庭地址",
    "contact1_name": "联系人1姓名",
    "contact1_relation": "联系人1关系",
    "contact1_phone": "联系人1电话",
    "loan_amount": "借款金额",
    "disbursed_on": "放款日期",
    "annual_rate": "年利率",
    "term_months": "期限（月）",
    "principal_due": "剩余本金",
    "interest_due": "应还利息",
    "penalty_due": "罚息",
    "fees_due": "费用",
    "overdue_since": "逾期起始日",
    "last_payment_on": "最近还款日",
    "region": "地区",
}


@pytest.mark.parametrize("encoding,detected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")])
def test_utf8_with_or_without_bom_and_gb18030_read_the_same(encoding, detected):
    table, verdict = verdict_of(to_csv([row(1), row(2)], rename=CHINESE, encoding=encoding))
    assert table.encoding == detected and table.format == "csv"
    assert verdict.valid == 2 and verdict.clean[0].borrower_name == "张三1" and verdict.clean[0].contact1_relation == "spouse"


@pytest.mark.parametrize(
    "content",
    [
        to_csv([row(1)]).decode().encode("utf-16"),  # Excel's "Unicode text"
        "contract_no,borrower_name\nHT1,café ñandú\n".encode("latin-1"),
        b"%PDF-1.4\n\xff\xfe\x00binary\x80\x81",
    ],
    ids=["utf-16", "latin-1", "binary"],
)
def test_other_encodings_are_refused_with_what_to_do(content):
    assert refusal(content) == "The file is not UTF-8 or GB18030 text; save it as CSV UTF-8 and upload again."


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n"], ids=["zero-bytes", "only-blank-lines"])
def test_an_empty_file_is_refused(content):
    assert refusal(content) == "The file is empty."


def test_a_header_without_rows_is_refused():
    assert refusal(to_csv([])) == "The file has column names but no rows."
    assert refusal(to_csv([]) + b",,,\n\n") == "The file has column names but no rows."


def test_a_file_without_a_header_row_is_refused():
    assert refusal(b",,,\n" + to_csv([row(1)])) == "The first row must hold the column names."


def test_a_stray_quote_is_reported_with_its_row():
    content = to_csv([row(1)]) + b'HT2,"unfinished\n' + b"x," * 70000 + b"\n"
    assert refusal(content) == "The CSV file cannot be read from row 3 on; look for a stray quote mark."


def test_more_rows_than_allowed_is_refused():
    assert (
        refusal(to_csv([row(seed) for seed in range(4)]), max_rows=3)
        == "The file has more than 3 rows; split it into files of at most 3 rows."
    )


def test_a_file_over_the_size_limit_is_refused_before_reading():
    assert refusal(b"x" * (3 * 1024 * 1024), max_bytes=2 * 1024 * 1024) == "The file is larger than 2 MB."


def test_an_old_xls_is_refused_by_its_content():
    assert (
        refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
        == "Old Excel files (.xls) are not supported; save the sheet as .xlsx or as CSV UTF-8."
    )


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    assert refusal(buffer.getvalue()) == "The workbook could not be read; save it again as .xlsx or as CSV UTF-8."
    assert refusal(b"PK\x03\x04 truncated") == "The workbook could not be read; save it again as .xlsx or as CSV UTF-8."


def test_a_workbook_that_unpacks_too_large_is_refused_before_it_is_opened(monkeypatch):
    """ASVS 5.2.3: the unpacked size is checked from the archive's directory, before any XML is parsed."""
    import openpyxl

    monkeypatch.setattr(parsing, "XLSX_MAX_UNPACKED", 10_000)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *args, **kwargs: pytest.fail("opened a workbook over the limit"))
    assert refusal(to_xlsx([row(seed) for seed in range(50)])) == "The workbook is too large when unpacked."


def test_xlsx_with_chinese_headers_is_matched_and_read():
    table, verdict = verdict_of(to_xlsx([row(1), row(2, mobile="bad")], rename=CHINESE))
    assert table.format == "xlsx"
    assert verdict.valid == 1 and [(error.row, error.column, error.header) for error in verdict.errors] == [(3, "mobile", "手机号")]


def test_an_xlsx_percent_cell_is_a_percent():
    from openpyxl import load_workbook

    content = to_xlsx([row(1, annual_rate="0.1825")], cell=lambda name, text: float(text) if name == "annual_rate" else text)
    workbook = load_workbook(io.BytesIO(content))
    workbook.active["O2"].number_format = "0.00%"
    buffer = io.BytesIO()
    workbook.save(buffer)
    _table, verdict = verdict_of(buffer.getvalue())
    assert verdict.clean[0].annual_rate == Decimal("18.25")


def test_two_columns_read_as_the_same_field_are_refused_by_name():
    headers = ["contract_no", "product", "borrower_name", "id_number", "手机", "手机号", "loan_amount", "principal_due", "overdue_since"]
    table = read(",".join(headers).encode() + b"\n")
    with pytest.raises(IntakeError) as caught:
        mapping.resolve(table.headers).check()
    assert caught.value.message == "Two columns are both read as “mobile”: “手机” and “手机号”. Remove one, or map the columns yourself."


def test_missing_required_columns_are_named():
    table = read(b"contract_no,product,borrower_name,mobile,loan_amount,principal_due\n")
    with pytest.raises(IntakeError) as caught:
        mapping.resolve(table.headers).check()
    assert caught.value.message == (
        "Required columns are missing: id_number (身份证号), overdue_since (逾期起始日). "
        "Use the template's column names, or map your columns."
    )


def test_headers_are_matched_whatever_their_width_case_or_required_star():
    table = read("Contract_No,产品 ,借款人姓名*,身份证号码,手机号,借款金额,剩余本金,逾期起始日,期限(月)\n".encode())
    assert mapping.resolve(table.headers).complete


def test_tab_separated_text_is_read():
    content = to_csv([row(1)]).decode().replace(",", "\t").encode()
    _table, verdict = verdict_of(content)
    assert verdict.valid == 1


def test_json_rows_keep_numbers_exact_and_number_rows_like_a_sheet():
    rows = [row(1), {**row(2), "mobile": "x"}]
    rows[0]["loan_amount"] = 20000.10  # a JSON number: read as Decimal("20000.1"), never a float
    table = read(json.dumps(rows).encode(), json_rows=True)
    verdict = validation.validate(table, mapping.resolve(table.headers))
    assert verdict.clean[0].loan_amount == Decimal("20000.10")
    assert [(error.row, error.column) for error in verdict.errors] == [(3, "mobile")]


@pytest.mark.parametrize("body", [b"{not json", b'{"rows": 5}', b"[1, 2]"])
def test_json_that_is_not_a_list_of_rows_is_refused(body):
    assert refusal(body, json_rows=True) == "Send a JSON list of rows, each an object keyed by the template's column names."
