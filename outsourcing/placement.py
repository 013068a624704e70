"""Placing cases with an agency (委案), recalling them (撤案), term expiry and holds (留案).

Keyword-only functions that own their transactions. Every write that can
race locks rows in one order — agreements (by pk), then cases (by pk), then
placements — so two writers never wait on each other in a circle; the
partial unique index "one active placement per case" is the final guard,
and its violation is turned into the same clear refusal as the checks.

Access needs nothing from here: ``PlacementQuerySet.active()`` compares
``ends_at`` with the clock, so a partner loses a case the moment a recall
commits or the term (or an approved hold) runs out. ``expire_due_placements``
only records what the clock already decided.

Terms are whole local days (Asia/Shanghai, settings.TIME_ZONE). A placement's term begins at the local
midnight of the day it is placed (``term_start``) and ends at a local midnight (``ends_for``: the
midnight after its last day; a hold until a date keeps the case through that whole day; expiry records
``ends_at``). So a payment's date decides its agency without ambiguity:

* a placement covers the local dates from its start day up to the day before its ``ends_at`` midnight;
* a recall ends access the instant it commits (``ended_at`` is that instant, and ``active()`` stays the
  one definition of in force), but the day of the recall still belongs to the recalled placement —
  unless the case is placed again that same day: **the day of a handover belongs to the new
  placement** (the one that started last; among two started the same day, the one that ended later).

Exactly one placement (or none) therefore covers each local date (``commissions.placement_on``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import access
from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.models import Case, CaseStatus, bucket_for
from tenants.models import Engagement, EngagementStatus, Organisation, OrganisationKind

from .history import bulk_history, write_with_history
from .models import (
    Agreement,
    AgreementVersion,
    HoldRequest,
    HoldStatus,
    Placement,
    PlacementStatus,
    last_local_day,
)

# Cases in these states are with the lender or already handed over; anything else
# (litigation, settled, written off, closed) is never placed with an agency.
PLACEABLE_STATUSES = (CaseStatus.NEW, CaseStatus.INTERNAL, CaseStatus.PLACED)
DEFAULT_MAX_HOLD_DAYS = 30
BULK_CHUNK = 5000

# Why a placement (or a recall, or a hold) is refused. English msgids; the text is
# produced in the reader's language when the error is shown.
MESSAGES = {
    "not_agency": _("%(partner)s is not a collection agency."),
    "engagement": _("%(partner)s is not an active partner of yours; activate the engagement first."),
    "licence": _("%(partner)s has no verified, unexpired collection licence; no case can be placed with it."),
    "no_agreement": _("There is no agreement with %(partner)s yet; set one up before placing cases."),
    "capacity": _("%(partner)s would be over capacity: %(active)s active and %(new)s new cases exceed its capacity of %(capacity)s."),
    "no_cases": _("Choose at least one case."),
    "unknown_case": _("Some of the chosen cases do not exist (any more): %(count)s."),
    "case_status": _("Case %(contract)s is %(status)s and cannot be placed with an agency."),
    "already_placed": _("Case %(contract)s is already placed with %(partner)s."),
    "rotation": _("Case %(contract)s was placed with %(partner)s before; a case is never placed twice with the same agency."),
    "concurrent": _("Some of these cases were placed by someone else at the same moment; nothing was placed. Look again and retry."),
    "recall_reason": _("Say why the cases are recalled."),
    "nothing_to_recall": _("None of the chosen placements is in force any more; nothing was recalled."),
    "placement_ended": _("This placement has already ended."),
    "hold_reason": _("Say why the case should stay with the agency."),
    "hold_not_later": _("A hold must end after the current end of the placement (%(ends)s)."),
    "hold_too_long": _("The agreement allows holds of at most %(days)s days past the term, that is until %(latest)s."),
    "hold_not_allowed": _("The agreement with %(partner)s does not allow holds."),
    "hold_pending": _("A hold request for this placement is already awaiting a decision."),
    "hold_decided": _("This hold request has already been decided."),
    "stale_preview": _("The cases matching these rules changed since the preview; nothing was placed. Preview again."),
    "batch_closed": _("This allocation has already been placed, refused or discarded."),
    "nothing_assigned": _("No case would be placed; change the rules."),
    "unknown_partner": _("An agency in these rules does not exist."),
    "not_overdue": _(
        "%(count)s case(s) are not overdue on the day of placement, for example %(contract)s; only overdue cases go to an agency."
    ),
    "no_rate": _(
        "The agreement with %(partner)s (version %(version)s) has no commission rate for bucket %(bucket)s, round %(round)s; "
        "%(count)s case(s) cannot be placed, for example %(contract)s. Add the rate to the agreement first."
    ),
}


def refusal(code: str, **params) -> ValidationError:
    """One refusal: a ValidationError whose code names the rule and whose message explains it."""
    return ValidationError(MESSAGES[code], code=code, params=params or None)


class PlacementRefused(RuleError):
    """Raised when a business rule refuses a placement, recall or hold; ``error_list`` holds each reason (``codes``)."""


def refuse(*errors):
    raise PlacementRefused(list(errors))


def message_for(code: str, params: dict | None = None) -> str:
    """Render a stored refusal (e.g. on a batch) in the current language."""
    text = MESSAGES.get(code)
    if text is None:
        return code
    return str(text) % (params or {}) if params else str(text)


# ----------------------------------------------------------------- helpers


def current_lender():
    tenant = getattr(connection, "tenant", None)
    return tenant if getattr(tenant, "schema_name", "public") != "public" else None


def partner_refusal(partner: Organisation, agreement: Agreement | None, *, lender=None, on=None) -> ValidationError | None:
    """The first reason this partner may not receive cases now, or None."""
    name = partner.name
    if partner.kind != OrganisationKind.AGENCY:
        return refusal("not_agency", partner=name)
    lender = lender or current_lender()
    if lender is None or not Engagement.objects.filter(lender=lender, partner=partner, status=EngagementStatus.ACTIVE).exists():
        return refusal("engagement", partner=name)
    if not access.may_receive_cases(partner, on=on):
        return refusal("licence", partner=name)
    if agreement is None or agreement.current_version is None:
        return refusal("no_agreement", partner=name)
    return None


def active_counts(partner_ids, *, now) -> dict:
    """Active placements per partner in this lender (what capacity is measured against)."""
    rows = Placement.objects.active(now).filter(partner_id__in=list(partner_ids)).values("partner_id").annotate(n=Count("pk"))
    return {row["partner_id"]: row["n"] for row in rows}


def lock_agreements(partner_ids) -> dict:
    """Lock the partners' agreements (by pk) so capacity checks for one agency run one at a time."""
    agreements = Agreement.objects.filter(partner_id__in=list(partner_ids)).order_by("pk").select_for_update(of=("self",))
    return {agreement.partner_id: agreement for agreement in agreements}


