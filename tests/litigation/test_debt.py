"""The debt calculation statement (债权计算表): worked examples by hand from the stated conventions, the caps
(法发〔2017〕22号 item 2; 民间借贷规定 arts. 25, 28, 29), the command's JSON, and properties (hypothesis).

Conventions (issue 9 item 5): daily rate = annual rate ÷ basis; days 算头不算尾 (end − start); penalty interest
replaces contractual interest from the due date; compound interest at the penalty rate on unpaid contractual
interest; payments settle costs, interest (oldest first), principal (民法典 art. 561); each line rounded to the fen
once, totals the sums of the lines."""

import datetime
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings, strategies as st

from litigation.debt import (
    FINANCIAL_INSTITUTION,
    PRIVATE_LENDING,
    LoanTerms,
    Payment,
    RateChange,
    calculate,
)

D = datetime.date
FIXTURES = Path(__file__).parent / "fixtures"


def terms(**overrides) -> LoanTerms:
    """10,000 at 18% (penalty 27%), interest paid to 2026-01-01, due 2026-03-01 (59 days later), cut-off 2026-04-01
    (31 days after the due date), basis 360, a financial institution, no compound interest."""
    values = {
        "principal": Decimal("10000"),
        "annual_rate": Decimal("18"),
        "penalty_rate": Decimal("27"),
        "compound": False,
        "basis": 360,
        "interest_from": D(2026, 1, 1),
        "due_date": D(2026, 3, 1),
        "cutoff": D(2026, 4, 1),
    }
    values.update(overrides)
    return LoanTerms(**values)


def lines(statement, kind):
    return [segment for segment in statement.segments if segment.kind == kind]


def amounts(statement, kind):
    return [segment.amount for segment in lines(statement, kind)]


# --- worked examples ------------------------------------------------------------------------------------------


def test_basis_360_interest_to_the_due_date_then_penalty_interest_instead():
    statement = calculate(terms())
    # 10,000 × 18% ÷ 360 = 5.00 a day × 59 days (1 Jan – 1 Mar 2026: 31 + 28) = 295.00
    assert amounts(statement, "interest") == [Decimal("295.00")]
    # 10,000 × 27% ÷ 360 = 7.50 a day × 31 days (1 Mar – 1 Apr) = 232.50, and no contractual interest after the due date
    assert amounts(statement, "penalty_interest") == [Decimal("232.50")]
    assert [(s.start, s.end, s.days) for s in lines(statement, "interest")] == [(D(2026, 1, 1), D(2026, 3, 1), 59)]
    assert [(s.start, s.end, s.days) for s in lines(statement, "penalty_interest")] == [(D(2026, 3, 1), D(2026, 4, 1), 31)]
    assert lines(statement, "interest")[0].formula == "10,000.00 × 18% ÷ 360 × 59"
    assert (statement.principal, statement.interest, statement.penalty_interest) == (Decimal("10000"), Decimal("295.00"), Decimal("232.50"))
    assert statement.compound_interest == 0 and statement.fees == 0
    assert statement.total == Decimal("10527.50")


def test_basis_365_rounds_each_line_half_up_once():
    statement = calculate(terms(basis=365))
    # 10,000 × 18% × 59 ÷ 365 = 106,200 ÷ 365 = 290.9589… → 290.96
    assert amounts(statement, "interest") == [Decimal("290.96")]
    # 10,000 × 27% × 31 ÷ 365 = 83,700 ÷ 365 = 229.3150… → 229.32
    assert amounts(statement, "penalty_interest") == [Decimal("229.32")]
    assert lines(statement, "penalty_interest")[0].formula == "10,000.00 × 27% ÷ 365 × 31"
    assert statement.total == Decimal("10000") + Decimal("290.96") + Decimal("229.32")  # 10,520.28


