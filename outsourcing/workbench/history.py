"""A case's full history for whoever works it next (seed §1, handover): every placement, every
attempt by any agency or the lender, promises and their fate, recordings, field visits, and the
lender's own limitation evidence. A fixed number of queries however long the history is."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone

from outsourcing.models import Placement
from portal.access import can
from portal.models import LimitationEvent, LimitationEventKind

from .models import CallRecording, ContactAttempt, FieldVisitPhoto, FieldVisitRequest

# The most recent attempts shown; older ones are summarised by a count-free "more" notice.
MAX_ATTEMPTS = 200
WORKBENCH_SOURCES = ("workbench.contactattempt", "workbench.promisetopay")
PAYMENT_SOURCE = "payments.payment"  # portal.payments.services.EVIDENCE_SOURCE: a payment's evidence names its reference and amount


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


def shows_payment_details(principal) -> bool:
    """May this principal read the lender's payments (amount, bank reference) in a case's history?
    Partners may not: they hear of a payment through their own commission lines (PIPL art. 6)."""
    return can(principal, "payment.view_amounts") and can(principal, "payment.view_reference")


def _is_payment_evidence(event) -> bool:
    return event.source_type == PAYMENT_SOURCE or event.kind == LimitationEventKind.PARTIAL_PAYMENT


def case_history(*, case, principal=None, max_attempts: int | None = MAX_ATTEMPTS) -> History:
    """The case's history, newest first; ``max_attempts=None`` shows every attempt (still a fixed number of queries).

    Without a principal allowed to read payments (``shows_payment_details``; none given: not allowed), the
    evidence text of payment events (their reference and amount) is left out: the entry says what happened, not how much.
    """
    entries = []
    for placement in Placement.objects.filter(case=case).select_related("partner", "assigned_to").order_by("starts_at"):
        entries.append(Entry(placement.starts_at, "placement", placement))
        if placement.ended_at:
            entries.append(Entry(placement.ended_at, "placement_end", placement))
    attempts = (
        ContactAttempt.objects.filter(case=case)
        .select_related("organisation", "collector", "contact", "promise")
        .prefetch_related(Prefetch("recordings", queryset=CallRecording.objects.order_by("uploaded_at")))
        .order_by("-started_at", "pk")
    )
    attempts = list(attempts if max_attempts is None else attempts[: max_attempts + 1])
    truncated = max_attempts is not None and len(attempts) > max_attempts
    for attempt in attempts[:max_attempts]:
        entries.append(Entry(attempt.started_at, "attempt", attempt))
    visits = (
        FieldVisitRequest.objects.filter(case=case)
        .select_related("organisation", "requested_by", "decided_by", "report", "report__visited_by")
        .prefetch_related(Prefetch("report__photos", queryset=FieldVisitPhoto.objects.order_by("position")))
    )
    for visit in visits:
        entries.append(Entry(visit.requested_at, "visit", visit))
    payment_details = shows_payment_details(principal)
    for event in LimitationEvent.objects.filter(case=case).exclude(source_type__in=WORKBENCH_SOURCES).order_by("-occurred_on")[:50]:
        if not payment_details and _is_payment_evidence(event):
            # Shown, never saved: the kind ("Partial payment") and the date stay, the reference and amount go.
            event.evidence, event.withdrawn_note = "", ""
        entries.append(Entry(_start_of(event.occurred_on), "limitation", event))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return History(entries=entries, truncated=truncated)