def prior_rounds(case_ids) -> dict:
    """How many times each case was placed before (any agency): its next round (手别) is that + 1."""
    rows = Placement.objects.filter(case_id__in=case_ids).values("case_id").annotate(n=Count("pk"))
    return {row["case_id"]: row["n"] for row in rows}


def _ids(objects) -> list:
    if isinstance(objects, QuerySet):
        return list(objects.values_list("pk", flat=True))
    return [getattr(obj, "pk", obj) for obj in objects]


def _end_stale(case_filter: dict, *, now) -> int:
    """Record as expired the placements whose term is over but which are still marked active.

    Callers hold the cases' locks. Pending holds on them lapse; cases go back in house.
    """
    stale = Placement.objects.filter(status=PlacementStatus.ACTIVE, ends_at__lte=now, **case_filter)
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    case_ids = list(Placement.objects.filter(pk__in=ids).values_list("case_id", flat=True))
    updated = Placement.objects.filter(pk__in=ids, status=PlacementStatus.ACTIVE).update(
        status=PlacementStatus.EXPIRED, ended_at=F("ends_at")
    )
    _lapse_holds(ids, now=now)
    _back_in_house(case_ids, now=now)
    return updated


def _lapse_holds(placement_ids, *, now):
    HoldRequest.objects.filter(placement_id__in=placement_ids, status=HoldStatus.PENDING).update(status=HoldStatus.LAPSED, decided_at=now)


