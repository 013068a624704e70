"""The limitation period (诉讼时效) of a case, and the evidence behind it.

民法典 art. 188: three years from when the creditor knew or should have known
of the harm (for an overdue loan, the date it fell due). Art. 195: the period
restarts on a demand reaching the debtor, the debtor's agreement to perform
(including a partial payment or a promise to pay, SPC 法释〔2008〕11号), or a
suit, payment order or preservation application — but only a running period
can be interrupted: the events are walked in date order (walk()), and one
after the running expiry restarts nothing (SPC 诉讼时效规定 art. 19: the
debtor's agreement or payment after expiry is flagged for legal review).
Art. 189 (instalments: from the last instalment's due date, or the
acceleration date) is period_start().
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import translation

from portal.lib.months import add_months

from .models import Case, LimitationEffect, LimitationEvent, LimitationEventKind, RepaymentMethod

LIMITATION_YEARS = 3
DUE = LimitationEventKind.DUE.value


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


INSTALMENT_METHODS = frozenset({RepaymentMethod.EQUAL_INSTALMENTS, RepaymentMethod.EQUAL_PRINCIPAL, RepaymentMethod.INTEREST_ONLY})
# Within one day, events are taken in this order (the effect does not depend on it: an event counts when
# its day is on or before the running expiry, and every event of a day sees the same expiry).
KIND_ORDER = {kind: position for position, kind in enumerate(LimitationEventKind.values)}
DEBTOR_AGREEMENT = frozenset({LimitationEventKind.ACKNOWLEDGMENT.value, LimitationEventKind.PARTIAL_PAYMENT.value})
COUNTED, AFTER_EXPIRY, REVIEW = LimitationEffect.COUNTED.value, LimitationEffect.AFTER_EXPIRY.value, LimitationEffect.REVIEW.value


def last_instalment_due(*, disbursed_on, term_months) -> datetime.date | None:
    """The last instalment's due date: disbursement + the term in calendar months (end-of-month clamp)."""
    if disbursed_on is None or not term_months:
        return None
    return add_months(disbursed_on, term_months)


def period_start(*, overdue_since, repayment_method="", disbursed_on=None, term_months=None, accelerated_on=None) -> datetime.date:
    """When the period starts (the DUE event's date).

    民法典 art. 188: from the day the debt fell due. Art. 189: "当事人约定同一债务分期履行的，诉讼时效期间自最后一期
    履行期限届满之日起计算" — for a loan repaid in instalments, from the last instalment's due date; when the lender
    accelerated the loan (宣布提前到期), the whole debt fell due that day, so from then (never later than the last
    instalment's date). Otherwise (a bullet loan, or the term is unknown) from the first missed date, overdue_since.
    """
    last_due = last_instalment_due(disbursed_on=disbursed_on, term_months=term_months) if repayment_method in INSTALMENT_METHODS else None
    if accelerated_on is not None:
        return min(accelerated_on, last_due) if last_due else accelerated_on
    return last_due or overdue_since


def conservative_expiry(case, events=None) -> datetime.date | None:
    """For an instalment loan whose period runs from a later date (art. 189): the expiry a court would hold if it
    counted from the first missed instalment instead — the same evidence walked from that start (a later demand,
    payment or suit still interrupts it, art. 195). Shown as a warning beside the date; None when it is not earlier.
    ``events``: the standing (kind, date) pairs, when the caller has them."""
    start = period_start(
        overdue_since=case.overdue_since,
        repayment_method=case.repayment_method,
        disbursed_on=case.disbursed_on,
        term_months=case.term_months,
        accelerated_on=case.accelerated_on,
    )
    if case.overdue_since is None or case.overdue_since >= start:
        return None
    if events is None:
        events = standing_events(case).values_list("kind", "occurred_on") if case.pk else []
    expiry = walk([(DUE, case.overdue_since), *((kind, day) for kind, day in events if kind != DUE)]).expiry
    if expiry is None or (case.limitation_expires_on is not None and expiry >= case.limitation_expires_on):
        return None
    return expiry