def test_rate_changes_split_the_periods_before_and_after_the_due_date():
    statement = calculate(
        terms(
            principal=Decimal("20000"),
            annual_rate=Decimal("12"),
            penalty_rate=Decimal("18"),
            due_date=D(2026, 4, 1),
            cutoff=D(2026, 5, 1),
            rate_changes=(
                RateChange(on=D(2026, 2, 15), annual_rate=Decimal("15"), penalty_rate=Decimal("22.5")),
                RateChange(on=D(2026, 4, 16), annual_rate=Decimal("15"), penalty_rate=Decimal("27")),
            ),
        )
    )
    # 1 Jan – 15 Feb, 45 days: 20,000 × 12% ÷ 360 × 45 = 300.00
    # 15 Feb – 1 Apr, 45 days (14 + 31): 20,000 × 15% ÷ 360 × 45 = 375.00
    assert [(s.start, s.days, s.rate, s.amount) for s in lines(statement, "interest")] == [
        (D(2026, 1, 1), 45, Decimal("12"), Decimal("300.00")),
        (D(2026, 2, 15), 45, Decimal("15"), Decimal("375.00")),
    ]
    # 1 – 16 Apr, 15 days at 22.5%: 20,000 × 22.5% ÷ 360 × 15 = 187.50; 16 Apr – 1 May, 15 days at 27%: 225.00
    assert [(s.start, s.days, s.rate, s.amount) for s in lines(statement, "penalty_interest")] == [
        (D(2026, 4, 1), 15, Decimal("22.5"), Decimal("187.50")),
        (D(2026, 4, 16), 15, Decimal("27"), Decimal("225.00")),
    ]
    assert statement.total == Decimal("20000") + Decimal("675.00") + Decimal("412.50")
    assert any("rate change" in text for text in statement.conventions)


def test_partial_payment_settles_interest_first_and_the_base_falls_from_its_date():
    statement = calculate(terms(payments=(Payment(on=D(2026, 2, 1), amount=Decimal("1000")),)))
    # 1 Jan – 1 Feb, 31 days × 5.00 = 155.00 interest; the 1,000 pays it and 845.00 of principal (art. 561).
    (allocation,) = statement.allocations
    assert (allocation.interest, allocation.principal, allocation.fees, allocation.unapplied) == (
        Decimal("155.00"),
        Decimal("845.00"),
        0,
        0,
    )
    # 1 Feb – 1 Mar, 28 days on 9,155.00: 9,155 × 18% ÷ 360 = 4.5775 a day × 28 = 128.17
    assert [(s.base, s.days, s.amount) for s in lines(statement, "interest")] == [
        (Decimal("10000"), 31, Decimal("155.00")),
        (Decimal("9155.00"), 28, Decimal("128.17")),
    ]
    # 1 Mar – 1 Apr on 9,155.00 at 27%: 6.86625 a day × 31 = 212.85375 → 212.85
    assert amounts(statement, "penalty_interest") == [Decimal("212.85")]
    assert (statement.principal, statement.interest, statement.penalty_interest) == (
        Decimal("9155.00"),
        Decimal("128.17"),
        Decimal("212.85"),
    )
    assert statement.total == Decimal("9496.02")
    (payment_line,) = lines(statement, "payment")
    assert payment_line.amount == Decimal("1000") and "principal 845.00" in payment_line.formula


def test_payment_settles_costs_before_interest():
    statement = calculate(terms(fees=Decimal("80"), payments=(Payment(on=D(2026, 2, 1), amount=Decimal("100")),)))
    (allocation,) = statement.allocations
    # costs 80.00 first, then 20.00 of the 155.00 interest; no principal
    assert (allocation.fees, allocation.interest, allocation.principal) == (Decimal("80"), Decimal("20.00"), 0)
    assert statement.fees == 0


def test_compound_interest_on_unpaid_interest_at_the_penalty_rate_from_the_due_date():
    statement = calculate(terms(compound=True))
    # The 295.00 of contractual interest fell due on 1 Mar and bears 27%: 295 × 27% ÷ 360 × 31 = 6.85875 → 6.86
    assert [(s.start, s.base, s.rate, s.amount) for s in lines(statement, "compound_interest")] == [
        (D(2026, 3, 1), Decimal("295.00"), Decimal("27"), Decimal("6.86"))
    ]
    assert statement.total == Decimal("10000") + Decimal("295.00") + Decimal("232.50") + Decimal("6.86")


