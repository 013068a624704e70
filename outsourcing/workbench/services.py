"""The workbench's operations: keyword-only functions that own their transactions.

Views, tests and (later) the payments item call these and nothing else writes the workbench's
tables. Refusals raise WorkbenchError (or its ConductRefused) with a reason in the active language.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _, gettext_lazy

from outsourcing import field_visit_fees
from outsourcing.models import CollectionAction, Placement
from portal import limitation
from portal.audit.log import Action, record
from portal.lib import phones
from portal.lib.money import to_fen
from portal.models import Case, Contact, Debtor, LimitationEventKind, RiskFlag
from tenants.models import Membership, Role

from . import conduct, uploads
from .errors import ConductRefused, WorkbenchError
from .models import (
    EARLIEST_CONTACT,
    LATEST_CONTACT,
    MAX_DAILY_CAP,
    MAX_PROMISE_GRACE_DAYS,
    CallRecording,
    Channel,
    CollectorAssignment,
    ContactAttempt,
    ContactPolicy,
    FieldVisitPhoto,
    FieldVisitReport,
    FieldVisitRequest,
    IdentityMethod,
    NumberKind,
    Outcome,
    Party,
    PromiseStatus,
    PromiseToPay,
    VisitReason,
    VisitStatus,
)

# Outcomes by who was on the line. Debt may be discussed only with the verified debtor (seed §1),
# so these outcomes need a verified identity; the rest describe calls where nothing was disclosed.
DEBTOR_OUTCOMES = frozenset({Outcome.DEBTOR_REACHED, Outcome.REFUSES, Outcome.PROMISE_TO_PAY, Outcome.DISPUTE, Outcome.CLAIMS_PAID})
THIRD_PARTY_OUTCOMES = frozenset({Outcome.WRONG_NUMBER, Outcome.THIRD_PARTY, Outcome.DECEASED, Outcome.ARRESTED})
NOBODY_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.SWITCHED_OFF})
MESSAGE_OUTCOMES = frozenset({Outcome.MESSAGE_SENT})
# A complaint can come from the debtor or from a contact tired of calls.
EITHER_PARTY_OUTCOMES = frozenset({Outcome.COMPLAINT})
RISK_FLAG_FOR_OUTCOME = {
    Outcome.DECEASED: RiskFlag.DECEASED,
    Outcome.ARRESTED: RiskFlag.ARRESTED,
    Outcome.DISPUTE: RiskFlag.DISPUTE,
    Outcome.COMPLAINT: RiskFlag.COMPLAINT,
}
# Guessing the last four characters must not be a way round verification.
MAX_IDENTITY_FAILURES = 3
# Debt details stay visible this long after verification, and only while the call is open.
REVEAL_MINUTES = 30
WORKING_ROLES = (Role.COLLECTOR, Role.AGENCY_ADMIN)


# ------------------------------------------------------------------ assignment
def collectors_of(agency):
    """People of the agency who may be given cases: active collectors and admins."""
    from tenants.models import User

    members = Membership.objects.filter(organisation=agency, role__in=WORKING_ROLES, is_active=True, user__is_active=True)
    return User.objects.filter(pk__in=members.values("user_id")).order_by("full_name", "email")


@transaction.atomic
def assign_cases(*, placement_ids, collector, agency, assigned_by, now: datetime.datetime) -> int:
    """Give the agency's active placements to one of its collectors (or to nobody: ``collector=None``).

    All or nothing: if any placement is no longer active with the agency (recalled a moment ago),
    nothing is assigned. Each change is written to CollectorAssignment.
    """
    ids = list(dict.fromkeys(str(pk) for pk in placement_ids))
    if not ids:
        raise WorkbenchError(_("Select at least one case."))
    if collector is not None and not collectors_of(agency).filter(pk=collector.pk).exists():
        raise WorkbenchError(_("Cases can only be assigned to an active collector of your agency."))
    placements = list(Placement.objects.active(at=now).filter(partner=agency, pk__in=ids).select_for_update().order_by("pk"))
    if len(placements) != len(ids):
        raise WorkbenchError(_("Some of the selected cases are no longer placed with your agency; nothing was assigned."))
    new_id = collector.pk if collector is not None else None
    changed = [p for p in placements if p.assigned_to_id != new_id]
    if changed:
        Placement.objects.filter(pk__in=[p.pk for p in changed]).update(assigned_to_id=new_id)
        CollectorAssignment.objects.bulk_create(
            [
                CollectorAssignment(
                    placement=p,
                    case_id=p.case_id,
                    collector_id=new_id,
                    previous_collector_id=p.assigned_to_id,
                    assigned_by=assigned_by,
                    assigned_at=now,
                )
                for p in changed
            ]
        )
    return len(changed)


# ------------------------------------------------------------------ contact attempts
def dial_list(debtor: Debtor, contacts=None) -> list[dict]:
    """The debtor's numbers in the order they are dialled: mobile → home → company → contacts (seed §1)."""
    rows = []
    for kind, number in ((NumberKind.MOBILE, debtor.mobile), (NumberKind.HOME, debtor.home_phone), (NumberKind.WORK, debtor.work_phone)):
        if number:
            rows.append(
                {
                    "kind": kind,
                    "label": kind.label,
                    "number": number,
                    "masked": phones.mask(number),
                    "contact": None,
                    "sms": phones.is_mobile(number),
                }
            )
    for contact in contacts if contacts is not None else debtor.contacts.all():
        if contact.phone:
            rows.append(
                {
                    "kind": NumberKind.CONTACT,
                    "label": str(contact),
                    "number": contact.phone,
                    "masked": phones.mask(contact.phone),
                    "contact": contact,
                    "sms": phones.is_mobile(contact.phone),
                }
            )
    return rows


