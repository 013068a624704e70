"""Keyset pagination: no OFFSET, no COUNT over the whole table.

Rows are ordered by (timestamp DESC, id ASC); the cursor is the last row's
pair, signed so a client cannot forge arbitrary filters through it.
"""
from dataclasses import dataclass

from django.core import signing
from django.db.models import Q
from django.utils.dateparse import parse_datetime

_SALT = "caseport.keyset"


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def paginate(queryset, *, time_field: str, cursor: str | None, size: int = 50) -> Page:
    qs = queryset.order_by(f"-{time_field}", "pk")
    if cursor:
        try:
            stamp, pk = signing.loads(cursor, salt=_SALT)
            stamp = parse_datetime(stamp)
        except (signing.BadSignature, ValueError, TypeError):
            stamp = None
        if stamp is not None:
            qs = qs.filter(Q(**{f"{time_field}__lt": stamp}) | Q(**{time_field: stamp, "pk__gt": pk}))
    rows = list(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = signing.dumps([getattr(last, time_field).isoformat(), str(last.pk)], salt=_SALT)
    return Page(rows=rows, next_cursor=next_cursor)