def test_a_payment_during_default_pays_the_oldest_interest_and_shrinks_the_compound_base():
    statement = calculate(terms(compound=True, payments=(Payment(on=D(2026, 3, 15), amount=Decimal("200")),)))
    # By 15 Mar: interest 295.00 (due 1 Mar), penalty 14 × 7.50 = 105.00, compound 295 × 0.00075 × 14 = 3.0975 → 3.10.
    # The 200 goes to the oldest, contractual interest: 95.00 of it stays unpaid.
    (allocation,) = statement.allocations
    assert (allocation.interest, allocation.penalty_interest, allocation.compound_interest) == (Decimal("200"), 0, 0)
    # 15 Mar – 1 Apr, 17 days: penalty 10,000 × 27% ÷ 360 × 17 = 127.50; compound on 95.00: 95 × 0.00075 × 17 = 1.21125 → 1.21
    assert [(s.base, s.amount) for s in lines(statement, "compound_interest")] == [
        (Decimal("295.00"), Decimal("3.10")),
        (Decimal("95.00"), Decimal("1.21")),
    ]
    assert amounts(statement, "penalty_interest") == [Decimal("105.00"), Decimal("127.50")]
    assert (statement.interest, statement.penalty_interest, statement.compound_interest) == (
        Decimal("95.00"),
        Decimal("232.50"),
        Decimal("4.31"),
    )
    assert statement.total == Decimal("10331.81")


def test_overpayment_is_reported_unapplied_and_nothing_is_owed():
    statement = calculate(terms(cutoff=D(2026, 2, 1), payments=(Payment(on=D(2026, 2, 1), amount=Decimal("10200")),)))
    # owed on 1 Feb: 10,000 + 155.00; 45.00 too much
    assert statement.allocations[0].unapplied == Decimal("45.00")
    assert statement.total == 0


# --- caps ------------------------------------------------------------------------------------------------------


def test_financial_cost_below_24_percent_is_not_reduced():
    statement = calculate(terms())
    # ceiling 10,000 × 24% ÷ 360 × 90 days = 600.00; charged 295.00 + 232.50 = 527.50
    assert (statement.cap.rule, statement.cap.limit) == ("financial_24_percent", Decimal("24"))
    assert (statement.cap.charged, statement.cap.allowed, statement.cap.reduction) == (Decimal("527.50"), Decimal("600.00"), 0)
    assert not statement.cap.applied and not statement.capped
    assert "法发〔2017〕22号" in statement.cap.basis


def test_financial_cost_above_24_percent_is_reduced_and_shown():
    statement = calculate(terms(annual_rate=Decimal("24"), penalty_rate=Decimal("36"), fees=Decimal("100")))
    # interest 10,000 × 24% ÷ 360 × 59 = 393.333… → 393.33; penalty 10,000 × 36% ÷ 360 × 31 = 310.00; fees 100.00
    # charged 803.33 against the ceiling 600.00: 203.33 off, from penalty interest (compound interest is nil)
    assert (statement.cap.charged, statement.cap.allowed, statement.cap.reduction) == (
        Decimal("803.33"),
        Decimal("600.00"),
        Decimal("203.33"),
    )
    assert statement.cap.applied and statement.capped
    assert statement.cap_reductions == (("penalty_interest", Decimal("203.33")),)
    (reduction_line,) = lines(statement, "cap_reduction")
    assert reduction_line.amount == Decimal("203.33") and "600.00" in reduction_line.formula
    assert statement.penalty_interest == Decimal("106.67")
    # what is left is principal plus exactly 24% a year
    assert statement.total == Decimal("10000") + Decimal("600.00")