def _back_in_house(case_ids, *, now):
    """Cases whose placement ended and that have no other active one return to internal collection."""
    still_placed = Placement.objects.filter(case=OuterRef("pk"), status=PlacementStatus.ACTIVE)
    Case.objects.filter(pk__in=case_ids, status=CaseStatus.PLACED).exclude(Exists(still_placed)).update(status=CaseStatus.INTERNAL)


def _lock_cases(case_ids):
    """Lock the cases in pk order (one order everywhere: no deadlocks)."""
    return list(
        Case.objects.filter(pk__in=case_ids)
        .order_by("pk")
        .select_for_update(of=("self",))
        .annotate(balance=Case.balance_expression())
        .values_list("pk", "contract_no", "status", "overdue_since", "balance")
    )


def local_midnight(day: datetime.date) -> datetime.datetime:
    """The start of that local day (Asia/Shanghai), an aware instant."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def term_start(now: datetime.datetime) -> datetime.datetime:
    """A term begins at the local midnight of the day the case is placed: that whole day is the new placement's."""
    return local_midnight(timezone.localdate(now))


def midnight_on_or_after(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` if it is a local midnight, else the next local midnight (the end of its day)."""
    day = timezone.localdate(moment)
    start = local_midnight(day)
    return start if moment == start else local_midnight(day + datetime.timedelta(days=1))


def placement_covering(case_id, day: datetime.date) -> Placement | None:
    """The one placement whose term covers that local date (module docstring), or None.

    Covered: started on or before the day and not ended before it began; a recalled placement keeps
    the day of its recall. Where two cover the day (a handover), the one that started last takes it,
    and of two started the same day, the one that ended later."""
    from django.db.models.functions import Coalesce, Least

    start = local_midnight(day)
    end = local_midnight(day + datetime.timedelta(days=1))
    return (
        Placement.objects.select_related("agreement_version")
        .annotate(until=Least(Coalesce("ended_at", "ends_at"), "ends_at"))
        .filter(case_id=case_id, starts_at__lt=end, until__gt=start)
        .order_by("-starts_at", "-until", "-id")
        .first()
    )


def rate_refusals(version: AgreementVersion, *, partner_name: str, cases) -> list[ValidationError]:
    """One refusal per bucket and round (手别) the agreement version has no commission rate for.

    ``cases`` are (bucket, round, contract no.) triples. A case placed without a rate cell would earn
    the agency nothing on every payment, silently, so it is refused with the reason instead."""
    from .models import LAST_ROUND

    cells = set(version.rates.values_list("bucket", "round"))
    missing: dict = {}
    not_overdue: dict = {}
    for bucket, round_number, contract in cases:
        if bucket == bucket_for(0):  # M0: nothing is overdue yet, so there is nothing to collect (and no rate cell)
            not_overdue.setdefault("contract", contract)
            not_overdue["count"] = not_overdue.get("count", 0) + 1
            continue
        key = (bucket, min(max(int(round_number or 1), 1), LAST_ROUND))
        if key not in cells:
            entry = missing.setdefault(key, {"count": 0, "contract": contract})
            entry["count"] += 1
    early = [refusal("not_overdue", **not_overdue)] if not_overdue else []
    return early + [
        refusal(
            "no_rate",
            partner=partner_name,
            version=version.number,
            bucket=bucket,
            round=round_number,
            count=entry["count"],
            contract=entry["contract"],
        )
        for (bucket, round_number), entry in sorted(missing.items())
    ]


def ends_for(starts_at: datetime.datetime, version: AgreementVersion) -> datetime.datetime:
    """The term's end: the local midnight ``term_days`` whole days after the start day."""
    return local_midnight(timezone.localdate(starts_at) + datetime.timedelta(days=version.term_days))


# ----------------------------------------------------------------- placing


@dataclass
class PlacementRow:
    """What one new placement needs (allocation builds thousands of these)."""

    case_id: object
    bucket: str
    balance: object
    round: int
    arm: str = ""


def _column(name):
    return connection.ops.quote_name(Placement._meta.get_field(name).column)


def insert_placements(rows: list[PlacementRow], *, partner_id, version: AgreementVersion, placed_by, now, batch=None) -> int:
    """Write placements in chunks: one INSERT … SELECT FROM unnest(arrays) each, history included
    (set-based: 100,000 rows cost seconds, not the minutes that model instances and per-row history
    triggers would). The caller holds the locks, owns the transaction and runs inside bulk_history.
    The term starts at today's local midnight and ends at a local midnight (module docstring)."""
    starts_at = term_start(now)
    ends_at = ends_for(starts_at, version)
    columns = ", ".join(
        _column(name)
        for name in (
            "id",
            "case",
            "partner",
            "status",
            "starts_at",
            "ends_at",
            "term_ends_at",
            "placed_by",
            "agreement_version",
            "round",
            "bucket",
            "balance_at_placement",
            "batch",
            "arm",
            "recall_reason",
        )
    )
    statement = (
        f"INSERT INTO {connection.ops.quote_name(Placement._meta.db_table)} ({columns}) "
        "SELECT gen_random_uuid(), u.case_id, %s, %s, %s, %s, %s, %s, %s, u.round, u.bucket, u.balance, %s, u.arm, '' "
        "FROM unnest(%s::uuid[], %s::smallint[], %s::varchar[], %s::numeric[], %s::varchar[]) AS u(case_id, round, bucket, balance, arm)"
    )
    created = 0
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows[start : start + BULK_CHUNK]
        created += write_with_history(
            Placement,
            statement=statement,
            trigger="insert_insert",
            params=[
                partner_id,
                PlacementStatus.ACTIVE.value,
                starts_at,
                ends_at,
                ends_at,
                getattr(placed_by, "pk", None),
                version.pk,
                getattr(batch, "pk", None),
                [row.case_id for row in chunk],
                [row.round for row in chunk],
                [row.bucket for row in chunk],
                [row.balance for row in chunk],
                [row.arm for row in chunk],
            ],
        )
    return created


def mark_cases_placed(*, case_ids=None, batch=None) -> int:
    """Cases handed over get the status "placed" (history written set-based, like the trigger would)."""
    quote = connection.ops.quote_name
    case_table, status = quote(Case._meta.db_table), quote(Case._meta.get_field("status").column)
    if batch is not None:
        where = (
            f"{quote(Case._meta.pk.column)} IN (SELECT {_column('case')} FROM {quote(Placement._meta.db_table)} "
            f"WHERE {_column('batch')} = %s AND {_column('status')} = %s)"
        )
        params = [batch.pk, PlacementStatus.ACTIVE.value]
    else:
        where, params = f"{quote(Case._meta.pk.column)} = ANY(%s::uuid[])", [list(case_ids)]
    statement = f"UPDATE {case_table} SET {status} = %s WHERE {where} AND {status} IS DISTINCT FROM %s"
    return write_with_history(
        Case, statement=statement, params=[CaseStatus.PLACED.value, *params, CaseStatus.PLACED.value], trigger="update_update"
    )


def place_cases(*, cases, partner: Organisation, placed_by=None, now=None, request=None) -> list[Placement]:
    """Place the cases with the partner under its agreement in force; all of them or none.

    Refused (``PlacementRefused``, every reason listed) when the engagement is not
    active, the licence is not verified and valid, there is no agreement, the
    agency would exceed its capacity, or a case is not placeable, is already
    placed, or was placed with this agency before (rotation).
    """
    case_ids = _ids(cases)
    if not case_ids:
        refuse(refusal("no_cases"))
    try:
        with transaction.atomic():
            agreement = lock_agreements([partner.pk]).get(partner.pk)
            problem = partner_refusal(partner, agreement, on=timezone.localdate(now or timezone.now()))
            if problem is not None:
                refuse(problem)
            locked = _lock_cases(case_ids)
            if len(locked) != len(set(case_ids)):
                refuse(refusal("unknown_case", count=len(set(case_ids)) - len(locked)))
            # The clock is read once the locks are ours: whoever held them has committed by now.
            now = now or timezone.now()
            with bulk_history(event="place", partner=str(partner.pk), user=getattr(placed_by, "pk", None)):
                placements = _place_locked(locked, partner=partner, version=agreement.current_version, placed_by=placed_by, now=now)
            for placement in placements:
                record(
                    Action.CREATE,
                    request=request,
                    actor=placed_by,
                    obj=placement,
                    case_id=str(placement.case_id),
                    event="place",
                    partner=str(partner.pk),
                    agreement_version=placement.agreement_version.number,
                    round=placement.round,
                )
    except IntegrityError as error:
        if "placement_one_active_per_case" in str(error):
            refuse(refusal("concurrent"))
        raise
    return placements


def _place_locked(locked, *, partner, version, placed_by, now) -> list[Placement]:
    case_ids = [row[0] for row in locked]
    _end_stale({"case_id__in": case_ids}, now=now)
    problems = []
    # After _end_stale, every placement still marked active is in force (or starts later).
    placed_now = dict(Placement.objects.filter(case_id__in=case_ids, status=PlacementStatus.ACTIVE).values_list("case_id", "partner__name"))
    had_before = set(Placement.objects.filter(case_id__in=case_ids, partner=partner).values_list("case_id", flat=True))
    for pk, contract, status, *_rest in locked:
        if status not in PLACEABLE_STATUSES:
            problems.append(refusal("case_status", contract=contract, status=CaseStatus(status).label))
        elif pk in placed_now:
            problems.append(refusal("already_placed", contract=contract, partner=placed_now[pk]))
        elif pk in had_before:
            problems.append(refusal("rotation", contract=contract, partner=partner.name))
    active = active_counts([partner.pk], now=now).get(partner.pk, 0)
    if active + len(locked) > version.capacity:
        problems.append(refusal("capacity", partner=partner.name, active=active, new=len(locked), capacity=version.capacity))
    if problems:
        refuse(*problems)
    rounds = prior_rounds(case_ids)
    today = timezone.localdate(now)
    rows = [
        PlacementRow(case_id=pk, bucket=bucket_for((today - overdue).days), balance=balance, round=rounds.get(pk, 0) + 1)
        for pk, _contract, _status, overdue, balance in locked
    ]
    contracts = {row[0]: row[1] for row in locked}
    problems = rate_refusals(version, partner_name=partner.name, cases=[(row.bucket, row.round, contracts[row.case_id]) for row in rows])
    if problems:
        refuse(*problems)
    insert_placements(rows, partner_id=partner.pk, version=version, placed_by=placed_by, now=now)
    mark_cases_placed(case_ids=case_ids)
    return list(
        Placement.objects.filter(case_id__in=case_ids, partner=partner, status=PlacementStatus.ACTIVE).select_related("agreement_version")
    )


# ----------------------------------------------------------------- ending


def recall_placements(*, placements, by, reason: str, now=None, request=None) -> int:
    """Recall (撤案) the placements still in force, at once; returns how many were recalled."""
    reason = (reason or "").strip()
    if not reason:
        refuse(refusal("recall_reason"))
    now = now or timezone.now()
    ids = _ids(placements)
    with transaction.atomic(), bulk_history(event="recall", user=getattr(by, "pk", None)):
        case_ids = list(Placement.objects.filter(pk__in=ids, status=PlacementStatus.ACTIVE).values_list("case_id", flat=True))
        _lock_cases(case_ids)
        _end_stale({"pk__in": ids}, now=now)
        in_force = Placement.objects.active(now).filter(pk__in=ids)
        recalled = list(in_force.values_list("pk", "case_id"))
        if not recalled:
            refuse(refusal("nothing_to_recall"))
        Placement.objects.filter(pk__in=[pk for pk, _ in recalled]).update(
            status=PlacementStatus.RECALLED, ended_at=now, ended_by=by, recall_reason=reason[:300]
        )
        _lapse_holds([pk for pk, _ in recalled], now=now)
        _back_in_house([case_id for _, case_id in recalled], now=now)
        for pk, case_id in recalled:
            record(
                Action.CHANGE,
                request=request,
                actor=by,
                object_type="outsourcing.placement",
                object_id=str(pk),
                case_id=str(case_id),
                event="recall",
                reason=reason[:300],
            )
    return len(recalled)


def expire_due_placements(*, now=None, chunk: int = 1000) -> int:
    """Mark placements whose term (or approved hold) is over as expired, in the current lender.

    Access ended at ``ends_at`` already; this records it, lapses pending holds and
    returns the cases to internal collection. Idempotent; chunked so that a large
    expiry never holds thousands of locks for long.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic(), bulk_history(event="expiry"):
            case_ids = list(
                Placement.objects.filter(status=PlacementStatus.ACTIVE, ends_at__lte=now)
                .order_by("case_id")
                .values_list("case_id", flat=True)[:chunk]
            )
            if not case_ids:
                return total
            _lock_cases(case_ids)
            total += _end_stale({"case_id__in": case_ids}, now=now)


# ----------------------------------------------------------------- holds (留案)


def _end_of_day(day: datetime.date) -> datetime.datetime:
    """A hold "until" a date keeps the case through that whole day: it ends at the next local midnight."""
    return local_midnight(day + datetime.timedelta(days=1))


def latest_hold_end(placement: Placement) -> datetime.datetime | None:
    """How far a hold may reach: the agreement's longest hold past the original term. None: no holds."""
    days = placement.agreement_version.max_hold_days if placement.agreement_version_id else DEFAULT_MAX_HOLD_DAYS
    if days <= 0:
        return None
    return midnight_on_or_after(placement.term_ends_at or placement.ends_at) + datetime.timedelta(days=days)


def request_hold(*, placement: Placement, by, until, reason: str, now=None, request=None) -> HoldRequest:
    """The agency asks to keep a case past the term, until a date, with a reason."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if isinstance(until, datetime.date) and not isinstance(until, datetime.datetime):
        until = _end_of_day(until)
    else:
        until = midnight_on_or_after(until)  # holds end at a local midnight, like terms
    if not reason:
        refuse(refusal("hold_reason"))
    try:
        with transaction.atomic():
            placement = (
                Placement.objects.select_for_update(of=("self",)).select_related("agreement_version", "partner").get(pk=placement.pk)
            )
            if not placement.in_force(now):
                refuse(refusal("placement_ended"))
            latest = latest_hold_end(placement)
            if latest is None:
                refuse(refusal("hold_not_allowed", partner=placement.partner.name))
            if until <= placement.ends_at:
                refuse(refusal("hold_not_later", ends=last_local_day(placement.ends_at).isoformat()))
            if until > latest:
                refuse(
                    refusal(
                        "hold_too_long",
                        days=placement.agreement_version.max_hold_days if placement.agreement_version_id else DEFAULT_MAX_HOLD_DAYS,
                        latest=last_local_day(latest).isoformat(),
                    )
                )
            hold = HoldRequest.objects.create(placement=placement, reason=reason[:500], until=until, requested_by=by, requested_at=now)
            record(
                Action.CREATE,
                request=request,
                actor=by,
                obj=hold,
                case_id=str(placement.case_id),
                event="hold_request",
                until=until.isoformat(),
            )
    except IntegrityError as error:
        if "hold_one_pending_per_placement" in str(error):
            refuse(refusal("hold_pending"))
        raise
    return hold


def decide_hold(*, hold: HoldRequest, by, approve: bool, note: str = "", now=None, request=None) -> HoldRequest:
    """The lender approves (the placement stays in force until the hold's date) or refuses."""
    now = now or timezone.now()
    with transaction.atomic():
        hold = HoldRequest.objects.select_for_update(of=("self",)).get(pk=hold.pk)
        if hold.status != HoldStatus.PENDING:
            refuse(refusal("hold_decided"))
        placement = Placement.objects.select_for_update(of=("self",)).get(pk=hold.placement_id)
        if not placement.in_force(now):
            refuse(refusal("placement_ended"))
        if approve:
            if hold.until <= placement.ends_at:
                refuse(refusal("hold_not_later", ends=last_local_day(placement.ends_at).isoformat()))
            placement.ends_at = hold.until
            placement.held_until = hold.until
            placement.save(update_fields=["ends_at", "held_until"])
        hold.status = HoldStatus.APPROVED if approve else HoldStatus.REFUSED
        hold.decided_by = by
        hold.decided_at = now
        hold.decision_note = (note or "").strip()[:300]
        hold.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record(
            Action.CHANGE,
            request=request,
            actor=by,
            obj=hold,
            case_id=str(placement.case_id),
            event="hold_approved" if approve else "hold_refused",
            until=hold.until.isoformat(),
        )
    return hold