def _number_for(*, debtor, number_kind, contact):
    if number_kind == NumberKind.MOBILE:
        return debtor.mobile
    if number_kind == NumberKind.HOME:
        return debtor.home_phone
    if number_kind == NumberKind.WORK:
        return debtor.work_phone
    if number_kind == NumberKind.CONTACT:
        if contact is None or contact.debtor_id != debtor.pk:
            raise WorkbenchError(_("That contact person does not belong to this debtor."))
        return contact.phone
    raise WorkbenchError(_("Unknown number."))


def _active_placement(*, placement, case, agency, now):
    """The placement as the database has it now, with its agreement version, or WorkbenchError."""
    if placement is None or placement.case_id != case.pk or placement.partner_id != agency.pk:
        raise WorkbenchError(_("This case is not placed with your agency."))
    current = Placement.objects.active(at=now).select_related("agreement_version").filter(pk=placement.pk).first()
    if current is None:
        raise WorkbenchError(_("This case is no longer placed with your agency."))
    return current


# ------------------------------------------------------------------ what the agreement allows
# Placements made before agreements existed carry no version: they keep what the workbench always did.
LEGACY_ACTIONS = frozenset({CollectionAction.PHONE.value, CollectionAction.SMS.value})
ACTION_FOR_CHANNEL = {
    Channel.PHONE: CollectionAction.PHONE,
    Channel.SMS: CollectionAction.SMS,
    Channel.LETTER: CollectionAction.LETTER,
    Channel.VISIT: CollectionAction.FIELD_VISIT,
}


def allowed_actions(placement: Placement | None) -> frozenset:
    """What the agreement version the case was placed under allows the agency (PIPL art. 21: the
    entrusted party may not exceed the agreement). Nothing without a placement."""
    if placement is None:
        return frozenset()
    if placement.agreement_version_id is None:
        return LEGACY_ACTIONS
    return frozenset(str(action) for action in placement.agreement_version.allowed_actions)


def _action_refusal(action: str) -> str:
    messages = {
        CollectionAction.PHONE: _("Refused: the agreement this case was placed under does not allow phone calls."),
        CollectionAction.SMS: _("Refused: the agreement this case was placed under does not allow text messages."),
        CollectionAction.LETTER: _("Refused: the agreement this case was placed under does not allow letters."),
        CollectionAction.FIELD_VISIT: _("Refused: the agreement this case was placed under does not allow field visits."),
    }
    return messages[action]


def check_action_allowed(*, placement: Placement, action: str) -> None:
    """Raise WorkbenchError unless the placement's agreement allows ``action`` (a CollectionAction)."""
    if action not in allowed_actions(placement):
        raise WorkbenchError(_action_refusal(action))


# ------------------------------------------------------------------ attempts whose placement ended
def _placement_end(placement: Placement) -> datetime.datetime:
    """When access ended: the recall (or return, or recorded expiry), else the end of the term."""
    return min(moment for moment in (placement.ended_at, placement.ends_at) if moment is not None)


def _orphaned(queryset, *, now):
    """Open attempts made under a placement that is no longer in force at ``now``."""
    # A correlated NOT EXISTS: one primary-key probe per open attempt, never a scan of every active placement.
    in_force = Placement.objects.active(at=now).filter(pk=OuterRef("placement_id"))
    return queryset.filter(outcome="", placement__isnull=False).exclude(Exists(in_force))


