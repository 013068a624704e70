"""The one-year Loan Prime Rate (一年期贷款市场报价利率, LPR): the quote in force on a day.

民间借贷规定 (法释〔2020〕17号) art. 25: agreed interest is supported up to four times the one-year LPR "合同成立时",
at contract formation; art. 25(2) defines it as the rate the National Interbank Funding Center has published
each month since 2019-08-20 (PBOC Announcement 〔2019〕 No. 15). Before that date there was no LPR: the 2015
interpretation's 24%/36% rules (法释〔2015〕18号 art. 26) govern, with the transitional art. 31 — this module
refuses such a date rather than guess.

The series is data, in one place: ``litigation/data/lpr_1y.csv`` (columns effective_on, rate_percent, source),
one row per quote date on which the one-year rate changed, plus a few rows that confirm it unchanged (the
value holds until the next row). Quotes come out on the 20th of each month at 9:00, moved to the next working
day when the 20th is not one.

To add a month: append a row ``YYYY-MM-DD,R.RR,"where you read it"`` with the quote's publication date (the
actual date, e.g. 2024-07-22 when the 20th fell on a weekend), the one-year rate in percent, and the source
(NIFC/PBOC announcement or page address). Rows must stay in date order; a row confirming an unchanged rate is
welcome, since ``stale()`` judges freshness by the last row. Restart the processes (the file is read once).
"""

import csv
import datetime
import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils.translation import gettext as _

from portal.lib.months import add_months

DATA_FILE = Path(__file__).resolve().parent / "data" / "lpr_1y.csv"
FIRST_QUOTE = datetime.date(2019, 8, 20)  # PBOC Announcement 〔2019〕 No. 15; 民间借贷规定 art. 25(2)
STALE_AFTER_MONTHS = 3  # a new quote is published every month; three without a row means the file is behind


@functools.cache
def series() -> tuple[tuple[datetime.date, Decimal], ...]:
    """Every row of the data file as (effective_on, rate_percent), in date order. Read once per process."""
    rows = []
    with DATA_FILE.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                day = datetime.date.fromisoformat(row["effective_on"])
                rate = Decimal(row["rate_percent"])
            except (KeyError, TypeError, ValueError, InvalidOperation) as error:
                raise ValueError(f"{DATA_FILE.name} line {line}: {error}") from error
            if rows and day <= rows[-1][0]:
                raise ValueError(f"{DATA_FILE.name} line {line}: {day} is not after the previous row; keep the rows in date order")
            rows.append((day, rate))
    if not rows or rows[0][0] != FIRST_QUOTE:
        raise ValueError(f"{DATA_FILE.name} must start with the first quote of {FIRST_QUOTE.isoformat()}")
    return tuple(rows)


def quote_on(day: datetime.date) -> Decimal:
    """The one-year LPR in force on ``day`` (percent a year): the most recent quote on or before it.

    A day before 2019-08-20 raises ValueError: the LPR did not exist, and the old rules apply."""
    if day < FIRST_QUOTE:
        raise ValueError(
            _(
                "There was no one-year LPR on %(day)s: it was first published on 2019-08-20. For a contract formed before then "
                "the 2015 private-lending rules apply (24%%/36%%, 法释〔2015〕18号) with the transitional rule of 法释〔2020〕17号 art. 31; "
                "set the cap by hand."
            )
            % {"day": day.isoformat()}
        )
    in_force = FIRST_QUOTE, series()[0][1]
    for effective_on, rate in series():
        if effective_on > day:
            break
        in_force = effective_on, rate
    return in_force[1]


def latest() -> tuple[datetime.date, Decimal]:
    """The last row of the data file: (its date, its rate in percent)."""
    return series()[-1]


def stale(today: datetime.date) -> bool:
    """True when the last row is more than three months old: a quote is published monthly, so the file needs
    updating (the screen warns; a quote on a day past the last row is still the last one known)."""
    return add_months(latest()[0], STALE_AFTER_MONTHS) < today
