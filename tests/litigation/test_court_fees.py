"""Court fees against 《诉讼费用交纳办法》 arts. 13–16 (domain doc §1).

Every expected value is written from the statute's slices ("分段累计": each rate on the slice inside its bracket, lower
bound exclusive, upper inclusive), not from the code. No database.
"""

import json
from decimal import ROUND_HALF_UP, Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, strategies as st

from litigation.court_fees import (
    ORDINARY,
    SMALL_CLAIMS,
    SUMMARY,
    CourtFees,
    acceptance_fee,
    court_fees,
    enforcement_fee,
    payable_acceptance_fee,
    preservation_fee,
)


def fen(value) -> D:
    return D(value).quantize(D("0.01"), rounding=ROUND_HALF_UP)


# --- Art. 13(一): the acceptance fee, at and around every bracket edge -------------------------------------------------

# Cumulative fee at the top of each bracket, from the statute's slices.
TOP_10K = D(50)
TOP_100K = TOP_10K + (100_000 - 10_000) * D("0.025")  # 2,300
TOP_200K = TOP_100K + (200_000 - 100_000) * D("0.02")  # 4,300
TOP_500K = TOP_200K + (500_000 - 200_000) * D("0.015")  # 8,800
TOP_1M = TOP_500K + (1_000_000 - 500_000) * D("0.01")  # 13,800
TOP_2M = TOP_1M + (2_000_000 - 1_000_000) * D("0.009")  # 22,800
TOP_5M = TOP_2M + (5_000_000 - 2_000_000) * D("0.008")  # 46,800
TOP_10M = TOP_5M + (10_000_000 - 5_000_000) * D("0.007")  # 81,800
TOP_20M = TOP_10M + (20_000_000 - 10_000_000) * D("0.006")  # 141,800


def test_bracket_tops_match_the_domain_table():
    assert [TOP_10K, TOP_100K, TOP_200K, TOP_500K, TOP_1M, TOP_2M, TOP_5M, TOP_10M, TOP_20M] == [
        50,
        2_300,
        4_300,
        8_800,
        13_800,
        22_800,
        46_800,
        81_800,
        141_800,
    ]


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("0", D(50)),
        ("9999.99", D(50)),
        ("10000", D(50)),
        ("10000.01", TOP_10K + D("0.01") * D("0.025")),  # 50.00025
        ("99999.99", TOP_10K + (D("99999.99") - 10_000) * D("0.025")),
        ("100000", TOP_100K),
        ("100000.01", TOP_100K + D("0.01") * D("0.02")),
        ("199999.99", TOP_100K + (D("199999.99") - 100_000) * D("0.02")),
        ("200000", TOP_200K),
        ("200000.01", TOP_200K + D("0.01") * D("0.015")),
        ("500000", TOP_500K),
        ("500000.01", TOP_500K + D("0.01") * D("0.01")),
        ("1000000", TOP_1M),
        ("1000000.01", TOP_1M + D("0.01") * D("0.009")),
        ("2000000", TOP_2M),
        ("2000000.01", TOP_2M + D("0.01") * D("0.008")),
        ("5000000", TOP_5M),
        ("5000000.01", TOP_5M + D("0.01") * D("0.007")),
        ("10000000", TOP_10M),
        ("10000000.01", TOP_10M + D("0.01") * D("0.006")),
        ("20000000", TOP_20M),
        ("20000000.01", TOP_20M + D("0.01") * D("0.005")),
        ("30000000", TOP_20M + (30_000_000 - 20_000_000) * D("0.005")),
    ],
)
def test_acceptance_fee_is_exact_at_and_around_every_bracket_edge(amount, expected):
    assert acceptance_fee(amount) == expected


@pytest.mark.parametrize("edge", [10_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000])
def test_acceptance_fee_to_the_fen_does_not_jump_at_a_bracket_edge(edge):
    # one fen above the edge adds at most 2.5% of a fen: the same fee to the fen
    assert court_fees(D(edge) + D("0.01")).acceptance_fee == court_fees(edge).acceptance_fee == fen(acceptance_fee(edge))


# --- §1.7 / §9 worked examples --------------------------------------------------------------------------------------

