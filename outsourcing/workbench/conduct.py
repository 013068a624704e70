"""Conduct rules for contacting debtors, enforced rather than advised.

* The contact window: 08:00–21:00 in the debtor's local time by default; a lender may only narrow it
  (NIFA convention, stricter reading; domain/litigation-and-compliance-cn.md §6.2).
* The daily cap: attempts per debtor per debtor-local day, counted across every agency and the
  lender's own staff, because harassment is judged from the debtor's side (NIFA convention;
  《银行保险机构消费者权益保护管理办法》; 民法典 art. 1033 on harassing calls).

The window test is pure; the cap needs one count query. Both take the moment explicitly, so tests
pass times in and never depend on the clock.
"""
import datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from .errors import ConductRefused
from .models import ContactAttempt


def debtor_local(at: datetime.datetime, policy) -> datetime.datetime:
    """``at`` (aware) in the debtor's time zone as the lender's policy defines it."""
    if at.tzinfo is None:
        raise ValueError("conduct rules need an aware datetime")
    return at.astimezone(ZoneInfo(policy.debtor_time_zone))


def is_within_window(local_time: datetime.time, policy) -> bool:
    """True when a contact may start at this debtor-local time: from the window's start, before its end."""
    return policy.window_start <= local_time < policy.window_end


def cap_reached(attempts_today: int, policy) -> bool:
    return attempts_today >= policy.daily_cap_per_debtor


def attempts_on(*, debtor_id, local_date: datetime.date) -> int:
    """Every attempt on this debtor that debtor-local day, by anyone, open or closed."""
    return ContactAttempt.objects.filter(debtor_id=debtor_id, debtor_local_date=local_date).count()


def check_contact_allowed(*, debtor_id, at: datetime.datetime, policy) -> datetime.date:
    """Raise ConductRefused with the reason, or return the debtor-local date the attempt belongs to.

    The caller holds a lock on the debtor row, so two agencies cannot both take the last slot.
    """
    local = debtor_local(at, policy)
    if not is_within_window(local.time(), policy):
        raise ConductRefused(_(
            "Refused: it is %(time)s for the debtor (%(zone)s). The lender allows contact only from %(start)s to %(end)s, debtor-local time."
        ) % {"time": f"{local:%H:%M}", "zone": policy.debtor_time_zone, "start": f"{policy.window_start:%H:%M}", "end": f"{policy.window_end:%H:%M}"})
    count = attempts_on(debtor_id=debtor_id, local_date=local.date())
    if cap_reached(count, policy):
        raise ConductRefused(_(
            "Refused: the debtor has already been contacted %(count)s times on %(date)s (debtor-local), counting every agency; the lender allows %(cap)s a day."
        ) % {"count": count, "date": local.date().isoformat(), "cap": policy.daily_cap_per_debtor})
    return local.date()
