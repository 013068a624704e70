"""Litigation deadlines (期间): pure, dated rules, each with the provision it applies.

How a period is counted — CPL art. 85 (CPL as amended 2023; art. 82 in the 2017–2021 versions, numbering UNCERTAIN):
"期间开始的时和日，不计算在期间内。期间届满的最后一日是法定休假日的，以法定休假日后的第一日为期间届满的日期。" The day the
period starts (the day of service, of effect…) is not counted, so N days from day D end on D + N; if that last day is a
statutory rest day (法定休假日: a weekend, or a public holiday) the period ends on the first working day after it. A
weekend day that the State Council made a working day (调休上班) is a working day. Periods in months or years end on the
corresponding day of the last month, or on that month's last day when it has none (民法典 art. 202, applied by analogy:
the CPL does not say; 29 February + 2 years = 28 February).

Public holidays come from litigation/data/holidays_cn.csv (data to update each year); a year without data is counted
with weekends only, and the deadline's basis says so.
"""

import csv
import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from portal.lib.months import add_months

LIMITATION = "limitation"
APPEAL = "appeal"
ENFORCEMENT_APPLICATION = "enforcement_application"
PAYMENT_ORDER_OBJECTION = "payment_order_objection"
FEE_PAYMENT = "fee_payment"
JUDICIAL_CONFIRMATION = "judicial_confirmation"

APPEAL_DAYS_JUDGMENT = 15  # CPL art. 171 (2023; art. 164 before): 判决书送达之日起十五日内
APPEAL_DAYS_RULING = 10  # CPL art. 171: 裁定书送达之日起十日内
ENFORCEMENT_YEARS = 2  # CPL art. 250 (2023; art. 246 in 2021, art. 239 in 2017): 申请执行的期间为二年
OBJECTION_DAYS = 15  # CPL art. 227 (2023, numbering UNCERTAIN): 债务人应当自收到支付令之日起十五日内清偿债务，或者提出书面异议
FEE_PAYMENT_DAYS = 7  # 诉讼费用交纳办法 art. 22 (UNCERTAIN): 自接到人民法院交纳诉讼费用通知次日起7日内交纳
JUDICIAL_CONFIRMATION_DAYS = 30  # CPL art. 205: 自调解协议生效之日起三十日内，共同向……人民法院提出

HOLIDAYS_CSV = Path(__file__).resolve().parent / "data" / "holidays_cn.csv"