def test_apply_cap_false_shows_the_check_but_claims_everything():
    statement = calculate(terms(annual_rate=Decimal("24"), penalty_rate=Decimal("36"), fees=Decimal("100"), apply_cap=False))
    assert statement.cap.reduction == Decimal("203.33") and not statement.cap.applied and not statement.capped
    assert not lines(statement, "cap_reduction")
    assert statement.total == Decimal("10000") + Decimal("803.33")


def test_private_lending_rates_are_cut_to_four_times_the_lpr_at_contract_formation():
    statement = calculate(terms(lender_type=PRIVATE_LENDING, contract_date=D(2023, 9, 1)))
    # 1Y LPR in force on 2023-09-01: 3.45% (quote of 2023-08-21) → ceiling 13.8% (民间借贷规定 arts. 25, 28)
    assert (statement.cap.lpr, statement.cap.lpr_date, statement.cap.limit) == (Decimal("3.45"), D(2023, 9, 1), Decimal("13.80"))
    # 10,000 × 13.8% ÷ 360 = 3.8333…/day: × 59 = 226.1666… → 226.17; × 31 = 118.8333… → 118.83
    assert [(s.rate, s.amount) for s in lines(statement, "interest")] == [(Decimal("13.80"), Decimal("226.17"))]
    assert [(s.rate, s.amount) for s in lines(statement, "penalty_interest")] == [(Decimal("13.80"), Decimal("118.83"))]
    assert "agreed 18%" in lines(statement, "interest")[0].formula
    # agreed: 295.00 + 232.50 = 527.50; allowed 10,000 × 13.8% ÷ 360 × 90 = 345.00
    assert (statement.cap.charged, statement.cap.allowed, statement.cap.reduction) == (
        Decimal("527.50"),
        Decimal("345.00"),
        Decimal("182.50"),
    )
    assert statement.capped and statement.total == Decimal("10345.00")
    assert "3.45%" in statement.cap.basis


def test_private_lending_combined_charges_above_the_ceiling_are_reduced_too():
    # Rates of 12% are under 13.8%, but with 50.00 of fees the total passes it (民间借贷规定 art. 29).
    statement = calculate(
        terms(
            annual_rate=Decimal("12"),
            penalty_rate=Decimal("12"),
            fees=Decimal("50"),
            lender_type=PRIVATE_LENDING,
            contract_date=D(2023, 9, 1),
        )
    )
    # interest 10,000 × 12% ÷ 360 × 59 = 196.666… → 196.67; penalty × 31 = 103.333… → 103.33; + fees 50 = 350.00 > 345.00
    assert statement.cap.reduction == Decimal("5.00")
    assert statement.cap_reductions == (("penalty_interest", Decimal("5.00")),)
    assert statement.total == Decimal("10345.00")


def test_private_lending_without_applying_the_cap_keeps_the_agreed_rates():
    statement = calculate(terms(lender_type=PRIVATE_LENDING, contract_date=D(2023, 9, 1), apply_cap=False))
    assert amounts(statement, "interest") == [Decimal("295.00")]
    assert statement.cap.reduction == Decimal("182.50") and not statement.capped
    assert statement.total == Decimal("10527.50")


def test_private_lending_contract_before_the_lpr_existed_is_refused():
    with pytest.raises(ValueError, match="2019-08-20"):
        calculate(terms(lender_type=PRIVATE_LENDING, contract_date=D(2019, 8, 19)))