def _close_orphans(attempts, *, now) -> int:
    closed = 0
    for attempt in attempts:
        ended_at = max(attempt.started_at, min(_placement_end(attempt.placement), now))
        # Compare-and-swap on the blank outcome: a close racing a logged outcome changes nothing.
        closed += ContactAttempt.objects.filter(pk=attempt.pk, outcome="").update(outcome=Outcome.PLACEMENT_ENDED, ended_at=ended_at)
    return closed


def close_orphaned_attempts(*, now: datetime.datetime, case: Case | None = None, collector=None, placement_ids=None) -> int:
    """Close the attempts left open when their placement ended (recall, expiry, return); returns how many.

    The placement's owners end placements without knowing about calls, so the workbench closes these
    lazily, in the next action that meets them (starting a call, verifying, logging an outcome); never on a
    page read (a GET writes nothing; the case page simply no longer offers such a call). The outcome is
    PLACEMENT_ENDED and the note stays empty: nothing is invented about a call whose outcome was never
    logged, and nothing may be recorded on it once access ended. Whoever was verified stays recorded.
    ``ended_at`` is when access ended (not before the call started, not after ``now``).
    """
    attempts = ContactAttempt.objects.all()
    if case is not None:
        attempts = attempts.filter(case=case)
    if collector is not None:
        attempts = attempts.filter(collector=collector)
    if placement_ids is not None:
        attempts = attempts.filter(placement_id__in=list(placement_ids))
    with transaction.atomic():
        orphans = list(_orphaned(attempts, now=now).select_related("placement").select_for_update(of=("self",)).order_by("pk"))
        return _close_orphans(orphans, now=now) if orphans else 0


def _attempt_in_force(attempt: ContactAttempt, *, now) -> bool:
    """May anything still be recorded on this open attempt? Only while its placement is in force.
    The case row is locked first: a recall (which locks its cases) is then either wholly before or after."""
    Case.objects.select_for_update(of=("self",)).filter(pk=attempt.case_id).values_list("pk", flat=True).first()
    if attempt.placement_id is None:
        return True  # the lender's own collection, not under any placement
    return Placement.objects.active(at=now).filter(pk=attempt.placement_id).exists()


def _access_ended_error() -> WorkbenchError:
    return WorkbenchError(
        _("This case is no longer placed with your agency. The open attempt was closed unlogged; nothing more can be recorded on it.")
    )


@transaction.atomic
def start_attempt(
    *,
    case: Case,
    placement: Placement,
    agency,
    collector,
    channel: str,
    number_kind: str,
    contact: Contact | None = None,
    now: datetime.datetime,
    policy: ContactPolicy | None = None,
) -> ContactAttempt:
    """Open an attempt when the collector dials or sends: the moment the conduct rules are checked.

    The debtor row is locked, so concurrent attempts by different agencies are counted one after
    the other and the cap holds across all of them. The number is copied onto the attempt as it
    was dialled, so the record survives a later change of the debtor's numbers.
    """
    if channel not in (Channel.PHONE, Channel.SMS):
        raise WorkbenchError(_("Only calls and text messages are started from the workbench."))
    placement = _active_placement(placement=placement, case=case, agency=agency, now=now)
    check_action_allowed(placement=placement, action=ACTION_FOR_CHANNEL[channel])
    debtor = Debtor.objects.select_for_update().get(pk=case.debtor_id)
    number = _number_for(debtor=debtor, number_kind=number_kind, contact=contact)
    if not number:
        raise WorkbenchError(_("There is no such number on record."))
    if channel == Channel.SMS and not phones.is_mobile(number):
        raise WorkbenchError(_("A text message can only be sent to a mobile number."))
    # An attempt left open under an earlier placement of this case can no longer be logged: close it, not block.
    close_orphaned_attempts(case=case, collector=collector, now=now)
    if ContactAttempt.objects.filter(case=case, collector=collector, outcome="").exists():
        raise WorkbenchError(_("Log the outcome of your open attempt on this case first."))
    policy = policy or ContactPolicy.current()
    local_date = conduct.check_contact_allowed(debtor_id=debtor.pk, at=now, policy=policy)
    return ContactAttempt.objects.create(
        case=case,
        debtor=debtor,
        placement=placement,
        organisation=agency,
        collector=collector,
        channel=channel,
        number_kind=number_kind,
        contact=contact if number_kind == NumberKind.CONTACT else None,
        number_dialled=number,
        started_at=now,
        debtor_local_date=local_date,
    )


def _open_attempt_of(attempt: ContactAttempt, collector):
    if attempt.collector_id != getattr(collector, "pk", None):
        raise WorkbenchError(_("Only the collector who made the attempt can record it."))
    if not attempt.is_open:
        raise WorkbenchError(_("This attempt is already closed; records cannot be changed."))


def _normalise(text: str) -> str:
    return "".join((text or "").split()).upper()


