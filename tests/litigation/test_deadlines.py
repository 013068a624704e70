"""Litigation deadlines, written from the rules: CPL art. 85 (the start day is not counted; a last day on a statutory rest
day moves to the first working day after it), art. 171 (appeal 15 / 10 days), art. 250 (enforcement 2 years), art. 227
(payment-order objection 15 days), art. 205 (judicial confirmation 30 days), 诉讼费用交纳办法 art. 22 (fee 7 days), and
the State Council's holiday notices for 2025 and 2026 (including make-up working days, 调休上班). No database.
"""

import datetime
from dataclasses import dataclass

import pytest

from litigation.deadlines import (
    APPEAL,
    CALENDAR_YEARS,
    ENFORCEMENT_APPLICATION,
    FEE_PAYMENT,
    JUDICIAL_CONFIRMATION,
    LIMITATION,
    PAYMENT_ORDER_OBJECTION,
    Deadline,
    appeal_deadline,
    due_this_week,
    enforcement_deadline,
    fee_payment_deadline,
    is_rest_day,
    judicial_confirmation_deadline,
    limitation_deadline,
    load_calendar,
    next_working_day,
    objection_deadline,
    period_end,
)

d = datetime.date
NO_HOLIDAYS = {"holidays": frozenset(), "workdays": frozenset()}  # weekends only


# --- The national calendar --------------------------------------------------------------------------------------------


def test_calendar_knows_2025_and_2026():
    assert {2025, 2026} <= CALENDAR_YEARS


@pytest.mark.parametrize(
    "day, rest",
    [
        (d(2026, 5, 4), True),  # Monday of the Labour Day holiday
        (d(2026, 5, 6), False),  # an ordinary Wednesday
        (d(2026, 5, 9), False),  # Saturday made a working day (劳动节调休上班)
        (d(2026, 5, 16), True),  # an ordinary Saturday
        (d(2026, 10, 7), True),  # last day of National Day
        (d(2026, 2, 14), False),  # Saturday made a working day before Spring Festival
        (d(2025, 1, 1), True),  # New Year's Day 2025, a Wednesday
    ],
)
def test_statutory_rest_days(day, rest):
    assert is_rest_day(day) is rest


def test_next_working_day_skips_the_whole_national_day_holiday():
    assert next_working_day(d(2026, 10, 1)) == d(2026, 10, 8)
    assert next_working_day(d(2026, 10, 8)) == d(2026, 10, 8)


def test_calendar_file_reads_comments_holidays_and_workdays(tmp_path):
    path = tmp_path / "cal.csv"
    path.write_text("# a comment\ndate,name,kind\n2030-10-01,国庆节,holiday\n2030-09-29,国庆节调休上班,workday\n", encoding="utf-8")
    holidays, workdays = load_calendar(path)
    assert holidays == {d(2030, 10, 1)}
    assert workdays == {d(2030, 9, 29)}


# --- CPL art. 85: counting a period -----------------------------------------------------------------------------------


def test_start_day_is_not_counted():
    # 15 days from Monday 1 June 2026: 2 June is day 1, 16 June (a Tuesday) is day 15
    assert period_end(d(2026, 6, 1), days=15) == d(2026, 6, 16)


def test_last_day_on_a_weekend_moves_to_monday():
    # 15 days from Friday 1 May 2026 end on Saturday 16 May; the next working day is Monday 18 May
    assert period_end(d(2026, 5, 1), days=15) == d(2026, 5, 18)


def test_holidays_inside_the_period_are_counted():
    # 1 May 2026 starts a 5-day holiday; a period from 30 April still ends 15 days later, 15 May (a Friday)
    assert period_end(d(2026, 4, 30), days=15) == d(2026, 5, 15)


def test_months_clamp_to_the_end_of_a_shorter_month():
    # 31 January 2026 + 1 month → 28 February 2026, a Saturday, but a make-up working day (春节调休上班)
    assert period_end(d(2026, 1, 31), months=1) == d(2026, 2, 28)
    # weekends only: Saturday 28 February moves to Monday 2 March
    assert period_end(d(2026, 1, 31), months=1, **NO_HOLIDAYS) == d(2026, 3, 2)


def test_years_end_on_the_corresponding_day():
    assert period_end(d(2025, 3, 31), years=1) == d(2026, 3, 31)  # a Tuesday


@pytest.mark.parametrize("length", [{}, {"days": -1}, {"days": 0, "months": 0, "years": 0}])
def test_a_period_needs_a_positive_length(length):
    with pytest.raises(ValueError):
        period_end(d(2026, 6, 1), **length)


# --- Appeal: CPL art. 171 ---------------------------------------------------------------------------------------------


def test_appeal_from_a_judgment_served_on_labour_day():
    deadline = appeal_deadline(d(2026, 5, 1))
    assert deadline == Deadline(kind=APPEAL, due_on=d(2026, 5, 18), basis=deadline.basis, started_on=d(2026, 5, 1))
    assert "171" in deadline.basis and "15" in deadline.basis
    assert "2026-05-16" in deadline.basis  # the counted last day, a Saturday, and why it moved
    assert "85" in deadline.basis


def test_appeal_from_a_ruling_is_ten_days():
    deadline = appeal_deadline(d(2026, 5, 1), ruling=True)
    assert deadline.due_on == d(2026, 5, 11)  # Monday: 1 May + 10 days
    assert "171" in deadline.basis and "10" in deadline.basis


def test_appeal_ending_on_national_day_moves_past_the_whole_holiday():
    # served Wednesday 16 September 2026: day 15 is 1 October; 1–7 October are holidays; Thursday 8 October
    assert appeal_deadline(d(2026, 9, 16)).due_on == d(2026, 10, 8)


