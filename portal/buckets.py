"""Overdue buckets (账龄): the one definition of which bucket a case is in.

A case's days past due (DPD) are the days from ``overdue_since`` to today. M1 is 1–30 days past due,
M2 31–60, … M5 121–150, and M6+ everything from 151 days (PRODUCT.md glossary: the industry's monthly
buckets; commission schedules are priced per bucket, landscape.md §3.2). A case not yet overdue is M0:
nothing to collect, no bucket to price, never outsourced.

Three things are derived here and nowhere else: the list of buckets (``BUCKETS``), a DPD's bucket
(``bucket_for``) and a bucket as a date range on ``overdue_since`` (``condition``), so that a filter in
SQL selects exactly the cases ``bucket_for`` puts in that bucket.
"""

import datetime

from django.db.models import Q

NOT_OVERDUE = "M0"
# The buckets a case is collected in, in order (the rate grid's rows, the filters' choices).
BUCKETS = ("M1", "M2", "M3", "M4", "M5", "M6+")
DAYS_PER_BUCKET = 30
LAST = BUCKETS[-1]
LAST_FROM_DPD = DAYS_PER_BUCKET * (len(BUCKETS) - 1) + 1  # 151: M6+ starts here
CHOICES = [(bucket, bucket) for bucket in BUCKETS]


def bucket_for(dpd: int) -> str:
    """M1 = 1–30 days past due, M2 = 31–60, … M6+ from 151 days; M0 when not overdue."""
    if dpd <= 0:
        return NOT_OVERDUE
    month = (dpd - 1) // DAYS_PER_BUCKET + 1
    return LAST if month >= len(BUCKETS) else BUCKETS[month - 1]


def dpd_range(bucket: str) -> tuple[int, int | None]:
    """The first and last DPD of a bucket (last None: open-ended). Raises ValueError for an unknown bucket."""
    if bucket == NOT_OVERDUE:
        raise ValueError("M0 is not a collection bucket")
    index = BUCKETS.index(bucket)  # ValueError for anything else
    first = DAYS_PER_BUCKET * index + 1
    return (first, None) if bucket == LAST else (first, first + DAYS_PER_BUCKET - 1)


def condition(buckets, *, today: datetime.date, field: str = "overdue_since") -> Q:
    """Cases whose bucket today is one of these, as date ranges on ``overdue_since`` (index-friendly).

    DPD = today − overdue_since, so DPD ≥ first ⇔ overdue_since ≤ today − first, and DPD ≤ last ⇔
    overdue_since ≥ today − last. No bucket matches nothing."""
    result = None
    for bucket in buckets:
        first, last = dpd_range(bucket)
        part = Q(**{f"{field}__lte": today - datetime.timedelta(days=first)})
        if last is not None:
            part &= Q(**{f"{field}__gte": today - datetime.timedelta(days=last)})
        result = part if result is None else result | part
    return Q(pk__in=[]) if result is None else result
