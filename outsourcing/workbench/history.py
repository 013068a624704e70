"""A case's full history for whoever works it next (seed §1, handover): every placement, every
attempt by any agency or the lender, promises and their fate, recordings, field visits, and the
lender's own limitation evidence. A fixed number of queries however long the history is."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone

from outsourcing.models import Placement
from portal.models import LimitationEvent

from .models import CallRecording, ContactAttempt, FieldVisitPhoto, FieldVisitRequest

# The most recent attempts shown; older ones are summarised by a count-free "more" notice.
MAX_ATTEMPTS = 200
WORKBENCH_SOURCES = ("workbench.contactattempt", "workbench.promisetopay")


@dataclass
class Entry:
    at: datetime.datetime
    kind: str  # placement | placement_end | attempt | visit | limitation
    obj: object
    extra: dict = field(default_factory=dict)


@dataclass
class History:
    entries: list
    truncated: bool


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def case_history(*, case) -> History:
    entries = []
    for placement in Placement.objects.filter(case=case).select_related("partner", "assigned_to").order_by("starts_at"):
        entries.append(Entry(placement.starts_at, "placement", placement))
        if placement.ended_at:
            entries.append(Entry(placement.ended_at, "placement_end", placement))
    attempts = list(
        ContactAttempt.objects.filter(case=case)
        .select_related("organisation", "collector", "contact", "promise")
        .prefetch_related(Prefetch("recordings", queryset=CallRecording.objects.order_by("uploaded_at")))
        .order_by("-started_at", "pk")[: MAX_ATTEMPTS + 1]
    )
    truncated = len(attempts) > MAX_ATTEMPTS
    for attempt in attempts[:MAX_ATTEMPTS]:
        entries.append(Entry(attempt.started_at, "attempt", attempt))
    visits = (
        FieldVisitRequest.objects.filter(case=case)
        .select_related("organisation", "requested_by", "decided_by", "report", "report__visited_by")
        .prefetch_related(Prefetch("report__photos", queryset=FieldVisitPhoto.objects.order_by("position")))
    )
    for visit in visits:
        entries.append(Entry(visit.requested_at, "visit", visit))
    for event in LimitationEvent.objects.filter(case=case).exclude(source_type__in=WORKBENCH_SOURCES).order_by("-occurred_on")[:50]:
        entries.append(Entry(_start_of(event.occurred_on), "limitation", event))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return History(entries=entries, truncated=truncated)
