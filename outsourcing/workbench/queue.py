"""Read paths of the workbench: a collector's queue and an agency's placements, keyset-paginated.

Two queries per page, whatever the size of the lender's book: the page's keys, ordered and cut from
the narrow placement rows alone, then those rows with their case and debtor. No OFFSET, no COUNT;
joining cases and debtors only for the rows shown is what keeps a million-case tenant fast. The
cursor is the last row's sort key, signed so a client cannot forge it into a filter.

The queue's order (PRODUCT.md journey 2): promises due today first, then cases this placement has
never contacted (new, oldest placement first), then the least recently contacted. "Contacted" means
an attempt under this placement, so a case handed over from another agency is new to the agency
that receives it.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from django.core import signing
from django.db import connection
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from outsourcing.models import Placement

from .models import ContactAttempt, Outcome, PromiseStatus, PromiseToPay

PAGE_SIZE = 50
_QUEUE_SALT = "caseport.workbench.queue"
_ASSIGN_SALT = "caseport.workbench.assign"

DUE_TODAY, NEW, CONTACTED = 0, 1, 2


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def _load(cursor, salt):
    if not cursor:
        return None
    try:
        return signing.loads(cursor, salt=salt)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def _with_cases(ids, *, now, related=("case", "case__debtor")):
    """The placements for these ids, with case and debtor, in the given order. Filtered again by
    ``active()``, so a recall between the two queries still removes the row."""
    rows = Placement.objects.active(at=now).filter(pk__in=ids).select_related(*related).in_bulk()
    return [rows[pk] for pk in ids if pk in rows]


# The queue's sort key, computed once per placement (MATERIALIZED: the planner must not copy the
# last-attempt subquery into each expression that uses it). The placements come from the ORM's
# Placement.objects.active(), the one definition of "in force"; the rest needs a CTE the ORM cannot write.
_QUEUE_SQL = """
WITH mine (id, starts_at) AS ({mine}),
keyed AS MATERIALIZED (
    SELECT m.id, m.starts_at,
           EXISTS (SELECT 1 FROM {promise} t WHERE t.placement_id = m.id AND t.status = %s AND t.due_on = %s) AS due_today,
           (SELECT a.started_at FROM {attempt} a WHERE a.placement_id = m.id ORDER BY a.started_at DESC LIMIT 1) AS last_attempt_at
    FROM mine m
),
ranked AS (
    SELECT id, last_attempt_at,
           CASE WHEN due_today THEN {due} WHEN last_attempt_at IS NULL THEN {new} ELSE {contacted} END AS queue_group,
           COALESCE(last_attempt_at, starts_at) AS sort_at
    FROM keyed
)
SELECT r.id, r.queue_group, r.sort_at, r.last_attempt_at,
       (SELECT a.outcome FROM {attempt} a WHERE a.placement_id = r.id ORDER BY a.started_at DESC LIMIT 1) AS last_outcome
FROM ranked r
{after}
ORDER BY r.queue_group, r.sort_at, r.id
LIMIT %s
"""


def collector_queue(
    *, agency, collector, today: datetime.date, now: datetime.datetime, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page:
    """The collector's active placements in working order. Recalled or expired placements are gone at once:
    the filter is the same ``Placement.objects.active()`` that decides access."""
    mine = Placement.objects.active(at=now).filter(partner=agency, assigned_to=collector).order_by().values("pk", "starts_at")
    mine_sql, mine_params = mine.query.sql_with_params()
    params = [*mine_params, PromiseStatus.PENDING, today]
    after = ""
    key = _load(cursor, _QUEUE_SALT)
    if key:
        try:
            group, stamp, last_pk = int(key[0]), parse_datetime(key[1]), uuid.UUID(key[2])
        except (ValueError, TypeError, IndexError):
            stamp = None
        if stamp is not None:
            after = "WHERE (r.queue_group, r.sort_at, r.id) > (%s, %s, %s)"
            params += [group, stamp, last_pk]
    sql = _QUEUE_SQL.format(
        mine=mine_sql,
        promise=PromiseToPay._meta.db_table,
        attempt=ContactAttempt._meta.db_table,
        due=DUE_TODAY,
        new=NEW,
        contacted=CONTACTED,
        after=after,
    )
    with connection.cursor() as db:
        db.execute(sql, [*params, size + 1])
        keys = db.fetchall()
    next_cursor = None
    if len(keys) > size:
        keys = keys[:size]
        _pk, group, sort_at, _last, _outcome = keys[-1]
        next_cursor = signing.dumps([group, sort_at.isoformat(), str(_pk)], salt=_QUEUE_SALT)
    rows = _with_cases([k[0] for k in keys], now=now)
    extra = {k[0]: k for k in keys}
    for placement in rows:
        _pk, placement.queue_group, placement.sort_at, placement.last_attempt_at, placement.last_outcome = extra[placement.pk]
        placement.last_outcome_label = Outcome(placement.last_outcome).label if placement.last_outcome else ""
    return Page(rows=rows, next_cursor=next_cursor)


UNASSIGNED, ASSIGNED = 0, 1


def agency_placements(*, agency, now: datetime.datetime, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """The agency's active placements in this lender: unassigned first, each part by the end of its term
    (the ones that leave soonest first). Keys from the placement rows, then the page's rows: at most three queries."""
    base = Placement.objects.active(at=now).filter(partner=agency)
    key = _load(cursor, _ASSIGN_SALT)
    segment, after = UNASSIGNED, None
    if key:
        segment, stamp, pk = int(key[0]), parse_datetime(key[1]), key[2]
        after = (stamp, pk) if stamp is not None else None
    keys = []
    while segment <= ASSIGNED and len(keys) <= size:
        part = base.filter(assigned_to__isnull=(segment == UNASSIGNED)).order_by("ends_at", "pk")
        if after:
            part = part.filter(Q(ends_at__gt=after[0]) | Q(ends_at=after[0], pk__gt=after[1]))
        keys.extend((segment, pk, ends_at) for pk, ends_at in part.values_list("pk", "ends_at")[: size + 1 - len(keys)])
        segment, after = segment + 1, None
    next_cursor = None
    if len(keys) > size:
        keys = keys[:size]
        last_segment, last_pk, last_ends = keys[-1]
        next_cursor = signing.dumps([last_segment, last_ends.isoformat(), str(last_pk)], salt=_ASSIGN_SALT)
    rows = _with_cases([pk for _segment, pk, _ends in keys], now=now, related=("case", "case__debtor", "assigned_to"))
    return Page(rows=rows, next_cursor=next_cursor)
