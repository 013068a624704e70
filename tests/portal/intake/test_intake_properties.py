"""Properties of the row rules (hypothesis): valid rows pass and round-trip exactly; breaking one field refuses exactly that
column; the whole-column fast path never accepts what the cell rules refuse, nor reads anything differently."""

import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from portal.intake import mapping, parsing, validation
from portal.lib import idnumber
from tests.intake_support import to_csv

TODAY = datetime.date(2026, 6, 30)
HAN = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
TEXT = st.text(alphabet=HAN + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789·()（）号路市区", min_size=1, max_size=30)
MONEY = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2, allow_nan=False, allow_infinity=False)
RELATION_WORDS = {
    "spouse": "配偶",
    "parent": "父母",
    "child": "子女",
    "sibling": "兄弟姐妹",
    "relative": "亲属",
    "colleague": "同事",
    "friend": "朋友",
    "other": "其他",
}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def id_numbers(draw):
    born = draw(st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2005, 12, 31)))
    first17 = f"{draw(st.sampled_from(['110105', '310101', '440305', '510104']))}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + idnumber.check_char(first17)


@st.composite
def valid_rows(draw):
    """(cells as a lender's file has them, the values the import must read from them)."""
    loan = draw(MONEY)
    principal = draw(st.decimals(min_value=0, max_value=loan, places=2, allow_nan=False, allow_infinity=False))
    disbursed = draw(st.dates(min_value=datetime.date(1990, 1, 1), max_value=TODAY))
    overdue = draw(st.dates(min_value=disbursed, max_value=TODAY))
    paid = draw(st.none() | st.dates(min_value=disbursed, max_value=TODAY))
    # Percent: 0, or 1 to 100 (a rate between 0 and 1 is refused as a likely fraction: tests/test_input_rates.py).
    rate = draw(
        st.none() | st.just(Decimal("0.00")) | st.decimals(min_value=1, max_value=100, places=2, allow_nan=False, allow_infinity=False)
    )
    relation = draw(st.sampled_from(sorted(RELATION_WORDS)))
    values = {
        "contract_no": draw(st.from_regex(r"[A-Z]{2}[0-9]{6,20}", fullmatch=True)),
        "product": draw(TEXT),
        "borrower_name": draw(TEXT),
        "id_number": draw(id_numbers()),
        "mobile": draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)),
        "home_phone": draw(st.sampled_from(["", "021-55501234", "01066001234"])),
        "work_phone": "",
        "employer": draw(TEXT),
        "address": draw(TEXT),
        "contact1_name": draw(TEXT),
        "contact1_relation": relation,
        "contact1_phone": draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)),
        "loan_amount": loan,
        "disbursed_on": disbursed,
        "annual_rate": rate,
        "term_months": draw(st.none() | st.integers(1, 360)),
        "principal_due": principal,
        "interest_due": draw(MONEY),
        "penalty_due": draw(MONEY),
        "fees_due": draw(MONEY),
        "overdue_since": overdue,
        "last_payment_on": paid,
        "region": draw(TEXT),
    }
    cells = {name: "" if value is None else str(value) for name, value in values.items()}
    cells["contact1_relation"] = draw(st.sampled_from([relation, RELATION_WORDS[relation]]))
    return cells, values


def check(cells_list):
    table = parsing.read_table(to_csv(cells_list), max_bytes=10 * 1024 * 1024)
    return validation.validate(table, mapping.resolve(table.headers), today=TODAY)


@SETTINGS
@given(valid_rows())
def test_valid_rows_pass_and_read_back_exactly(generated):
    cells, values = generated
    verdict = check([cells])
    assert verdict.errors == [] and verdict.valid == 1
    clean = verdict.clean[0]
    for name, value in values.items():
        assert getattr(clean, name) == value, name


BREAKERS = {
    "contract_no": ["", "=1+1", "X" * 65],
    "product": ["", "@SUM(A1)"],
    "borrower_name": ["", '=HYPERLINK("x")', "+张三", "-张三", "张\x07三"],
    "id_number": ["", "123", "110105194913310010", "11010519491231002Y"],
    "mobile": ["", "12345678901", "1380013800", "abc"],
    "home_phone": ["abc", "12"],
    "contact1_relation": ["邻居", "boss"],
    "contact1_phone": ["x", "123"],
    "loan_amount": ["", "abc", "-1", "1.001", "1e5"],
    "disbursed_on": ["2020-13-01", "yesterday", "1979-12-31", "2999-01-01"],
    "annual_rate": ["abc", "101", "-1", "1.00001"],
    "term_months": ["0", "361", "1.5", "twelve"],
    "principal_due": ["", "abc", "-0.01", "0.001"],
    "interest_due": ["abc", "-5", "0.555"],
    "overdue_since": ["", "2024-02-30", "2999-01-01"],
    "last_payment_on": ["not a date", "2999-01-01"],
    "region": ["=A1"],
}


@SETTINGS
@given(valid_rows(), st.sampled_from(sorted(BREAKERS)), st.data())
def test_breaking_one_field_refuses_exactly_that_column(generated, column, data):
    cells, _values = generated
    broken = {**cells, column: data.draw(st.sampled_from(BREAKERS[column]))}
    verdict = check([broken])
    assert verdict.valid == 0 and [(error.row, error.column) for error in verdict.errors] == [(2, column)]


CELLS = {
    "text": st.text(max_size=12) | TEXT | st.from_regex(r"[ 张\u3000\t\n=#-]{0,6}[张三a]{1,3}[ \u3000\n]{0,3}", fullmatch=True),
    "mobile": st.from_regex(r"\+?[0-9 \-]{0,16}", fullmatch=True)
    | st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
    | st.from_regex(r"1[3-9][0-9\u0660-\u0669\u0966-\u096f]{9}", fullmatch=True),
    "amount": st.from_regex(r"-?[0-9,]{0,14}(\.[0-9]{0,4})?", fullmatch=True) | MONEY.map(str),
    "rate": st.from_regex(r"-?[0-9]{0,4}(\.[0-9]{0,6})?%?", fullmatch=True),
    "term": st.from_regex(r"[0-9]{0,4}(\.[0-9])?", fullmatch=True),
    "date": st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True) | st.dates().map(str) | st.just(""),
    "id": id_numbers()
    | st.from_regex(r"[0-9]{17}[0-9Xx]", fullmatch=True)
    | st.from_regex(r"[0-9\u0660-\u0669]{17}[0-9X]", fullmatch=True),
    "relation": st.sampled_from(["", "配偶", "spouse", "Spouse", " 朋友", "邻居"]),
}
FIELDS = {
    "contract_no": "text",
    "borrower_name": "text",
    "address": "text",
    "mobile": "mobile",
    "home_phone": "mobile",
    "loan_amount": "amount",
    "interest_due": "amount",
    "annual_rate": "rate",
    "term_months": "term",
    "disbursed_on": "date",
    "overdue_since": "date",
    "id_number": "id",
    "contact1_relation": "relation",
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(FIELDS)), st.data())
def test_the_column_fast_path_agrees_with_the_cell_rules(name, data):
    column = data.draw(st.lists(CELLS[FIELDS[name]], min_size=1, max_size=8))
    rule = validation.rules(today=TODAY)[name]
    fast = rule.fast(tuple(column))
    if fast is None:
        return
    for cell, value in zip(column, fast, strict=True):
        assert rule.clean(cell) == value, cell  # raises CellError if the fast path let through a bad cell