def identity_answer_matches(*, debtor: Debtor, method: str, name: str, answer: str) -> bool:
    """Does what the person on the line said match the debtor's record? Name plus a fact from the ID number."""
    if _normalise(name) != _normalise(debtor.name) or not debtor.id_number_ciphertext:
        return False
    id_number = debtor.id_number.upper()
    if method == IdentityMethod.ID_LAST4:
        return _normalise(answer) == id_number[-4:]
    if method == IdentityMethod.BIRTH_DATE:
        digits = "".join(ch for ch in (answer or "") if ch.isdigit())
        return len(digits) == 8 and digits == id_number[6:14]
    raise WorkbenchError(_("Unknown verification method."))


def id_number_on_screen(debtor: Debtor) -> str:
    """The ID number as the workbench shows it: only the first three characters (the province).

    The identity check asks for the last four characters or the date of birth (characters 7–14), so the
    screen must show neither: the usual mask (110***********002X) would hand the collector the answer
    and the check would prove nothing about the person on the line."""
    masked = debtor.id_number_masked or ""
    return masked[:3] + "*" * max(len(masked) - 3, 0) if masked else ""


def verify_identity(*, attempt: ContactAttempt, collector, method: str, name: str, answer: str, now: datetime.datetime) -> ContactAttempt:
    """Record that the person on the line is the debtor, before any debt detail is discussed (seed §1).

    The answer is checked against the encrypted ID number; a wrong answer is counted (and kept even
    though the call is refused) and after three the call must be treated as reaching a third party.
    """
    with transaction.atomic():
        attempt = ContactAttempt.objects.select_for_update(of=("self",)).select_related("debtor", "placement").get(pk=attempt.pk)
        _open_attempt_of(attempt, collector)
        access_ended = not _attempt_in_force(attempt, now=now)
        if access_ended:
            _close_orphans([attempt], now=now)
        else:
            if attempt.channel != Channel.PHONE:
                raise WorkbenchError(_("Identity is verified on a call."))
            if attempt.identity_verified:
                return attempt
            if attempt.identity_failures >= MAX_IDENTITY_FAILURES:
                raise WorkbenchError(_("Too many wrong answers on this call. Treat the person as a third party: do not discuss the debt."))
            matched = identity_answer_matches(debtor=attempt.debtor, method=method, name=name, answer=answer)
            if matched:
                ContactAttempt.objects.filter(pk=attempt.pk).update(
                    identity_verified=True, identity_method=method, identity_verified_at=now, party_reached=Party.DEBTOR
                )
            else:
                ContactAttempt.objects.filter(pk=attempt.pk).update(identity_failures=attempt.identity_failures + 1)
    # Both refusals are raised after the block, so what they record (the close, the failure) is kept.
    if access_ended:
        raise _access_ended_error()
    if not matched:
        raise WorkbenchError(_("The answers do not match the debtor's record. Do not discuss the debt with this person."))
    attempt.refresh_from_db()
    return attempt


def reveals_debt(attempt: ContactAttempt | None, *, now: datetime.datetime) -> bool:
    """Debt details are shown for this call only: open, verified, and recently."""
    return bool(
        attempt is not None
        and attempt.is_open
        and attempt.identity_verified
        and attempt.identity_verified_at is not None
        and now - attempt.identity_verified_at <= datetime.timedelta(minutes=REVEAL_MINUTES)
    )


def outcomes_for(*, channel: str, identity_verified: bool) -> frozenset:
    """The outcomes a call or message in this state can be closed with (party_for accepts exactly these)."""
    if channel in (Channel.SMS, Channel.LETTER):
        return MESSAGE_OUTCOMES
    if identity_verified:
        return DEBTOR_OUTCOMES | EITHER_PARTY_OUTCOMES
    return NOBODY_OUTCOMES | THIRD_PARTY_OUTCOMES | EITHER_PARTY_OUTCOMES


def party_for(*, outcome: str, channel: str, identity_verified: bool) -> str:
    """Who was reached, from the outcome, or WorkbenchError when the outcome does not fit the call."""
    if channel in (Channel.SMS, Channel.LETTER):
        if outcome not in MESSAGE_OUTCOMES:
            raise WorkbenchError(_("A text message or letter can only be recorded as sent."))
        return Party.NONE
    if outcome in MESSAGE_OUTCOMES:
        raise WorkbenchError(_('"Message sent" is for text messages and letters.'))
    if outcome in DEBTOR_OUTCOMES:
        if not identity_verified:
            raise WorkbenchError(_("This outcome needs the debtor's identity verified on the call first."))
        return Party.DEBTOR
    if outcome in EITHER_PARTY_OUTCOMES:
        return Party.DEBTOR if identity_verified else Party.THIRD_PARTY
    if identity_verified:
        raise WorkbenchError(_("The debtor was verified on this call; choose an outcome of a conversation with the debtor."))
    if outcome in THIRD_PARTY_OUTCOMES:
        return Party.THIRD_PARTY
    if outcome in NOBODY_OUTCOMES:
        return Party.NONE
    raise WorkbenchError(_("Unknown outcome."))