@dataclass(frozen=True)
class Walk:
    """The events in date order, what each did, and the resulting expiry."""

    expiry: datetime.date | None
    basis: tuple | None  # (kind, date) of the event that set the date
    steps: tuple = ()  # ((kind, date), effect) in date order
    review: bool = False  # an event after expiry is the debtor's later agreement (SPC art. 19)

    @property
    def after_expiry(self) -> tuple:
        return tuple((event, effect) for event, effect in self.steps if effect != COUNTED)


def walk(events: Iterable[tuple[str, datetime.date]]) -> Walk:
    """Walk the (kind, date) events in date order (民法典 arts. 188, 195; SPC 诉讼时效规定 art. 19).

    - The debt falling due (DUE) starts the period: three years from that day.
    - Only a running period can be interrupted (art. 195): a demand, the debtor's agreement (a promise, a partial
      payment) or a legal action ON or before the running expiry restarts it from its day (the period includes its
      last day, so an event on the expiry day still interrupts).
    - An event strictly after the running expiry restarts nothing: a demand or legal action is kept with no effect;
      the debtor's acknowledgment or payment is kept and flagged for legal review (art. 19: he may not raise the
      expiry against what he agreed to or paid), and the date stays the expiry.
    - A later DUE (another part of the debt falling due) always starts its own period.
    Pure: the case page and the import's SQL twin (walk_sql) give the same answer.
    """
    ordered = []
    for kind, day in events:
        if kind not in KIND_ORDER:
            raise ValueError(f"unknown limitation event {kind!r}")
        ordered.append((day, KIND_ORDER[kind], kind))
    ordered.sort()
    expiry, basis, steps, review = None, None, [], False
    for day, _rank, kind in ordered:
        if kind == DUE or expiry is None or day <= expiry:
            expiry, basis, effect = add_years(day, LIMITATION_YEARS), (kind, day), COUNTED
        elif kind in DEBTOR_AGREEMENT:
            effect, review = REVIEW, True
        else:
            effect = AFTER_EXPIRY
        steps.append(((kind, day), effect))
    return Walk(expiry=expiry, basis=basis, steps=tuple(steps), review=review)


def expiry_from(events: Iterable[tuple[str, datetime.date]]) -> tuple[datetime.date | None, tuple[str, datetime.date] | None]:
    """(expiry date, the event that set it) from (kind, date) pairs; (None, None) without events. See walk()."""
    result = walk(events)
    return result.expiry, result.basis


def expiry_sql(latest: str) -> tuple[str, tuple]:
    """add_years(latest, LIMITATION_YEARS) in SQL: (expression, parameters).

    ``latest`` is an SQL date expression. PostgreSQL's date + interval of whole years takes 29 February to
    28 February, exactly as add_years does (tests/portal/test_limitation.py holds the two to the same dates)."""
    return f"CAST(({latest}) + make_interval(years => %s) AS date)", (LIMITATION_YEARS,)


