"""Input rules (issue item 8): ID numbers and phones in ASCII digits only, ID region codes, rates in percent."""

import datetime
from decimal import Decimal

import pytest

from portal.intake import mapping, parsing, validation
from portal.intake.errors import CellError
from portal.lib import idnumber, phones
from tests.intake_support import id_number, row, to_csv

TODAY = datetime.date(2026, 6, 30)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # digits of another script: \d matches them, dialers do not
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


def check(rows, *, chosen=None, **csv_options):
    table = parsing.read_table(to_csv(rows, **csv_options), max_bytes=50 * 1024 * 1024)
    columns = mapping.resolve(table.headers, chosen)
    columns.check()
    return validation.validate(table, columns, today=TODAY)


def refused(rows, **options):
    return [(error.row, error.column, error.code) for error in check(rows, **options).errors]


@pytest.mark.parametrize("digits", [ARABIC_INDIC, DEVANAGARI])
def test_id_numbers_in_digits_of_another_script_are_refused(digits):
    number = id_number(5)
    assert idnumber.validate(number) is None
    assert idnumber.validate(number.translate(digits)) == "must be 17 digits followed by a digit or X"
    assert refused([row(1, id_number=number.translate(digits))]) == [(2, "id_number", "id_format")]


@pytest.mark.parametrize("digits", [ARABIC_INDIC, DEVANAGARI])
def test_phones_in_digits_of_another_script_are_refused(digits):
    assert not phones.is_mobile("13800138000".translate(digits)) and phones.is_mobile("13800138000")
    assert not phones.is_phone("021-55501234".translate(digits)) and phones.is_phone("021-55501234")
    assert refused(
        [
            row(
                1,
                mobile="13800138000".translate(digits),
                home_phone="021-55501234".translate(digits),
                contact1_phone="13900139000".translate(digits),
            )
        ]
    ) == [(2, "mobile", "mobile"), (2, "home_phone", "phone"), (2, "contact1_phone", "phone")]


def test_full_width_digits_from_a_spreadsheet_are_still_read_as_ascii():
    verdict = check([row(1, mobile="１３８００１３８０００")])
    assert not verdict.errors and verdict.clean[0].mobile == "13800138000"


@pytest.mark.parametrize(
    "region", ["00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66", "70", "72", "80", "84", "99"]
)
def test_an_id_number_whose_region_is_no_province_is_refused(region):
    """GB 11643: the first six digits are the address code of GB/T 2260; its first two name the province."""
    number = id_number(9, region=f"{region}0105")
    assert idnumber.validate(number) == "region code is not a province of GB/T 2260"
    assert refused([row(1, id_number=number)]) == [(2, "id_number", "id_region")]


@pytest.mark.parametrize("region", ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82", "83"])
def test_every_province_level_code_is_accepted(region):
    number = id_number(9, region=f"{region}0105")
    assert idnumber.validate(number) is None and refused([row(1, id_number=number)]) == []


def test_a_rate_below_one_is_refused_as_a_likely_fraction():
    verdict = check([row(1, annual_rate="0.18"), row(2, annual_rate="18"), row(3, annual_rate="0"), row(4, annual_rate="1")])
    assert [(error.row, error.column, error.code) for error in verdict.errors] == [(2, "annual_rate", "rate_fraction")]
    assert "did you mean 18%?" in verdict.errors[0].message
    assert [clean.annual_rate for clean in verdict.clean] == [Decimal("18.0000"), Decimal("0.0000"), Decimal("1.0000")]
    with pytest.raises(CellError) as refused_cell:
        validation.clean_rate("0.0525")
    assert refused_cell.value.params["percent"] == "5.25"


def test_a_mapping_that_marks_the_rate_as_a_fraction_reads_it_as_one():
    chosen = {
        name: name
        for name in (
            "contract_no",
            "product",
            "borrower_name",
            "id_number",
            "mobile",
            "loan_amount",
            "principal_due",
            "overdue_since",
            "annual_rate",
        )
    }
    chosen[mapping.RATE_IS_FRACTION] = True
    verdict = check([row(1, annual_rate="0.18"), row(2, annual_rate="0.2425"), row(3, annual_rate="18%")], chosen=chosen)
    assert not verdict.errors
    assert [clean.annual_rate for clean in verdict.clean] == [Decimal("18.0000"), Decimal("24.2500"), Decimal("18.0000")]


def test_the_fraction_flag_is_kept_inside_the_saved_mapping():
    headers = ["合同编号", "产品", "姓名", "身份证号", "手机号", "借款金额", "剩余本金", "逾期日期", "年化"]
    chosen = {
        "contract_no": "合同编号",
        "product": "产品",
        "borrower_name": "姓名",
        "id_number": "身份证号",
        "mobile": "手机号",
        "loan_amount": "借款金额",
        "principal_due": "剩余本金",
        "overdue_since": "逾期日期",
        "annual_rate": "年化",
        mapping.RATE_IS_FRACTION: True,
    }
    resolved = mapping.resolve(headers, chosen, fallback=False)
    saved = resolved.as_saved()
    assert saved[mapping.RATE_IS_FRACTION] is True and mapping.resolve(headers, saved).rate_is_fraction
    assert mapping.covers(saved, headers)  # the option is not a header the file must have
    assert (
        not mapping.resolve(headers, {**chosen, mapping.RATE_IS_FRACTION: False}, fallback=False).as_saved().get(mapping.RATE_IS_FRACTION)
    )


def test_the_mapping_form_offers_the_fraction_checkbox():
    from portal.intake.forms import MappingForm

    headers = ["contract_no", "product", "borrower_name", "id_number", "mobile", "loan_amount", "principal_due", "overdue_since", "rate"]
    data = {name: name for name in headers[:-1]} | {"annual_rate": "rate", "annual_rate_is_fraction": "on"}
    form = MappingForm(data, headers=headers)
    assert form.is_valid(), form.errors
    assert form.chosen()[mapping.RATE_IS_FRACTION] is True
    assert MappingForm(headers=headers, initial_mapping={mapping.RATE_IS_FRACTION: True})["annual_rate_is_fraction"].initial is True