def record_outcome(
    *,
    attempt: ContactAttempt,
    collector,
    outcome: str,
    note: str = "",
    promise_amount=None,
    promise_due_on: datetime.date | None = None,
    now: datetime.datetime,
) -> ContactAttempt:
    """Close an attempt with its outcome code and note (the attempt log, 催记).

    Reaching the verified debtor is a demand reaching the debtor (民法典 art. 195(一)); a promise to
    pay is the debtor's agreement to perform (art. 195(二)). Both restart the limitation period and
    are recorded as its evidence. Outcomes that reveal a risk flag the case. Nothing is recorded once
    the placement has ended: the attempt is closed unlogged instead (close_orphaned_attempts).
    """
    with transaction.atomic():
        locked = ContactAttempt.objects.select_for_update(of=("self",)).select_related("placement").get(pk=attempt.pk)
        _open_attempt_of(locked, collector)
        access_ended = not _attempt_in_force(locked, now=now)
        if access_ended:
            _close_orphans([locked], now=now)
        else:
            return _record_outcome_locked(
                locked, outcome=outcome, note=note, promise_amount=promise_amount, promise_due_on=promise_due_on, now=now
            )
    raise _access_ended_error()  # after the block, so the close is kept


def _record_outcome_locked(attempt, *, outcome, note, promise_amount, promise_due_on, now):
    party = party_for(outcome=outcome, channel=attempt.channel, identity_verified=attempt.identity_verified)
    if outcome == Outcome.PROMISE_TO_PAY and (promise_amount is None or promise_due_on is None):
        raise WorkbenchError(_("A promise to pay needs an amount and a date."))
    if outcome != Outcome.PROMISE_TO_PAY and (promise_amount is not None or promise_due_on is not None):
        raise WorkbenchError(_('An amount and date are recorded only with the outcome "Promise to pay".'))
    note = (note or "").strip()
    if len(note) > 2000:
        raise WorkbenchError(_("The note is longer than 2,000 characters."))
    closed = ContactAttempt.objects.filter(pk=attempt.pk, outcome="").update(outcome=outcome, party_reached=party, note=note, ended_at=now)
    if not closed:
        raise WorkbenchError(_("This attempt is already closed; records cannot be changed."))
    attempt.refresh_from_db()
    case = Case.objects.select_for_update().get(pk=attempt.case_id)
    if party == Party.DEBTOR:
        limitation.record_event(
            case=case,
            kind=LimitationEventKind.DEMAND,
            occurred_on=attempt.debtor_local_date,
            evidence=limitation.evidence_text(
                gettext_lazy("Call to the debtor (%(number)s), identity verified (%(method)s); outcome: %(outcome)s"),
                number=limitation.label(attempt, "number_kind"),
                method=limitation.label(attempt, "identity_method"),
                outcome=limitation.label(attempt, "outcome"),
            ),
            source_type="workbench.contactattempt",
            source_id=str(attempt.pk),
        )
    if outcome == Outcome.PROMISE_TO_PAY:
        record_promise(attempt=attempt, amount=promise_amount, due_on=promise_due_on)
    flag = RISK_FLAG_FOR_OUTCOME.get(outcome)
    if flag and flag not in case.risk_flags:
        case.risk_flags = [*case.risk_flags, flag]
        case.save(update_fields=["risk_flags", "updated_at"])
    return attempt


# ------------------------------------------------------------------ promises to pay
@transaction.atomic
def record_promise(*, attempt: ContactAttempt, amount, due_on: datetime.date) -> PromiseToPay:
    """Store the verified debtor's promise (承诺还款) and its limitation evidence."""
    if attempt.outcome != Outcome.PROMISE_TO_PAY or attempt.party_reached != Party.DEBTOR:
        raise WorkbenchError(_("A promise is recorded from a call in which the verified debtor promised to pay."))
    amount = to_fen(amount)
    if amount <= 0:
        raise WorkbenchError(_("The promised amount must be more than zero."))
    if due_on < attempt.debtor_local_date:
        raise WorkbenchError(_("The promised date cannot be before the call."))
    promise = PromiseToPay.objects.create(
        case_id=attempt.case_id,
        placement_id=attempt.placement_id,
        attempt=attempt,
        amount=amount,
        promised_on=attempt.debtor_local_date,
        due_on=due_on,
    )
    limitation.record_event(
        case=Case.objects.get(pk=attempt.case_id),
        kind=LimitationEventKind.ACKNOWLEDGMENT,
        occurred_on=attempt.debtor_local_date,
        evidence=limitation.evidence_text(
            gettext_lazy("Promise to pay %(amount)s by %(date)s in a recorded call"), amount=amount, date=due_on.isoformat()
        ),
        source_type="workbench.promisetopay",
        source_id=str(promise.pk),
    )
    return promise