def load_calendar(path: Path = HOLIDAYS_CSV) -> tuple[frozenset, frozenset]:
    """(public holidays, make-up working days) from a CSV of date,name,kind (kind: holiday | workday); '#' lines are comments."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    holidays = frozenset(datetime.date.fromisoformat(row["date"]) for row in rows if row["kind"] == "holiday")
    workdays = frozenset(datetime.date.fromisoformat(row["date"]) for row in rows if row["kind"] == "workday")
    return holidays, workdays


HOLIDAYS, WORKDAYS = load_calendar()
CALENDAR_YEARS = frozenset(day.year for day in HOLIDAYS | WORKDAYS)  # years whose public holidays are known


def is_rest_day(day: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> bool:
    """A statutory rest day (法定休假日): a public holiday, or a Saturday or Sunday not made a working day (调休上班)."""
    if day in workdays:
        return False
    return day in holidays or day.weekday() >= 5


def next_working_day(day: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> datetime.date:
    """``day`` itself if it is a working day, else the first working day after it."""
    while is_rest_day(day, holidays=holidays, workdays=workdays):
        day += datetime.timedelta(days=1)
    return day


def _counted_end(start: datetime.date, *, days: int, months: int, years: int) -> datetime.date:
    """The last day before any holiday roll: start day not counted (CPL art. 85), months clamped (民法典 art. 202)."""
    if min(days, months, years) < 0 or not (days or months or years):
        raise ValueError("a period needs a positive length in days, months or years")
    return add_months(start, years * 12 + months) + datetime.timedelta(days=days)


def period_end(start: datetime.date, *, days=0, months=0, years=0, holidays=HOLIDAYS, workdays=WORKDAYS) -> datetime.date:
    """The last day of a period that starts on ``start`` (CPL art. 85): ``start`` is not counted, so 15 days from
    1 May end on 16 May; a last day on a statutory rest day moves to the next working day. Months and years add
    calendar months, clamped to the month's end (民法典 art. 202). Defaults to the national calendar; pass
    ``holidays=frozenset()`` (and ``workdays``) for another."""
    return next_working_day(_counted_end(start, days=days, months=months, years=years), holidays=holidays, workdays=workdays)


@dataclass(frozen=True)
class Deadline:
    kind: str  # LIMITATION | APPEAL | ENFORCEMENT_APPLICATION | PAYMENT_ORDER_OBJECTION | FEE_PAYMENT | JUDICIAL_CONFIRMATION
    due_on: datetime.date  # the last day to act
    basis: str  # the rule applied, in the active language, e.g. "CPL art. 171: 15 days from service of the judgment."
    started_on: datetime.date | None  # the event the period runs from


def _deadline(kind, started_on, rule, *, days=0, years=0, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    counted = _counted_end(started_on, days=days, months=0, years=years)
    due_on = next_working_day(counted, holidays=holidays, workdays=workdays)
    notes = [rule]
    if due_on != counted:
        notes.append(_("Moved from %(day)s, a statutory rest day, to the next working day (CPL art. 85).") % {"day": counted.isoformat()})
    if holidays is HOLIDAYS:
        missing = sorted({counted.year, due_on.year} - CALENDAR_YEARS)
        if missing:
            notes.append(_("No public-holiday data for %(years)s: weekends only.") % {"years": ", ".join(str(year) for year in missing)})
    return Deadline(kind=kind, due_on=due_on, basis=" ".join(notes), started_on=started_on)


def appeal_deadline(served_on: datetime.date, *, ruling=False, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    """上诉期: 15 days from service of a judgment, 10 from service of a ruling (CPL art. 171). Small-claims judgments are
    final (CPL art. 165): do not ask for this deadline there."""
    if ruling:
        rule = _("CPL art. 171: appeal within %(days)s days from service of the ruling.") % {"days": APPEAL_DAYS_RULING}
        return _deadline(APPEAL, served_on, rule, days=APPEAL_DAYS_RULING, holidays=holidays, workdays=workdays)
    rule = _("CPL art. 171: appeal within %(days)s days from service of the judgment.") % {"days": APPEAL_DAYS_JUDGMENT}
    return _deadline(APPEAL, served_on, rule, days=APPEAL_DAYS_JUDGMENT, holidays=holidays, workdays=workdays)


def enforcement_deadline(performance_due_on: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    """申请执行期间: two years from the last day of the performance period the judgment or 调解书 sets (or from its effective
    date when it sets none) — CPL art. 250. Interrupted and suspended like limitation (same article)."""
    rule = _("CPL art. 250: apply for enforcement within %(years)s years from the last day of the performance period.") % {
        "years": ENFORCEMENT_YEARS
    }
    return _deadline(ENFORCEMENT_APPLICATION, performance_due_on, rule, years=ENFORCEMENT_YEARS, holidays=holidays, workdays=workdays)


def objection_deadline(served_on: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    """支付令异议期: the debtor pays or objects in writing within 15 days from service of the payment order (CPL art. 227,
    numbering UNCERTAIN); after it, with neither, the creditor may apply for enforcement."""
    rule = _("CPL art. 227: the debtor may object in writing within %(days)s days from service of the payment order.") % {
        "days": OBJECTION_DAYS
    }
    return _deadline(PAYMENT_ORDER_OBJECTION, served_on, rule, days=OBJECTION_DAYS, holidays=holidays, workdays=workdays)


def fee_payment_deadline(notice_received_on: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    """预交案件受理费: within 7 days from the day after the court's fee notice is received; unpaid (and not deferred) the
    suit is treated as withdrawn (诉讼费用交纳办法 art. 22, UNCERTAIN)."""
    rule = _(
        "Measures on the Payment of Litigation Costs art. 22: pay the acceptance fee within %(days)s days of receiving the court's notice."
    ) % {"days": FEE_PAYMENT_DAYS}
    return _deadline(FEE_PAYMENT, notice_received_on, rule, days=FEE_PAYMENT_DAYS, holidays=holidays, workdays=workdays)


def judicial_confirmation_deadline(agreement_effective_on: datetime.date, *, holidays=HOLIDAYS, workdays=WORKDAYS) -> Deadline:
    """司法确认: the parties apply jointly within 30 days from the day the mediation agreement takes effect (CPL art. 205)."""
    rule = _("CPL art. 205: apply jointly for judicial confirmation within %(days)s days of the mediation agreement taking effect.") % {
        "days": JUDICIAL_CONFIRMATION_DAYS
    }
    return _deadline(
        JUDICIAL_CONFIRMATION, agreement_effective_on, rule, days=JUDICIAL_CONFIRMATION_DAYS, holidays=holidays, workdays=workdays
    )


def limitation_deadline(expires_on: datetime.date, *, started_on: datetime.date | None = None) -> Deadline:
    """The case's limitation expiry (诉讼时效) as a deadline. portal.limitation owns the date (民法典 arts. 188, 195); it is
    taken as given, not moved past a holiday — acting by the earlier day is the safe reading."""
    rule = _("Civil Code arts. 188 and 195: the three-year limitation period, counted from its last start or interruption.")
    return Deadline(kind=LIMITATION, due_on=expires_on, basis=rule, started_on=started_on)


def due_this_week(deadlines: Iterable, today: datetime.date) -> list:
    """What needs acting on this week: deadlines due from ``today`` to the coming Sunday inclusive, and every overdue one
    (due before today), earliest first — so the overdue ones come first. Works on anything with ``due_on``; an item
    whose ``done`` attribute is true is left out."""
    sunday = today + datetime.timedelta(days=6 - today.weekday())
    due = [item for item in deadlines if not getattr(item, "done", False) and item.due_on <= sunday]
    return sorted(due, key=lambda item: item.due_on)