# claim, acceptance, summary (½), preservation (whole claim preserved), enforcement — domain doc §1.7, §9
WORKED = [
    ("800", "50.00", "25.00", "30.00", "50.00"),
    ("10000", "50.00", "25.00", "120.00", "50.00"),
    ("10000.01", "50.00", "25.00", "120.00", "50.00"),
    ("35000", "675.00", "337.50", "370.00", "425.00"),
    ("100000", "2300.00", "1150.00", "1020.00", "1400.00"),
    ("150000", "3300.00", "1650.00", "1270.00", "2150.00"),
    ("200000", "4300.00", "2150.00", "1520.00", "2900.00"),
    ("480000", "8500.00", "4250.00", "2920.00", "7100.00"),
    ("500000", "8800.00", "4400.00", "3020.00", "7400.00"),
    ("1000000", "13800.00", "6900.00", "5000.00", "12400.00"),
    ("2500000", "26800.00", "13400.00", "5000.00", "27400.00"),
    ("12000000", "93800.00", "46900.00", "5000.00", "79400.00"),
    ("30000000", "191800.00", "95900.00", "5000.00", "97400.00"),
]


@pytest.mark.parametrize("amount, acceptance, summary, preservation, enforcement", WORKED)
def test_worked_examples_of_the_domain_reference(amount, acceptance, summary, preservation, enforcement):
    fees = court_fees(amount)
    assert fees.acceptance_fee == D(acceptance)
    assert fees.summary_procedure_fee == D(summary)
    assert fees.preservation_fee == D(preservation)
    assert fees.enforcement_fee == D(enforcement)


def test_worked_example_arithmetic_written_out():
    # 2,500,000: 13,800 + 1,000,000 × 0.9% + 500,000 × 0.8%
    assert acceptance_fee(2_500_000) == TOP_1M + 1_000_000 * D("0.009") + 500_000 * D("0.008") == 26_800
    # 12,000,000: 46,800 + 5,000,000 × 0.7% + 2,000,000 × 0.6%
    assert acceptance_fee(12_000_000) == TOP_5M + 5_000_000 * D("0.007") + 2_000_000 * D("0.006") == 93_800


# --- Art. 14(二): preservation, on the preserved amount, capped at 5,000 ---------------------------------------------------


@pytest.mark.parametrize(
    "preserved, expected",
    [
        (None, D(30)),  # 不涉及财产数额
        ("0", D(30)),
        ("1000", D(30)),
        ("1000.01", 30 + D("0.01") * D("0.01")),
        ("10000", 30 + (10_000 - 1_000) * D("0.01")),  # 120, not 90: the cumulative reading
        ("100000", 30 + (100_000 - 1_000) * D("0.01")),  # 1,020
        ("100000.01", 30 + 99_000 * D("0.01") + D("0.01") * D("0.005")),
        ("895999.99", 1_020 + (D("895999.99") - 100_000) * D("0.005")),  # 4,999.99995
        ("896000", 1_020 + (896_000 - 100_000) * D("0.005")),  # exactly 5,000: the cap is reached here
        ("896000.01", D(5_000)),
        ("50000000", D(5_000)),
    ],
)
def test_preservation_fee_at_and_around_its_edges(preserved, expected):
    assert preservation_fee(preserved) == expected


def test_preservation_is_on_the_preserved_amount_not_the_claim():
    fees = court_fees("1000000", preserved="5000")
    assert fees.preservation_fee == 30 + (5_000 - 1_000) * D("0.01") == D("70.00")
    assert fees.acceptance_fee == D("13800.00")


def test_preservation_just_under_the_cap_rounds_to_5000():
    assert court_fees("895999.99").preservation_fee == D("5000.00")  # 4,999.99995 → 5,000.00


# --- Art. 14(一): enforcement -------------------------------------------------------------------------------------------

