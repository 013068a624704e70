"""The one-year LPR series (domain doc §4.5) and the quote in force on a contract's formation date (民间借贷规定 art. 25)."""

import datetime
from decimal import Decimal

import pytest

from litigation import lpr

D = datetime.date

# Domain doc §4.5, written out here from the table (each row a change date; the value holds until the next row).
CHANGES = [
    (D(2019, 8, 20), "4.25"),
    (D(2019, 9, 20), "4.20"),
    (D(2019, 11, 20), "4.15"),
    (D(2020, 2, 20), "4.05"),
    (D(2020, 4, 20), "3.85"),
    (D(2021, 12, 20), "3.80"),
    (D(2022, 1, 20), "3.70"),
    (D(2022, 8, 22), "3.65"),
    (D(2023, 6, 20), "3.55"),
    (D(2023, 8, 21), "3.45"),
    (D(2024, 7, 22), "3.35"),
    (D(2024, 10, 21), "3.10"),
    (D(2025, 5, 20), "3.00"),
]


@pytest.mark.parametrize(("day", "rate"), CHANGES)
def test_each_change_is_in_force_from_its_quote_date(day, rate):
    assert lpr.quote_on(day) == Decimal(rate)


@pytest.mark.parametrize(("index",), [(i,) for i in range(1, len(CHANGES))])
def test_the_day_before_a_change_still_has_the_previous_quote(index):
    day, _rate = CHANGES[index]
    assert lpr.quote_on(day - datetime.timedelta(days=1)) == Decimal(CHANGES[index - 1][1])


def test_months_between_changes_keep_the_quote():
    # Doc §4.5: 2020-05 to 2021-11 stayed at 3.85%, 2023-09 to 2024-06 at 3.45%.
    assert lpr.quote_on(D(2021, 1, 15)) == Decimal("3.85")
    assert lpr.quote_on(D(2023, 9, 1)) == Decimal("3.45")  # so 4× = 13.80%, the private-lending ceiling of such a contract
    assert lpr.quote_on(D(2024, 6, 30)) == Decimal("3.45")


def test_a_day_after_the_last_row_has_the_last_known_quote():
    assert lpr.quote_on(D(2026, 12, 4)) == Decimal("3.00")


def test_before_the_first_quote_there_is_no_lpr_and_the_old_rules_are_named():
    with pytest.raises(ValueError, match="2019-08-20") as refused:
        lpr.quote_on(D(2019, 8, 19))
    assert "法释〔2015〕18号" in str(refused.value)
    assert "24%/36%" in str(refused.value)


def test_latest_is_the_last_row_seen():
    assert lpr.latest() == (D(2026, 6, 22), Decimal("3.00"))


def test_stale_after_three_months_without_a_row():
    # Last row 2026-06-22: fine up to three calendar months later, stale the day after.
    assert not lpr.stale(D(2026, 9, 22))
    assert lpr.stale(D(2026, 9, 23))


def test_the_series_is_in_date_order_and_starts_with_the_first_quote():
    days = [day for day, _rate in lpr.series()]
    assert days == sorted(days) and len(set(days)) == len(days)
    assert days[0] == lpr.FIRST_QUOTE
