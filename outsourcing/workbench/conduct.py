"""Conduct rules for contacting debtors, enforced rather than advised.

* The contact window: 08:00–21:00 by default; a lender may only narrow it (NIFA convention, stricter
  reading; domain/litigation-and-compliance-cn.md §6.2). It must hold in **China time** (Asia/Shanghai,
  the clock the regulator and the NIFA convention read) **and** in the debtor's zone where it is known
  (today the lender's ``ContactPolicy.debtor_time_zone``: the portal keeps no zone per debtor). The
  stricter wins: a contact may start only when it is inside the window in every applicable zone, so a
  debtor in Urumqi (two hours behind in daily life) is not called at 07:00 their time, and no contact
  happens at 22:00 Beijing time either.
* The daily cap: contacts per debtor per day, counted across every agency and the lender's own staff,
  because harassment is judged from the debtor's side (NIFA convention; 《银行保险机构消费者权益保护
  管理办法》; 民法典 art. 1033 on harassing calls). Calls, text messages **and field visits** count
  (``contacts_on``, the one count). The day is the debtor's day (the policy zone).
* Field visits (外访) are contacts too: the lender's approval and the visit itself must fall inside the
  window, or carry a recorded justification (``visit_window_problem``).

The window test is pure; the cap needs two count queries. Both take the moment explicitly, so tests
pass times in and never depend on the clock.
"""

import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from .errors import ConductRefused
from .models import ContactAttempt, FieldVisitReport

# The regulator's clock: the window always holds in Beijing time, whatever zone the debtor is in.
CHINA_TIME_ZONE = "Asia/Shanghai"


def debtor_local(at: datetime.datetime, policy) -> datetime.datetime:
    """``at`` (aware) in the debtor's time zone as the lender's policy defines it."""
    if at.tzinfo is None:
        raise ValueError("conduct rules need an aware datetime")
    return at.astimezone(ZoneInfo(policy.debtor_time_zone))


def window_zones(policy) -> list[str]:
    """Every zone the window must hold in: China time, and the debtor's zone where it differs."""
    return list(dict.fromkeys([CHINA_TIME_ZONE, policy.debtor_time_zone]))


def is_within_window(local_time: datetime.time, policy) -> bool:
    """True when a contact may start at this local time: from the window's start, before its end."""
    return policy.window_start <= local_time < policy.window_end


def window_breach(at: datetime.datetime, policy) -> tuple[str, datetime.datetime] | None:
    """The first zone (China time first) in which ``at`` is outside the window, with the local moment; None when
    it is inside the window in every applicable zone (the stricter wins)."""
    if at.tzinfo is None:
        raise ValueError("conduct rules need an aware datetime")
    for zone in window_zones(policy):
        local = at.astimezone(ZoneInfo(zone))
        if not is_within_window(local.time(), policy):
            return zone, local
    return None


def is_allowed_moment(at: datetime.datetime, policy) -> bool:
    return window_breach(at, policy) is None


def window_refusal(at: datetime.datetime, policy) -> str | None:
    """The reason (naming the rule) ``at`` is outside the contact window, or None."""
    breach = window_breach(at, policy)
    if breach is None:
        return None
    zone, local = breach
    return _(
        "Refused by the contact window rule: it is %(time)s in %(zone)s. The lender allows contact only from %(start)s to %(end)s, "
        "and the window must hold both in China time and in the debtor's time zone."
    ) % {"time": f"{local:%H:%M}", "zone": zone, "start": f"{policy.window_start:%H:%M}", "end": f"{policy.window_end:%H:%M}"}


def cap_reached(attempts_today: int, policy) -> bool:
    return attempts_today >= policy.daily_cap_per_debtor


def _zone_day_bounds(local_date: datetime.date, zone: str):
    tz = ZoneInfo(zone)
    start = datetime.datetime.combine(local_date, datetime.time.min, tzinfo=tz)
    return start, datetime.datetime.combine(local_date + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


def contacts_on(*, debtor_id, local_date: datetime.date, policy=None) -> int:
    """Every contact with this debtor that debtor-local day, by anyone: attempts (open or closed) and
    reported field visits. The one count the daily cap uses."""
    from .models import ContactPolicy

    policy = policy or ContactPolicy.current()
    attempts = ContactAttempt.objects.filter(debtor_id=debtor_id, debtor_local_date=local_date).count()
    start, end = _zone_day_bounds(local_date, policy.debtor_time_zone)
    visits = FieldVisitReport.objects.filter(request__case__debtor_id=debtor_id, visited_at__gte=start, visited_at__lt=end).count()
    return attempts + visits


# The old name: the count is of every contact now, visits included.
attempts_on = contacts_on


def cap_refusal(*, debtor_id, local_date: datetime.date, policy) -> str | None:
    count = contacts_on(debtor_id=debtor_id, local_date=local_date, policy=policy)
    if not cap_reached(count, policy):
        return None
    return _(
        "Refused by the daily contact limit: the debtor has already been contacted %(count)s times on %(date)s (debtor-local), "
        "counting calls, messages and field visits of every agency; the lender allows %(cap)s a day."
    ) % {"count": count, "date": local_date.isoformat(), "cap": policy.daily_cap_per_debtor}


def check_contact_allowed(*, debtor_id, at: datetime.datetime, policy) -> datetime.date:
    """Raise ConductRefused with the reason, or return the debtor-local date the attempt belongs to.

    The caller holds a lock on the debtor row, so two agencies cannot both take the last slot.
    """
    problem = window_refusal(at, policy)
    if problem:
        raise ConductRefused(problem)
    local_date = debtor_local(at, policy).date()
    problem = cap_refusal(debtor_id=debtor_id, local_date=local_date, policy=policy)
    if problem:
        raise ConductRefused(problem)
    return local_date