def walk_sql(events: str) -> tuple[str, tuple]:
    """walk() in SQL, set-based, for the import: (query, parameters).

    ``events`` is an SQL relation with columns (key, kind, occurred_on). The query gives one row per event:
    (key, kind, occurred_on, effect, expiry, basis_kind, basis_day, last) where expiry/basis are the running
    values after that event and ``last`` marks each key's final row (its expiry is the case's date). A
    recursive walk over each key's events in (date, kind order), the same rule as walk() (tests hold them equal).
    """
    add, add_params = expiry_sql("o.occurred_on")
    rank = "CASE o.kind " + " ".join(f"WHEN '{kind}' THEN {position}" for kind, position in KIND_ORDER.items()) + " END"
    agreement = ", ".join(f"'{kind}'" for kind in sorted(DEBTOR_AGREEMENT))
    counts = "(o.kind = %s OR o.occurred_on <= w.expiry)"
    query = f"""
        WITH RECURSIVE o AS (
            SELECT e.key, e.kind, e.occurred_on,
                   row_number() OVER (PARTITION BY e.key ORDER BY e.occurred_on, {rank.replace("o.kind", "e.kind")}) AS n,
                   count(*) OVER (PARTITION BY e.key) AS total
            FROM ({events}) AS e (key, kind, occurred_on)
        ), w AS (
            SELECT o.key, o.n, o.total, o.kind, o.occurred_on, %s::text AS effect, {add} AS expiry, o.kind::text AS basis_kind, o.occurred_on AS basis_day
            FROM o WHERE o.n = 1
            UNION ALL
            SELECT o.key, o.n, o.total, o.kind, o.occurred_on,
                   CAST(CASE WHEN {counts} THEN %s WHEN o.kind IN ({agreement}) THEN %s ELSE %s END AS text),
                   CASE WHEN {counts} THEN {add} ELSE w.expiry END,
                   CAST(CASE WHEN {counts} THEN o.kind ELSE w.basis_kind END AS text),
                   CASE WHEN {counts} THEN o.occurred_on ELSE w.basis_day END
            FROM w JOIN o ON o.key = w.key AND o.n = w.n + 1
        )
        SELECT key, kind, occurred_on, effect, expiry, basis_kind, basis_day, n = total AS last FROM w"""
    params = (COUNTED, *add_params, DUE, COUNTED, REVIEW, AFTER_EXPIRY, DUE, *add_params, DUE, DUE)
    return query, params


def standing_events(case: Case):
    """The evidence that counts: every recorded event not withdrawn."""
    return case.limitation_events.filter(withdrawn_at__isnull=True)


def recompute(case: Case) -> datetime.date | None:
    """Store the case's expiry, each standing event's effect and the legal-review flag; returns the expiry."""
    # case_id too: Django reads a deferred case_id back (one query per event) to attach the case it came from.
    events = list(standing_events(case).only("id", "case_id", "kind", "occurred_on", "effect"))
    result = walk((event.kind, event.occurred_on) for event in events)
    effects = dict(result.steps)
    for event in events:
        effect = effects[(event.kind, event.occurred_on)]
        if event.effect != effect:
            LimitationEvent.objects.filter(pk=event.pk).update(effect=effect)
    Case.objects.filter(pk=case.pk).update(limitation_expires_on=result.expiry, limitation_review=result.review)
    case.limitation_expires_on, case.limitation_review = result.expiry, result.review
    return result.expiry


def case_summary(case: Case) -> dict:
    """What the case page's limitation card explains: the walk over the standing evidence (the event that set the
    date, the events after expiry and their effect), and the art. 189 warning date."""
    events = list(standing_events(case).values_list("kind", "occurred_on"))
    result = walk(events)
    return {
        "walk": result,
        "setting": result.basis,
        "review": result.review,
        "conservative_expiry": conservative_expiry(case, events),
    }


@transaction.atomic
def record_event(
    *, case: Case, kind: str, occurred_on: datetime.date, evidence: str = "", source_type: str = "", source_id: str = ""
) -> LimitationEvent:
    """Record an event (idempotent for the same source) and walk the evidence again: it restarts the period only
    if the period is still running on its day (walk()); after expiry it is kept with its effect stored."""
    event, _ = LimitationEvent.objects.get_or_create(
        case=case,
        kind=kind,
        occurred_on=occurred_on,
        source_type=source_type,
        source_id=str(source_id),
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
    withdrawn = LimitationEvent.objects.filter(
        case=case, source_type=source_type, source_id=str(source_id), withdrawn_at__isnull=True
    ).update(withdrawn_at=now, withdrawn_note=note[:300])
    recompute(case)
    return withdrawn