@dataclass(frozen=True)
class PromiseEvaluation:
    status: str
    paid_amount: Decimal


@dataclass(frozen=True)
class PromiseTerms:
    """What evaluating a promise needs: its key (any hashable), amount and dates."""

    key: object
    amount: Decimal
    promised_on: datetime.date
    due_on: datetime.date


def _status(*, amount, paid, due_on, as_of, grace_days) -> str:
    if paid >= amount:
        return PromiseStatus.KEPT
    if as_of <= due_on + datetime.timedelta(days=grace_days):
        return PromiseStatus.PENDING
    if paid > 0:
        return PromiseStatus.PARTLY_KEPT
    return PromiseStatus.BROKEN


def evaluate_promises(promises, *, payments, as_of: datetime.date, grace_days: int = 0) -> dict:
    """Kept, partly kept, broken or pending for each of a case's promises, from its payments; {key: PromiseEvaluation}.

    One payment keeps at most one promise's worth: the money is allocated to the promises **earliest due
    first** (then the earlier made), each taking from the payments dated from the day it was made to its
    due date plus ``grace_days`` (bank T+1: money paid on the due date may be booked the next day), oldest
    payment first, no more than it still lacks. Money is counted once across all promises, so two open
    promises and one payment that covers one of them give one kept and one pending (or broken once its
    date and grace have passed).

    A promise is kept when fully paid (even early), pending until its due date plus grace, then partly
    kept if something was paid, broken if nothing. A payment recorded late but dated in time changes the
    result when evaluated again; statuses are not final.
    """
    remaining = sorted(([day, to_fen(value)] for day, value in payments), key=lambda row: row[0])
    grace = datetime.timedelta(days=int(grace_days))
    results = {}
    for promise in sorted(promises, key=lambda p: (p.due_on, p.promised_on)):
        amount = to_fen(promise.amount)
        paid = Decimal(0)
        for row in remaining:
            if paid >= amount:
                break
            day, left = row
            if left <= 0 or not promise.promised_on <= day <= promise.due_on + grace:
                continue
            take = min(left, amount - paid)
            row[1] = left - take
            paid += take
        paid = to_fen(paid)
        results[promise.key] = PromiseEvaluation(
            status=_status(amount=amount, paid=paid, due_on=promise.due_on, as_of=as_of, grace_days=int(grace_days)), paid_amount=paid
        )
    return results


def evaluate_promise(
    *, amount, promised_on: datetime.date, due_on: datetime.date, payments, as_of: datetime.date, grace_days: int = 0
) -> PromiseEvaluation:
    """One promise alone (evaluate_promises with a single promise)."""
    terms = PromiseTerms(key=0, amount=to_fen(amount), promised_on=promised_on, due_on=due_on)
    return evaluate_promises([terms], payments=payments, as_of=as_of, grace_days=grace_days)[0]


@transaction.atomic
def store_promise_evaluations(*, case: Case, payments, as_of: datetime.date, now: datetime.datetime) -> list[PromiseToPay]:
    """Re-evaluate every promise on the case from its payments (the payments item calls this on each posting,
    and a daily sweep with the same list once due dates pass). The lender's grace days (ContactPolicy) apply
    here, so callers pass plain dates. Returns the promises whose status or paid amount changed."""
    grace = ContactPolicy.current().promise_grace_days
    promises = list(PromiseToPay.objects.select_for_update().filter(case=case).order_by("due_on", "promised_on", "created_at", "pk"))
    results = evaluate_promises(
        [PromiseTerms(key=p.pk, amount=p.amount, promised_on=p.promised_on, due_on=p.due_on) for p in promises],
        payments=payments,
        as_of=as_of,
        grace_days=grace,
    )
    changed = []
    for promise in promises:
        result = results[promise.pk]
        if (result.status, result.paid_amount) != (promise.status, promise.paid_amount):
            promise.status, promise.paid_amount, promise.evaluated_at = result.status, result.paid_amount, now
            promise.save(update_fields=["status", "paid_amount", "evaluated_at"])
            changed.append(promise)
    return changed