def test_private_lending_contract_before_2020_08_20_warns_of_the_transitional_rule():
    statement = calculate(terms(lender_type=PRIVATE_LENDING, contract_date=D(2020, 1, 10)))
    assert statement.cap.lpr == Decimal("4.15") and statement.cap.limit == Decimal("16.60")
    assert "art. 31" in statement.cap.basis


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": Decimal("-1")}, "principal"),
        ({"principal": Decimal("1.001")}, "principal"),
        ({"annual_rate": Decimal("-0.5")}, "annual_rate"),
        ({"penalty_rate": Decimal("-1")}, "penalty_rate"),
        ({"basis": 366}, "basis"),
        ({"interest_from": D(2026, 4, 2)}, "interest_from"),
        ({"payments": (Payment(on=D(2026, 4, 2), amount=Decimal("1")),)}, r"payments\[0\].date"),
        ({"payments": (Payment(on=D(2025, 12, 31), amount=Decimal("1")),)}, r"payments\[0\].date"),
        ({"payments": (Payment(on=D(2026, 2, 1), amount=Decimal("0")),)}, r"payments\[0\].amount"),
        ({"lender_type": PRIVATE_LENDING}, "contract_date"),
        ({"lender_type": "pawnshop"}, "lender_type"),
    ],
)
def test_invalid_terms_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        terms(**overrides)


def test_from_json_accepts_numbers_and_strings_alike():
    from_strings = LoanTerms.from_json(json.loads((FIXTURES / "debt_financial_360.json").read_text()))
    from_numbers = LoanTerms.from_json(
        {**json.loads((FIXTURES / "debt_financial_360.json").read_text()), "principal": 10000, "annual_rate": 18.0}
    )
    assert from_strings == from_numbers == terms(lender_type=FINANCIAL_INSTITUTION)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"principal": "ten"}, "principal"),
        ({"basis": 364}, "basis"),
        ({"cutoff": "01/04/2026"}, "cutoff"),
        ({"compound": "yes"}, "compound"),
        ({"payments": [{"date": "2026-02-01"}]}, r"payments\[0\].amount"),
        ({"interest": "18"}, "interest"),
        ({"annual_rate": None}, "annual_rate"),
    ],
)
def test_from_json_errors_name_the_field(change, field):
    data = {**json.loads((FIXTURES / "debt_financial_360.json").read_text()), **change}
    with pytest.raises(ValueError, match=f"^{field}:"):
        LoanTerms.from_json(data)


# --- the command -----------------------------------------------------------------------------------------------

TWO_DECIMALS = re.compile(r"^\d+\.\d{2}$")


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("debt_calc", *args, stdout=out)
    return out.getvalue()


def test_command_json_has_the_issue_keys_and_two_decimal_strings():
    result = json.loads(run_command(str(FIXTURES / "debt_financial_360.json"), "--json"))
    assert {"principal", "interest", "penalty_interest", "compound_interest", "total", "capped", "segments"} <= set(result)
    assert (result["principal"], result["interest"], result["penalty_interest"], result["compound_interest"], result["total"]) == (
        "10000.00",
        "295.00",
        "232.50",
        "0.00",
        "10527.50",
    )
    assert result["capped"] is False
    assert result["segments"][0] == {
        "from": "2026-01-01",
        "to": "2026-03-01",
        "days": 59,
        "base": "10000.00",
        "rate": "18.00",
        "kind": "interest",
        "amount": "295.00",
        "formula": "10,000.00 × 18% ÷ 360 × 59",
    }
    for segment in result["segments"]:
        assert {"from", "to", "days", "base", "rate", "kind", "amount"} <= set(segment)
        assert TWO_DECIMALS.match(segment["amount"]) and TWO_DECIMALS.match(segment["base"])


def test_command_private_lending_fixture_is_capped():
    result = json.loads(run_command(str(FIXTURES / "debt_private_lending_2023.json"), "--json"))
    assert result["capped"] is True
    assert result["cap"]["limit"] == "13.80" and result["cap"]["lpr"] == "3.45"
    assert [segment["kind"] for segment in result["segments"]] == ["interest", "payment", "interest", "penalty_interest"]
    # 1 Jan – 1 Feb: 10,000 × 13.8% ÷ 360 × 31 = 118.8333… → 118.83; the 1,000 pays it and 881.17 of principal
    assert result["segments"][0]["amount"] == "118.83"
    assert result["allocations"][0]["principal"] == "881.17"
    assert result["principal"] == "9118.83"