def test_appeal_ending_on_a_make_up_working_day_stays():
    # served Saturday 5 September 2026: day 15 is Sunday 20 September, a make-up working day (国庆节调休上班)
    deadline = appeal_deadline(d(2026, 9, 5))
    assert deadline.due_on == d(2026, 9, 20)
    assert "85" not in deadline.basis  # nothing moved


def test_appeal_ending_on_new_years_day_2026():
    # served 17 December 2025: day 15 is Thursday 1 January 2026; 1–3 January are holidays; Sunday 4 January works
    assert appeal_deadline(d(2025, 12, 17)).due_on == d(2026, 1, 4)


def test_ruling_ending_in_spring_festival():
    # served Thursday 5 February 2026: day 10 is Sunday 15 February; the holiday runs to Monday 23 February
    assert appeal_deadline(d(2026, 2, 5), ruling=True).due_on == d(2026, 2, 24)


# --- Enforcement: CPL art. 250 ----------------------------------------------------------------------------------------


def test_enforcement_is_two_years_from_the_performance_deadline():
    deadline = enforcement_deadline(d(2024, 3, 15))
    assert deadline.kind == ENFORCEMENT_APPLICATION
    assert deadline.due_on == d(2026, 3, 16)  # 15 March 2026 is a Sunday → Monday 16 March
    assert "250" in deadline.basis


def test_enforcement_from_29_february_clamps_to_28_february():
    # 29 February 2024 + 2 years → 28 February 2026, a Saturday made a working day: it stays
    assert enforcement_deadline(d(2024, 2, 29)).due_on == d(2026, 2, 28)
    # on a weekends-only calendar the Saturday moves to Monday 2 March
    assert enforcement_deadline(d(2024, 2, 29), **NO_HOLIDAYS).due_on == d(2026, 3, 2)


def test_a_year_without_holiday_data_is_said_in_the_basis():
    deadline = enforcement_deadline(d(2025, 6, 30))
    assert deadline.due_on == d(2027, 6, 30)  # a Wednesday
    assert "2027" in deadline.basis


# --- Payment order objection, fee payment, judicial confirmation ---------------------------------------------------------


def test_payment_order_objection_is_fifteen_days_from_service():
    deadline = objection_deadline(d(2026, 6, 1))
    assert (deadline.kind, deadline.due_on) == (PAYMENT_ORDER_OBJECTION, d(2026, 6, 16))
    # served Thursday 4 June: day 15 is Friday 19 June, the Dragon Boat Festival (19–21 June) → Monday 22 June
    assert objection_deadline(d(2026, 6, 4)).due_on == d(2026, 6, 22)


def test_fee_payment_is_seven_days_after_the_notice():
    deadline = fee_payment_deadline(d(2026, 3, 3))
    assert (deadline.kind, deadline.due_on) == (FEE_PAYMENT, d(2026, 3, 10))
    # notice received Monday 28 September: day 7 is Monday 5 October (National Day) → Thursday 8 October
    assert fee_payment_deadline(d(2026, 9, 28)).due_on == d(2026, 10, 8)


def test_judicial_confirmation_is_thirty_days_from_the_agreement():
    deadline = judicial_confirmation_deadline(d(2026, 3, 2))
    assert (deadline.kind, deadline.due_on) == (JUDICIAL_CONFIRMATION, d(2026, 4, 1))
    # from 5 March: day 30 is Saturday 4 April, Qingming (4–6 April) → Tuesday 7 April
    assert judicial_confirmation_deadline(d(2026, 3, 5)).due_on == d(2026, 4, 7)
    assert "205" in deadline.basis


def test_limitation_deadline_takes_the_expiry_as_given():
    deadline = limitation_deadline(d(2026, 10, 3), started_on=d(2023, 10, 3))
    assert (deadline.kind, deadline.due_on, deadline.started_on) == (LIMITATION, d(2026, 10, 3), d(2023, 10, 3))


# --- This week -------------------------------------------------------------------------------------------------------


@dataclass
class Item:
    due_on: datetime.date
    done: bool = False


def test_due_this_week_runs_to_sunday_with_overdue_first():
    wednesday = d(2026, 5, 13)
    overdue, overdue_done, today, sunday, monday = (
        Item(d(2026, 5, 10)),
        Item(d(2026, 5, 11), done=True),
        Item(d(2026, 5, 13)),
        Item(d(2026, 5, 17)),
        Item(d(2026, 5, 18)),
    )
    assert due_this_week([monday, sunday, today, overdue_done, overdue], wednesday) == [overdue, today, sunday]


def test_on_sunday_the_week_is_just_today():
    sunday = d(2026, 5, 17)
    assert due_this_week([Item(d(2026, 5, 17)), Item(d(2026, 5, 18))], sunday) == [Item(d(2026, 5, 17))]


def test_on_monday_the_week_runs_to_the_next_sunday():
    monday = d(2026, 5, 18)
    items = [Item(d(2026, 5, 24)), Item(d(2026, 5, 25)), Item(d(2026, 5, 18))]
    assert due_this_week(items, monday) == [Item(d(2026, 5, 18)), Item(d(2026, 5, 24))]


def test_due_this_week_takes_deadlines():
    appeal = appeal_deadline(d(2026, 5, 1))  # due Monday 18 May
    assert due_this_week([appeal], d(2026, 5, 18)) == [appeal]
    assert due_this_week([appeal], d(2026, 5, 10)) == []  # the week of 10 May ends that Sunday