# ------------------------------------------------------------------ recordings
def _store_file(field_file, upload):
    # FileField.save with save=False: the row is inserted once, after the file is on disk.
    field_file.save(upload.name or "upload", upload, save=False)


@transaction.atomic
def upload_recording(*, attempt: ContactAttempt, upload, uploaded_by, agency, now: datetime.datetime) -> CallRecording:
    """Attach the call's recording (录音), checked by content and size; stored under the lender's media."""
    if attempt.organisation_id != agency.pk:
        raise WorkbenchError(_("Only the agency that made the call can upload its recording."))
    if attempt.channel != Channel.PHONE:
        raise WorkbenchError(_("Recordings belong to calls."))
    try:
        mime = uploads.check_recording(upload)
    except ValidationError as error:
        raise WorkbenchError(error.messages[0]) from None
    recording = CallRecording(
        attempt=attempt,
        original_name=(upload.name or "")[:200],
        mime=mime,
        size=upload.size,
        sha256=uploads.sha256_of(upload),
        uploaded_by=uploaded_by,
        uploaded_at=now,
    )
    _store_file(recording.file, upload)
    recording.save()
    return recording


# ------------------------------------------------------------------ field visits
@transaction.atomic
def request_field_visit(
    *, case: Case, placement: Placement, agency, reason: str, note: str, requested_by, now: datetime.datetime
) -> FieldVisitRequest:
    """Ask the lender for a field visit (外访): for major risk (fraud, death, arrest), repeated broken
    promises, or a debtor phone collection cannot reach (seed §2). Only where the agreement allows field visits."""
    placement = _active_placement(placement=placement, case=case, agency=agency, now=now)
    check_action_allowed(placement=placement, action=CollectionAction.FIELD_VISIT)
    if reason not in VisitReason.values:
        raise WorkbenchError(_("Choose a reason for the visit."))
    note = (note or "").strip()
    if not note:
        raise WorkbenchError(_("Say what phone collection found and what the visit should establish."))
    try:
        with transaction.atomic():
            return FieldVisitRequest.objects.create(
                case=case,
                placement=placement,
                organisation=agency,
                reason=reason,
                note=note[:4000],
                requested_by=requested_by,
                requested_at=now,
            )
    except IntegrityError:
        raise WorkbenchError(_("A field visit request for this case is already waiting for the lender.")) from None


def _window_justification(*, at: datetime.datetime, problems: list[str], justification: str, policy) -> str:
    """A field-visit step outside the conduct rules needs a recorded reason; returns the reason to store ('' inside them)."""
    justification = (justification or "").strip()
    if not problems:
        return ""
    if not justification:
        raise ConductRefused(" ".join(problems) + " " + _("Record why it could not wait (the lender sees the reason)."))
    return justification[:2000]


@transaction.atomic
def decide_field_visit(
    *,
    visit: FieldVisitRequest,
    approve: bool,
    decided_by,
    note: str = "",
    now: datetime.datetime,
    window_justification: str = "",
    policy: ContactPolicy | None = None,
) -> FieldVisitRequest:
    """The lender approves or refuses; decided once (compare-and-swap on the pending status).

    An approval sends a visitor to the debtor, so it is held to the contact window (conduct.py, in China time
    and the debtor's zone): outside it, it needs a recorded justification. A refusal contacts nobody."""
    status = VisitStatus.APPROVED if approve else VisitStatus.REFUSED
    note = (note or "").strip()[:500]
    if not approve and not note:
        raise WorkbenchError(_("Give the agency a reason for the refusal."))
    justification = ""
    if approve:
        policy = policy or ContactPolicy.current()
        problem = conduct.window_refusal(now, policy)
        justification = _window_justification(
            at=now, problems=[problem] if problem else [], justification=window_justification, policy=policy
        )
    updated = FieldVisitRequest.objects.filter(pk=visit.pk, status=VisitStatus.PENDING).update(
        status=status, decided_by=decided_by, decided_at=now, decision_note=note, decision_window_justification=justification
    )
    if not updated:
        raise WorkbenchError(_("This request has already been decided."))
    visit.refresh_from_db()
    return visit