E_TOP_10K = D(50)
E_TOP_500K = E_TOP_10K + (500_000 - 10_000) * D("0.015")  # 7,400
E_TOP_5M = E_TOP_500K + (5_000_000 - 500_000) * D("0.01")  # 52,400
E_TOP_10M = E_TOP_5M + (10_000_000 - 5_000_000) * D("0.005")  # 77,400


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("10000", E_TOP_10K),
        ("10000.01", E_TOP_10K + D("0.01") * D("0.015")),
        ("500000", E_TOP_500K),
        ("500000.01", E_TOP_500K + D("0.01") * D("0.01")),
        ("5000000", E_TOP_5M),
        ("5000000.01", E_TOP_5M + D("0.01") * D("0.005")),
        ("10000000", E_TOP_10M),
        ("10000000.01", E_TOP_10M + D("0.01") * D("0.001")),
        ("30000000", E_TOP_10M + 20_000_000 * D("0.001")),  # 0.1% above 10 million, not 1%
    ],
)
def test_enforcement_fee_at_and_around_every_bracket_edge(amount, expected):
    assert enforcement_fee(amount) == expected


def test_enforcement_bracket_tops_match_the_domain_table():
    assert [E_TOP_500K, E_TOP_5M, E_TOP_10M] == [7_400, 52_400, 77_400]


# --- Arts. 15, 16, 14(三): halving and the payment order ---------------------------------------------------------------


def test_summary_procedure_pays_half():
    assert payable_acceptance_fee("35000", procedure=SUMMARY) == D("337.50")  # 675 / 2


def test_ordinary_procedure_pays_in_full():
    assert payable_acceptance_fee("35000", procedure=ORDINARY) == D("675.00")
    assert payable_acceptance_fee("35000") == D("675.00")


def test_small_claims_pay_half_as_summary_procedure():
    assert payable_acceptance_fee("35000", procedure=SMALL_CLAIMS) == D("337.50")


def test_mediation_or_withdrawal_pays_half():
    assert payable_acceptance_fee("35000", mediated=True) == D("337.50")
    assert payable_acceptance_fee("35000", withdrawn=True) == D("337.50")


def test_halvings_do_not_stack():
    assert payable_acceptance_fee("35000", procedure=SUMMARY, mediated=True) == D("337.50")  # ½, never ¼
    assert payable_acceptance_fee("35000", procedure=SMALL_CLAIMS, mediated=True, withdrawn=True) == D("337.50")


def test_half_of_an_odd_fee_rounds_half_up_to_the_fen():
    # 10,000.50: 50 + 0.50 × 2.5% = 50.0125; half = 25.00625 → 25.01
    assert payable_acceptance_fee("10000.50", procedure=SUMMARY) == D("25.01")
    assert court_fees("10000.50").summary_procedure_fee == D("25.01")


def test_payment_order_pays_a_third_to_the_fen():
    assert court_fees("800").payment_order_fee == D("16.67")  # 50 / 3 = 16.666…
    assert court_fees("35000").payment_order_fee == D("225.00")  # 675 / 3
    assert court_fees("100000").payment_order_fee == D("766.67")  # 2,300 / 3 = 766.666…


def test_unknown_procedure_is_refused():
    with pytest.raises(ValueError, match="procedure"):
        payable_acceptance_fee("35000", procedure="appeal")


# --- Rounding once, at the end ------------------------------------------------------------------------------------------


def test_rounds_once_at_the_end_not_per_step():
    # 10,000.30: acceptance 50 + 0.30 × 2.5% = 50.0075 → 50.01. Half of the exact fee is 25.00375 → 25.00; halving the
    # already rounded 50.01 would give 25.005 → 25.01. Rounding happens once, on the exact half.
    fees = court_fees("10000.30")
    assert fees.acceptance_fee == D("50.01")
    assert fees.summary_procedure_fee == D("25.00")
    assert payable_acceptance_fee("10000.30", procedure=SUMMARY) == D("25.00")
    # 10,000.01: 50.00025 → 50.00 (domain doc §1.6)
    assert court_fees("10000.01").acceptance_fee == D("50.00")


def test_amount_is_quantised_to_the_fen_in_the_result():
    assert court_fees(35000).amount == D("35000.00")


# --- Input ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [35000, "35000", D("35000")])
def test_accepts_int_string_and_decimal(amount):
    assert court_fees(amount).acceptance_fee == D("675.00")


def test_refuses_a_float():
    with pytest.raises(TypeError):
        court_fees(35000.0)
    with pytest.raises(TypeError):
        acceptance_fee(0.1)


@pytest.mark.parametrize("amount", ["-0.01", -1, "abc", "", "NaN", "Infinity"])
def test_refuses_a_negative_or_non_number(amount):
    with pytest.raises(ValueError):
        court_fees(amount)


