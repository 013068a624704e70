"""Keyset pagination: no OFFSET, no COUNT over the whole table.

Rows are ordered by (timestamp DESC, id ASC); the cursor is the last row's
pair, signed so a client cannot forge arbitrary filters through it.
"""

import datetime
from dataclasses import dataclass

from django.core import signing
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, Value
from django.utils.dateparse import parse_datetime

_SALT = "caseport.keyset"


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def paginate(queryset, *, time_field: str, cursor: str | None, size: int = 50, ids_first: bool = False) -> Page:
    """One page in (time DESC, id) order after the cursor.

    ``ids_first``: pick the page's ids with an order no index serves (``time + 0``), then fetch those rows in the
    keyset order. For filters whose matches cluster far from the newest rows (the limitation filters match the
    oldest cases), PostgreSQL otherwise walks the keyset index newest-first and discards most of the table;
    with this it uses the filter's own index and sorts the few matches (bench/bench_queue.py measures both).
    Rows and order are the same either way."""
    qs = queryset.order_by(f"-{time_field}", "pk")
    if cursor:
        try:
            stamp, pk = signing.loads(cursor, salt=_SALT)
            stamp = parse_datetime(stamp)
        except (signing.BadSignature, ValueError, TypeError):
            stamp = None
        if stamp is not None:
            qs = qs.filter(Q(**{f"{time_field}__lt": stamp}) | Q(**{time_field: stamp, "pk__gt": pk}))
    if ids_first:
        unindexed = ExpressionWrapper(F(time_field) + Value(datetime.timedelta(0)), output_field=DateTimeField())
        ids = list(qs.order_by(unindexed.desc(), "pk").values_list("pk", flat=True)[: size + 1])
        qs = qs.filter(pk__in=ids)
    rows = list(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps([getattr(last, time_field).isoformat(), str(last.pk)], salt=_SALT)
    return Page(rows=rows, next_cursor=next_cursor)