@transaction.atomic
def file_visit_report(
    *,
    visit: FieldVisitRequest,
    findings: str,
    visited_at: datetime.datetime,
    photos,
    visited_by,
    agency,
    now: datetime.datetime,
    window_justification: str = "",
    policy: ContactPolicy | None = None,
) -> FieldVisitReport:
    """The visit's findings and photos, on the case for the lender and whoever works it next.

    A visit is a contact: it counts toward the debtor's daily limit (conduct.contacts_on), and a visit
    outside the contact window, or on a day the limit was already reached, needs a recorded justification
    (stored on the report and shown to the lender)."""
    visit = FieldVisitRequest.objects.select_for_update().get(pk=visit.pk)
    if visit.organisation_id != agency.pk:
        raise WorkbenchError(_("Only the agency that asked for the visit can report on it."))
    if visit.status != VisitStatus.APPROVED:
        raise WorkbenchError(_("Only an approved visit can be reported."))
    if FieldVisitReport.objects.filter(request=visit).exists():
        raise WorkbenchError(_("This visit has already been reported."))
    findings = (findings or "").strip()
    if not findings:
        raise WorkbenchError(_("Describe what the visit found."))
    if visited_at > now or visited_at < visit.decided_at:
        raise WorkbenchError(_("The visit must have taken place after the approval and not in the future."))
    policy = policy or ContactPolicy.current()
    # The debtor row is locked like start_attempt does, so the day's count is not raced by a call.
    debtor_id = Case.objects.values_list("debtor_id", flat=True).get(pk=visit.case_id)
    Debtor.objects.select_for_update().filter(pk=debtor_id).values_list("pk", flat=True).first()
    problems = [
        p
        for p in (
            conduct.window_refusal(visited_at, policy),
            conduct.cap_refusal(debtor_id=debtor_id, local_date=conduct.debtor_local(visited_at, policy).date(), policy=policy),
        )
        if p
    ]
    justification = _window_justification(at=visited_at, problems=problems, justification=window_justification, policy=policy)
    photos = list(photos or [])
    if len(photos) > uploads.MAX_PHOTOS_PER_REPORT:
        raise WorkbenchError(_("At most %(n)s photos per report.") % {"n": uploads.MAX_PHOTOS_PER_REPORT})
    checked = []
    for upload in photos:
        try:
            checked.append((upload, *uploads.check_photo(upload)))
        except ValidationError as error:
            raise WorkbenchError(f"{upload.name}: {error.messages[0]}") from None
    report = FieldVisitReport.objects.create(
        request=visit,
        findings=findings[:10000],
        visited_at=visited_at,
        visited_by=visited_by,
        created_at=now,
        window_justification=justification,
    )
    for position, (upload, mime, width, height) in enumerate(checked, start=1):
        photo = FieldVisitPhoto(
            report=report,
            position=position,
            original_name=(upload.name or "")[:200],
            mime=mime,
            size=upload.size,
            width=width,
            height=height,
            sha256=uploads.sha256_of(upload),
        )
        _store_file(photo.file, upload)
        photo.save()
    field_visit_fees.charge_report(report)  # the agreement's fee per visit, and its ledger entry (外访费)
    return report


# ------------------------------------------------------------------ contact policy
@transaction.atomic
def set_contact_policy(
    *,
    window_start: datetime.time,
    window_end: datetime.time,
    daily_cap: int,
    time_zone: str,
    updated_by,
    now: datetime.datetime,
    promise_grace_days: int | None = None,
    request=None,
) -> ContactPolicy:
    """The lender's contact rules. The window may only be narrowed from 08:00–21:00 (the database refuses wider)."""
    if window_start < EARLIEST_CONTACT or window_end > LATEST_CONTACT:
        raise WorkbenchError(_("The contact window can only be made stricter than 08:00–21:00."))
    if window_start >= window_end:
        raise WorkbenchError(_("The window must end after it starts."))
    if not 1 <= int(daily_cap) <= MAX_DAILY_CAP:
        raise WorkbenchError(_("The daily limit must be between 1 and %(max)s.") % {"max": MAX_DAILY_CAP})
    if time_zone not in available_timezones():
        raise WorkbenchError(_("Unknown time zone."))
    ZoneInfo(time_zone)
    if promise_grace_days is None:
        promise_grace_days = ContactPolicy.current().promise_grace_days
    if not 0 <= int(promise_grace_days) <= MAX_PROMISE_GRACE_DAYS:
        raise WorkbenchError(_("The grace days for promises must be between 0 and %(max)s.") % {"max": MAX_PROMISE_GRACE_DAYS})
    policy, _created = ContactPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "window_start": window_start,
            "window_end": window_end,
            "daily_cap_per_debtor": int(daily_cap),
            "debtor_time_zone": time_zone,
            "promise_grace_days": int(promise_grace_days),
            "updated_by": updated_by,
            "updated_at": now,
        },
    )
    record(
        Action.CHANGE,
        request=request,
        actor=updated_by,
        object_type="workbench.contactpolicy",
        object_id="1",
        window=f"{window_start:%H:%M}-{window_end:%H:%M}",
        daily_cap=int(daily_cap),
        time_zone=time_zone,
        promise_grace_days=int(promise_grace_days),
    )
    return policy
