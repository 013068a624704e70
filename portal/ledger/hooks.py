"""What the apps tell the ledger: whom a recovery is attributed to, and which of their rows are ledger sources.

The core never imports the apps (tenants ← portal ← outsourcing | litigation); they register here from their
AppConfig.ready(), like portal.payments.hooks.

* ``register_attributor(fn)``: ``fn(case, paid_on) -> Attribution | None`` — who had the case on the day a payment
  was made (outsourcing: the agency whose placement covered that day, cohort = the placement's month; litigation:
  the law firm of a matter open that day, cohort = the escalation month, and the matter). A recovery is credited
  to that partner in the ledger's dimensions, so net recovery per agency, law firm and cohort is a sum of legs.
  Attribution reads the apps' own records of who had the case (placements, matters), never the commission line a
  listener may or may not have written yet, so the order in which payment listeners run does not matter.
* ``register_source(name, rows, post)``: the backfill (``manage.py ledger_backfill``) walks ``rows()`` (a queryset)
  and calls ``post(row)`` (idempotent) for each, so a lender whose rows predate the ledger gets complete books.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

ATTRIBUTORS: list = []
SOURCES: dict[str, tuple[Callable, Callable]] = {}


@dataclass(frozen=True)
class Attribution:
    counterparty: object  # tenants.Organisation (an agency or a law firm)
    cohort_month: datetime.date | None = None  # the month the case was placed or escalated (first day)
    matter_id: object = None  # litigation.Matter's key, when a matter had the case


def register_attributor(attributor):
    """``attributor(case, paid_on) -> Attribution | None``, called inside the payment's transaction."""
    if attributor not in ATTRIBUTORS:
        ATTRIBUTORS.append(attributor)
    return attributor


def attribution_for(case, paid_on: datetime.date) -> Attribution | None:
    """The partner a recovery on ``paid_on`` belongs to. Should two channels both claim the day (a case escalated
    to a law firm while an agency's placement still runs), the most recent assignment wins — the later cohort
    month, and on the same month the law firm (escalation ends outsourcing: the matter is the later act) — so the
    answer does not depend on the order the apps registered in."""
    found = [a for a in (attributor(case, paid_on) for attributor in ATTRIBUTORS) if a is not None]
    if not found:
        return None
    return max(
        found,
        key=lambda a: (a.cohort_month or datetime.date.min, a.matter_id is not None, str(getattr(a.counterparty, "pk", ""))),
    )


def register_source(name: str, rows: Callable, post: Callable):
    """A kind of source row the backfill posts: ``rows()`` → queryset (walked by primary key), ``post(row)``."""
    SOURCES[name] = (rows, post)
