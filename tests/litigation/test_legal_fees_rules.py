"""A law firm's fee rules (litigation.fees), by hand-worked examples: no database.

Fixed fee (基础律师费): the matter's fee, earned on its first court stage. Success fee (风险代理费): the agreed per cent
of the money a payment applied, rounded half up to the fen once per line; a reversal takes it back exactly.
"""

import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given, strategies as st

from litigation import fees
from litigation.models import Stage

D = Decimal


@pytest.mark.parametrize(
    "applied,percent,fee",
    [
        ("12345.67", "8", "987.65"),  # 987.6536 → 987.65
        ("1000.00", "8", "80.00"),
        ("50.50", "1", "0.51"),  # 0.505: half up to 0.51 (half-even would give 0.50)
        ("0.05", "10", "0.01"),  # 0.005 → 0.01
        ("0.01", "8", "0.00"),  # 0.0008 → nothing
        ("2000.00", "12.5", "250.00"),
        ("333.33", "33.3333", "111.11"),  # 111.10989 → 111.11
        ("999.99", "100", "999.99"),
        ("999.99", "0", "0.00"),
    ],
)
def test_the_success_fee_is_the_agreed_per_cent_of_the_money_applied_rounded_half_up_once(applied, percent, fee):
    assert fees.success_fee(D(applied), D(percent)) == D(fee)


def test_half_up_is_not_bankers_rounding():
    exact = D("50.50") * D("1") / 100
    assert exact.quantize(D("0.01"), rounding=ROUND_HALF_EVEN) == D("0.50")
    assert fees.success_fee(D("50.50"), D("1")) == D("0.51")


@pytest.mark.parametrize("bad", [12345.67, True])
def test_floats_are_not_money(bad):
    with pytest.raises(TypeError):
        fees.success_fee(bad, D("8"))
    with pytest.raises(TypeError):
        fees.fixed_fee(bad)


@pytest.mark.parametrize("percent", ["-0.01", "100.01"])
def test_a_success_fee_outside_0_to_100_per_cent_is_refused(percent):
    with pytest.raises(ValueError):
        fees.success_fee(D("100.00"), D(percent))


def test_the_fixed_fee_is_the_agreement_s_fee_and_none_when_it_is_zero():
    assert fees.fixed_fee(D("800")) == D("800.00")
    assert fees.fixed_fee(D("0.00")) is None
    with pytest.raises(ValueError):
        fees.fixed_fee(D("-1"))


@pytest.mark.parametrize(
    "stage,earns",
    [
        (Stage.FILED, True),  # 立案
        (Stage.PAYMENT_ORDER, True),  # 支付令申请
        (Stage.JUDICIAL_CONFIRMATION, True),  # 司法确认申请
        (Stage.ESCALATED, False),  # handed over, nothing before a court yet
        (Stage.PRE_SUIT_MEDIATION, False),
        (Stage.HEARING, False),  # a later stage of a filed suit: the fee was earned at filing
        (Stage.CLOSED, False),
    ],
)
def test_the_fixed_fee_is_earned_when_the_matter_first_goes_before_a_court(stage, earns):
    assert fees.earns_fixed_fee(stage) is earns


ESCALATED, CLOSED = datetime.date(2026, 3, 10), datetime.date(2026, 6, 30)


@pytest.mark.parametrize(
    "paid_on,closed_on,inside",
    [
        (datetime.date(2026, 3, 9), None, False),  # the day before escalation: the agency's or the lender's
        (ESCALATED, None, True),  # the day of escalation counts
        (datetime.date(2027, 1, 1), None, True),  # still open
        (CLOSED, CLOSED, True),  # the closing day counts
        (datetime.date(2026, 7, 1), CLOSED, False),  # after closing or withdrawal: no longer with the firm
    ],
)
def test_the_engagement_runs_from_escalation_to_closing_both_days_included(paid_on, closed_on, inside):
    assert fees.within_engagement(paid_on, escalated_on=ESCALATED, closed_on=closed_on) is inside


def test_an_adjustment_moves_the_fee_to_the_fee_on_the_new_applied_money():
    # 400 applied earned 32.00; a reversal re-applies the payment and it now applies 600: +200, +16.00 (48.00 in all).
    assert fees.adjustment(D("400.00"), D("200.00"), D("8")) == (D("200.00"), D("16.00"))
    # 0.07 → 0.13 at 8%: 0.0056 → 0.01 and 0.0104 → 0.01: the base moves, the fee does not.
    assert fees.adjustment(D("0.07"), D("0.06"), D("8")) == (D("0.06"), D("0.00"))
    with pytest.raises(ValueError):
        fees.adjustment(D("10.00"), D("-10.01"), D("8"))


def test_a_clawback_negates_exactly():
    assert fees.clawback(D("12345.67"), D("987.65")) == (D("-12345.67"), D("-987.65"))


def test_a_rate_is_shown_as_a_fraction():
    assert fees.percent_as_fraction(D("8")) == D("0.08")
    assert fees.percent_as_fraction(D("12.3456")) == D("0.123456")


money = st.decimals(min_value=D("0.00"), max_value=D("9999999.99"), places=2)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=4)


@given(applied=money, percent=percents)
def test_a_fee_is_never_negative_nor_more_than_the_money_applied(applied, percent):
    fee = fees.success_fee(applied, percent)
    assert D(0) <= fee <= applied
    assert fee == fee.quantize(D("0.01"))


@given(applied=money, changes=st.lists(st.decimals(min_value=D("-5000"), max_value=D("5000"), places=2), max_size=5), percent=percents)
def test_a_payment_s_lines_always_sum_to_the_fee_on_its_applied_money_rounded_once(applied, changes, percent):
    base, amount = applied, fees.success_fee(applied, percent)
    for change in changes:
        if base + change < 0:
            continue
        step_base, step_fee = fees.adjustment(base, change, percent)
        base, amount = base + step_base, amount + step_fee
    assert amount == fees.success_fee(base, percent)
    claw_base, claw_amount = fees.clawback(base, amount)
    assert (base + claw_base, amount + claw_amount) == (D(0), D(0))
