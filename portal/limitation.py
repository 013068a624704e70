"""The limitation period (诉讼时效) of a case, and the evidence behind it.

民法典 art. 188: three years from when the creditor knew or should have known
of the harm (for an overdue loan, the date it fell due). Art. 195: the period
restarts on a demand reaching the debtor, the debtor's agreement to perform
(including a partial payment or a promise to pay, SPC 法释〔2008〕11号), or a
suit, payment order or preservation application. So the expiry is three years
after the latest of those dates. Art. 189 (instalments: from the last
instalment's due date) is the importer's job when it sets the due date.
"""
import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import translation

from .models import Case, LimitationEvent, LimitationEventKind

LIMITATION_YEARS = 3


def evidence_template(message) -> str:
    """``message`` (a lazy translatable string) in the document language (settings.DOCUMENT_LANGUAGE, Simplified
    Chinese): evidence is a record kept for a court, written the same whoever's screen made it."""
    with translation.override(settings.DOCUMENT_LANGUAGE):
        return str(message)


def label(obj, field_name: str):
    """The lazy label of a choice field's value (``get_FOO_display()`` renders in the screen's language at once)."""
    return dict(obj._meta.get_field(field_name).flatchoices).get(getattr(obj, field_name), getattr(obj, field_name))


def evidence_text(message, **params) -> str:
    """The evidence sentence, placeholders filled; lazy values (choice labels) in the same language."""
    with translation.override(settings.DOCUMENT_LANGUAGE):
        return str(message) % {key: str(value) for key, value in params.items()}


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → 28 February
        return day.replace(year=day.year + years, day=28)


def expiry_sql(latest: str) -> tuple[str, tuple]:
    """add_years(latest, LIMITATION_YEARS) in SQL, for set-based writes (the import): (expression, parameters).

    ``latest`` is an SQL date expression. PostgreSQL's date + interval of whole years takes 29 February to
    28 February, exactly as add_years does (tests/test_limitation.py holds the two to the same dates)."""
    return f"CAST(({latest}) + make_interval(years => %s) AS date)", (LIMITATION_YEARS,)


def expiry_from(events: Iterable[tuple[str, datetime.date]]) -> tuple[datetime.date | None, tuple[str, datetime.date] | None]:
    """(expiry date, the event that set it) from (kind, date) pairs; (None, None) without events."""
    latest = None
    for kind, day in events:
        if kind not in LimitationEventKind.values:
            raise ValueError(f"unknown limitation event {kind!r}")
        if latest is None or day > latest[1]:
            latest = (kind, day)
    if latest is None:
        return None, None
    return add_years(latest[1], LIMITATION_YEARS), latest


def standing_events(case: Case):
    """The evidence that counts: every recorded event not withdrawn."""
    return case.limitation_events.filter(withdrawn_at__isnull=True)


def recompute(case: Case) -> datetime.date | None:
    """Store the case's expiry from its standing events; returns it."""
    expiry, _ = expiry_from(standing_events(case).values_list("kind", "occurred_on"))
    Case.objects.filter(pk=case.pk).update(limitation_expires_on=expiry)
    case.limitation_expires_on = expiry
    return expiry


@transaction.atomic
def record_event(*, case: Case, kind: str, occurred_on: datetime.date, evidence: str = "", source_type: str = "", source_id: str = "") -> LimitationEvent:
    """Record an event (idempotent for the same source) and restart the period if it is the latest."""
    event, _ = LimitationEvent.objects.get_or_create(
        case=case, kind=kind, occurred_on=occurred_on, source_type=source_type, source_id=str(source_id),
        defaults={"evidence": evidence[:300]},
    )
    recompute(case)
    return event


@transaction.atomic
def withdraw_events(*, case: Case, source_type: str, source_id: str, note: str, now: datetime.datetime) -> int:
    """Withdraw the evidence a source gave and recompute the date; returns how many events were withdrawn.

    For a payment that is reversed: money that never arrived (or went back) is no partial performance
    under art. 195, and counting it would show a later expiry than the law gives, the unsafe side for
    the creditor. The events stay on the case, marked, so the date's history remains readable.
    """
    withdrawn = (LimitationEvent.objects.filter(case=case, source_type=source_type, source_id=str(source_id), withdrawn_at__isnull=True)
                 .update(withdrawn_at=now, withdrawn_note=note[:300]))
    recompute(case)
    return withdrawn