def test_command_table_shows_each_formula():
    text = run_command(str(FIXTURES / "debt_financial_360.json"))
    assert "10,000.00 × 18% ÷ 360 × 59" in text and "10,000.00 × 27% ÷ 360 × 31" in text
    assert "10,527.50" in text


def test_command_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads((FIXTURES / "debt_financial_360.json").read_text()), "basis": 364}))
    with pytest.raises(CommandError, match="^basis:"):
        run_command(str(bad), "--json")
    with pytest.raises(CommandError):
        run_command(str(tmp_path / "missing.json"))


# --- properties ------------------------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=50_000_000).map(lambda fen: Decimal(fen) / 100)
rates = st.integers(min_value=0, max_value=4000).map(lambda hundredths: Decimal(hundredths) / 100)
days = st.integers(min_value=0, max_value=800)
START = D(2024, 1, 1)


@st.composite
def loans(draw):
    length = draw(days)
    cutoff = START + datetime.timedelta(days=length)
    payment_days = draw(st.lists(st.integers(min_value=0, max_value=length), max_size=3))
    private = draw(st.booleans())
    return LoanTerms(
        principal=draw(money),
        annual_rate=draw(rates),
        penalty_rate=draw(rates),
        compound=draw(st.booleans()),
        basis=draw(st.sampled_from([360, 365])),
        interest_from=START,
        due_date=START + datetime.timedelta(days=draw(st.integers(min_value=-30, max_value=900))),
        cutoff=cutoff,
        payments=tuple(
            Payment(on=START + datetime.timedelta(days=d), amount=draw(money.filter(lambda amount: amount > 0)))
            for d in sorted(payment_days)
        ),
        lender_type=PRIVATE_LENDING if private else FINANCIAL_INSTITUTION,
        contract_date=D(2023, 9, 1) if private else None,
        apply_cap=draw(st.booleans()),
        fees=draw(money),
        rate_changes=tuple(
            RateChange(on=START + datetime.timedelta(days=d), annual_rate=draw(rates), penalty_rate=draw(rates))
            for d in draw(st.lists(st.integers(min_value=1, max_value=900), max_size=2, unique=True))
        ),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loans())
def test_the_statement_reconciles_line_by_line(loan):
    statement = calculate(loan)
    assert (
        statement.total
        == statement.principal + statement.interest + statement.penalty_interest + statement.compound_interest + statement.fees
    )
    reduced = dict(statement.cap_reductions)
    paid = {
        kind: sum((getattr(a, kind) for a in statement.allocations), Decimal(0))
        for kind in ("fees", "interest", "penalty_interest", "compound_interest", "principal")
    }
    for kind in ("interest", "penalty_interest", "compound_interest"):
        charged = sum(amounts(statement, kind), Decimal(0))
        assert getattr(statement, kind) == charged - paid[kind] - reduced.get(kind, 0)
    assert statement.principal == loan.principal - paid["principal"] - reduced.get("principal", 0)
    assert statement.fees == loan.fees - paid["fees"] - reduced.get("fees", 0)
    for allocation in statement.allocations:
        assert (
            allocation.amount
            == allocation.fees
            + allocation.interest
            + allocation.penalty_interest
            + allocation.compound_interest
            + allocation.principal
            + allocation.unapplied
        )
    for segment in statement.segments:
        assert segment.amount >= 0 and segment.days >= 0 and segment.amount == segment.amount.quantize(Decimal("0.01"))
    for value in (statement.principal, statement.interest, statement.penalty_interest, statement.compound_interest, statement.fees):
        assert value >= 0
    if statement.capped:
        assert statement.cap.applied and statement.cap.reduction > 0
    result = statement.as_json()
    for key in ("principal", "interest", "penalty_interest", "compound_interest", "total"):
        assert TWO_DECIMALS.match(result[key])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loans(), st.integers(min_value=1, max_value=400))
def test_more_days_never_owe_less(loan, extra):
    later = LoanTerms(**{**loan.__dict__, "cutoff": loan.cutoff + datetime.timedelta(days=extra)})
    assert calculate(later).total >= calculate(loan).total