def test_refuses_a_negative_preserved_amount():
    with pytest.raises(ValueError):
        court_fees("1000", preserved="-5")


# --- The command --------------------------------------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("court_fees", *args, stdout=out)
    return out.getvalue()


def test_command_json_has_the_six_keys_as_two_decimal_strings():
    data = json.loads(run("--amount", "35000", "--json"))
    assert data == {
        "amount": "35000.00",
        "acceptance_fee": "675.00",
        "summary_procedure_fee": "337.50",
        "preservation_fee": "370.00",
        "enforcement_fee": "425.00",
        "payment_order_fee": "225.00",
    }


def test_command_json_rounds_at_the_end():
    data = json.loads(run("--amount", "10000.01", "--json"))
    assert data["acceptance_fee"] == "50.00"
    assert data["payment_order_fee"] == "16.67"
    assert data["amount"] == "10000.01"


def test_command_json_preserved_amount():
    data = json.loads(run("--amount", "1000000", "--preserved", "5000", "--json"))
    assert data["preservation_fee"] == "70.00"
    assert data["acceptance_fee"] == "13800.00"


def test_command_table_is_readable():
    text = run("--amount", "35000")
    assert "¥675.00" in text and "¥337.50" in text and "¥225.00" in text
    assert "Acceptance fee" in text or "受理费" in text


@pytest.mark.parametrize("amount", ["-1", "abc", "1e"])
def test_command_refuses_a_bad_amount(amount):
    with pytest.raises(CommandError):
        run("--amount", amount, "--json")


def test_as_json_of_a_hand_built_result():
    fees = CourtFees(D("1"), D("50"), D("25"), D("30"), D("50"), D("16.67"))
    assert fees.as_json()["acceptance_fee"] == "50.00"


# --- Properties ---------------------------------------------------------------------------------------------------------

# The quick formulas of domain doc §1.1 (one per bracket): (upper bound inclusive, rate, constant).
QUICK = [
    (D(10_000), D(0), D(50)),
    (D(100_000), D("0.025"), D(-200)),
    (D(200_000), D("0.02"), D(300)),
    (D(500_000), D("0.015"), D(1_300)),
    (D(1_000_000), D("0.01"), D(3_800)),
    (D(2_000_000), D("0.009"), D(4_800)),
    (D(5_000_000), D("0.008"), D(6_800)),
    (D(10_000_000), D("0.007"), D(11_800)),
    (D(20_000_000), D("0.006"), D(21_800)),
    (None, D("0.005"), D(41_800)),
]


def quick_formula(amount: D) -> D:
    for upper, rate, constant in QUICK:
        if upper is None or amount <= upper:
            return amount * rate + constant
    raise AssertionError


amounts = st.decimals(min_value=0, max_value=60_000_000, places=2, allow_nan=False, allow_infinity=False)


@given(amounts)
def test_cumulative_computation_equals_each_brackets_quick_formula(amount):
    assert acceptance_fee(amount) == quick_formula(amount)


@given(amounts, amounts)
def test_fees_never_decrease_as_the_amount_grows(a, b):
    low, high = min(a, b), max(a, b)
    assert acceptance_fee(low) <= acceptance_fee(high)
    assert preservation_fee(low) <= preservation_fee(high)
    assert enforcement_fee(low) <= enforcement_fee(high)
    assert court_fees(low).acceptance_fee <= court_fees(high).acceptance_fee


@given(
    st.sampled_from([upper for upper, _rate, _constant in QUICK if upper is not None]),
    st.decimals(min_value="0.01", max_value=1000, places=2),
)
def test_quick_formulas_meet_at_every_edge(edge, step):
    # continuity: the two neighbouring brackets' formulas agree at the edge, and just above it the fee grows by at most 2.5%
    below = next(i for i, (upper, _r, _c) in enumerate(QUICK) if upper == edge)
    _upper, rate_above, constant_above = QUICK[below + 1]
    assert edge * QUICK[below][1] + QUICK[below][2] == edge * rate_above + constant_above
    assert 0 <= acceptance_fee(edge + step) - acceptance_fee(edge) <= step * D("0.025")
