"""Calendar months: one definition for every module that counts in months (instalments, statements, scorecards).

Plain functions on ``datetime.date``; no Django. A "month" as a value is the date of its first day.
"""

import calendar
import datetime


def month_start(day: datetime.date) -> datetime.date:
    """The first day of the month ``day`` falls in (the month as a value)."""
    return day.replace(day=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar months later (or earlier), the day clamped to the month's end: 31 January + 1 month = 28/29 February.

    On a month value (a first day) it gives the first day of the other month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def previous_month(day: datetime.date) -> datetime.date:
    """The month before the one ``day`` falls in (its first day)."""
    return add_months(month_start(day), -1)


def month_end(day: datetime.date) -> datetime.date:
    """The last day of the month ``day`` falls in."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(month_from: datetime.date, month_to: datetime.date) -> int:
    """How many months the range covers, both ends included."""
    return (month_to.year - month_from.year) * 12 + month_to.month - month_from.month + 1


def parse_month(value: str | None) -> datetime.date | None:
    """ "2026-11" → 1 November 2026; None for anything else."""
    try:
        return datetime.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return None
