"""A matter's way through the courts: which stage may follow which, what each records, its checklist,
and the deadlines its dates set.

Stages are recorded as entries (StageEntry), never edited. ``record_stage`` checks the move and the
fields the stage needs, stores the entry, moves the matter, records a suit or payment-order application
as limitation evidence on each loan (民法典 art. 195(三)(四): the period is interrupted), and
recomputes the matter's deadlines from its entries (litigation.deadlines, which cite the CPL).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import limitation
from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.models import Case, CaseStatus, LimitationEventKind

from . import deadlines as rules, fee_lines
from .models import (
    ChecklistTick,
    Deadline,
    DeadlineKind,
    Matter,
    MatterLoan,
    Outcome,
    PlanInstalment,
    Procedure,
    Stage,
    StageEntry,
)


class StageRefused(RuleError):
    pass


def refused(code, message) -> StageRefused:
    return StageRefused(message, code=code)


# Which stage may follow which (the routes of domain §7: pre-suit mediation, payment order, judicial
# confirmation, suit; a payment order objected to moves to suit, CPL art. 228).
NEXT: dict[str, tuple[str, ...]] = {
    Stage.ESCALATED: (Stage.PRE_SUIT_MEDIATION, Stage.PAYMENT_ORDER, Stage.FILED, Stage.CLOSED),
    Stage.PRE_SUIT_MEDIATION: (Stage.JUDICIAL_CONFIRMATION, Stage.FILED, Stage.CLOSED),
    Stage.PAYMENT_ORDER: (Stage.ENFORCEMENT, Stage.FILED, Stage.CLOSED),
    Stage.JUDICIAL_CONFIRMATION: (Stage.ENFORCEMENT, Stage.FILED, Stage.CLOSED),
    Stage.FILED: (Stage.IN_SUIT_MEDIATION, Stage.HEARING, Stage.JUDGMENT, Stage.CLOSED),
    Stage.IN_SUIT_MEDIATION: (Stage.HEARING, Stage.JUDGMENT, Stage.CLOSED),
    Stage.HEARING: (Stage.IN_SUIT_MEDIATION, Stage.JUDGMENT, Stage.CLOSED),
    Stage.JUDGMENT: (Stage.ENFORCEMENT, Stage.CLOSED),
    Stage.ENFORCEMENT: (Stage.CLOSED,),
    Stage.CLOSED: (),
}

# What a stage may come to ("" = still under way).
OUTCOMES: dict[str, tuple[str, ...]] = {
    Stage.PRE_SUIT_MEDIATION: (Outcome.AGREED, Outcome.FAILED, Outcome.UNREACHABLE),
    Stage.PAYMENT_ORDER: (Outcome.NOT_OBJECTED, Outcome.OBJECTED),
    Stage.JUDICIAL_CONFIRMATION: (Outcome.CONFIRMED, Outcome.REJECTED),
    Stage.IN_SUIT_MEDIATION: (Outcome.AGREED, Outcome.FAILED),
    Stage.JUDGMENT: (Outcome.WON, Outcome.PARTLY_WON, Outcome.LOST, Outcome.MEDIATION_AGREEMENT),
    Stage.ENFORCEMENT: (Outcome.RECOVERED, Outcome.PARTLY_RECOVERED, Outcome.TERMINATED),
    Stage.CLOSED: (Outcome.PAID, Outcome.RECOVERED, Outcome.WITHDRAWN, Outcome.WRITTEN_OFF, Outcome.LOST),
}

# The paralegal's checklist per stage: (key, label). Ticks are stored per matter (ChecklistTick).
CHECKLISTS: dict[str, tuple[tuple[str, object], ...]] = {
    Stage.ESCALATED: (
        ("contract", _("Loan contract uploaded")),
        ("disbursement", _("Disbursement record uploaded")),
        ("repayments", _("Repayment history uploaded")),
        ("limitation", _("Limitation date and its evidence checked")),
        ("elements", _("Filing elements completed (rates, dates, court)")),
    ),
    Stage.PRE_SUIT_MEDIATION: (
        ("mediator", _("Mediator or mediation organisation known")),
        ("proposal", _("Repayment proposal prepared")),
    ),
    Stage.PAYMENT_ORDER: (
        ("application", _("Payment order application filed")),
        ("service", _("Service on the debtor confirmed")),
    ),
    Stage.JUDICIAL_CONFIRMATION: (("joint_application", _("Joint application signed by both parties (within 30 days)")),),
    Stage.FILED: (
        ("fee_paid", _("Court fee paid (within 7 days of the notice)")),
        ("notice", _("Acceptance notice uploaded")),
        ("service_address", _("Service address confirmation filed")),
    ),
    Stage.IN_SUIT_MEDIATION: (("proposal", _("Settlement proposal agreed with the lender")),),
    Stage.HEARING: (
        ("originals", _("Original evidence ready for the hearing")),
        ("attendance", _("Attendance confirmed")),
    ),
    Stage.JUDGMENT: (
        ("judgment", _("Judgment or mediation agreement uploaded")),
        ("service", _("Date of service recorded")),
        ("effective", _("Effective date recorded")),
    ),
    Stage.ENFORCEMENT: (
        ("application", _("Enforcement application filed")),
        ("assets", _("Asset leads given to the court")),
    ),
    Stage.CLOSED: (),
}


@dataclass(frozen=True)
class PlanRow:
    due_on: datetime.date
    amount: Decimal
    cumulative_due: Decimal
    status: str  # "kept", "partly_kept", "broken", "pending"


def allowed_next(matter: Matter) -> tuple[str, ...]:
    return NEXT.get(matter.stage, ())


def _check(matter: Matter, stage: str, *, outcome: str, amount, court: str, court_case_number: str, entered_on, instalments) -> None:
    if stage not in allowed_next(matter):
        raise refused(
            "stage_order",
            _("A matter at “%(current)s” cannot move to “%(next)s”.") % {"current": Stage(matter.stage).label, "next": Stage(stage).label},
        )
    if entered_on > timezone.localdate():
        raise refused("future_date", _("The date cannot be in the future."))
    if outcome and outcome not in OUTCOMES.get(stage, ()):
        raise refused("outcome", _("“%(outcome)s” is not an outcome of this stage.") % {"outcome": Outcome(outcome).label})
    if stage == Stage.FILED and not (court.strip() and court_case_number.strip()):
        raise refused("filing", _("Filing (立案) needs the court and the court case number (案号)."))
    if stage == Stage.JUDGMENT and outcome in (Outcome.WON, Outcome.PARTLY_WON, Outcome.MEDIATION_AGREEMENT) and amount is None:
        raise refused("judgment_amount", _("Record the amount awarded or agreed."))
    if outcome == Outcome.AGREED and stage in (Stage.PRE_SUIT_MEDIATION, Stage.IN_SUIT_MEDIATION) and not instalments:
        raise refused("plan", _("An agreed mediation needs its repayment plan (at least one instalment)."))
    for due_on, instalment in instalments:
        if instalment is None or instalment <= 0:
            raise refused("plan_amount", _("Each instalment needs a positive amount."))
        if due_on < entered_on:
            raise refused("plan_date", _("An instalment cannot fall before the agreement."))


def record_stage(
    *,
    matter: Matter,
    stage: str,
    entered_on: datetime.date,
    by,
    outcome: str = "",
    amount: Decimal | None = None,
    court: str = "",
    court_case_number: str = "",
    procedure: str = "",
    served_on: datetime.date | None = None,
    effective_on: datetime.date | None = None,
    performance_due_on: datetime.date | None = None,
    is_ruling: bool = False,
    note: str = "",
    instalments=(),
    request=None,
) -> StageEntry:
    """Record that ``matter`` reached ``stage`` (or closed). Returns the entry."""
    instalments = [(due_on, amount_) for due_on, amount_ in instalments]
    with transaction.atomic():
        matter = Matter.objects.select_for_update().get(pk=matter.pk)
        _check(
            matter,
            stage,
            outcome=outcome,
            amount=amount,
            court=court,
            court_case_number=court_case_number,
            entered_on=entered_on,
            instalments=instalments,
        )
        entry = StageEntry.objects.create(
            matter=matter,
            stage=stage,
            entered_on=entered_on,
            outcome=outcome,
            amount=amount,
            court=court.strip(),
            court_case_number=court_case_number.strip(),
            procedure=procedure,
            served_on=served_on,
            effective_on=effective_on,
            performance_due_on=performance_due_on,
            is_ruling=is_ruling,
            note=note[:500],
            recorded_by=by,
        )
        PlanInstalment.objects.bulk_create(PlanInstalment(matter=matter, entry=entry, due_on=d, amount=a) for d, a in instalments)
        # The firm's fixed fee (基础律师费) is earned on the matter's first court stage, once (litigation.fees).
        fee_lines.earn_fixed_fee(entry=entry)
        fields = ["stage", "updated_at"]
        matter.stage = stage
        if court.strip():
            matter.court, fields = court.strip(), fields + ["court"]
        if court_case_number.strip():
            matter.court_case_number, fields = court_case_number.strip(), fields + ["court_case_number"]
        if procedure in Procedure.values:
            matter.procedure, fields = procedure, fields + ["procedure"]
        if stage == Stage.CLOSED:
            matter.closed_at, fields = timezone.now(), fields + ["closed_at"]
        matter.save(update_fields=fields)
        case_ids = list(matter.loans.values_list("case_id", flat=True))
        if stage in (Stage.FILED, Stage.PAYMENT_ORDER):
            # 民法典 art. 195(三)(四) and SPC 诉讼时效规定 art. 11: suing or applying for a payment order interrupts limitation.
            for case in Case.objects.filter(pk__in=case_ids):
                limitation.record_event(
                    case=case,
                    kind=LimitationEventKind.LEGAL_ACTION,
                    occurred_on=entered_on,
                    evidence=f"{matter.number} {Stage(stage).label} {court_case_number}".strip(),
                    source_type="litigation.stageentry",
                    source_id=str(entry.pk),
                )
        if stage == Stage.CLOSED:
            MatterLoan.objects.filter(matter=matter).update(active=False)
            final = CaseStatus.SETTLED if outcome in (Outcome.PAID, Outcome.RECOVERED) else CaseStatus.CLOSED
            if outcome == Outcome.WRITTEN_OFF:
                final = CaseStatus.WRITTEN_OFF
            elif outcome == Outcome.WITHDRAWN:
                final = CaseStatus.INTERNAL
            Case.objects.filter(pk__in=case_ids).update(status=final, updated_at=timezone.now())
        refresh_deadlines(matter)
        record(Action.CHANGE, request=request, actor=by, obj=matter, event="stage", stage=stage, outcome=outcome)
    return entry


def tick(*, matter: Matter, stage: str, key: str, by, done: bool = True) -> None:
    """Mark a checklist item done (or not done again)."""
    if key not in {k for k, _label in CHECKLISTS.get(stage, ())}:
        raise refused("checklist", _("Unknown checklist item."))
    if done:
        ChecklistTick.objects.get_or_create(matter=matter, stage=stage, key=key, defaults={"done_by": by})
    else:
        ChecklistTick.objects.filter(matter=matter, stage=stage, key=key).delete()


def checklist(matter: Matter, stage: str | None = None) -> list[dict]:
    """The checklist of ``stage`` (default: the matter's current stage) with what is done."""
    stage = stage or matter.stage
    done = {t.key: t for t in matter.ticks.filter(stage=stage).select_related("done_by")}
    return [{"key": key, "label": label, "done": key in done, "tick": done.get(key)} for key, label in CHECKLISTS.get(stage, ())]


# ----------------------------------------------------------------- deadlines


def computed_deadlines(matter: Matter, entries, *, limitation_expiry: datetime.date | None) -> list[tuple[str, rules.Deadline, object]]:
    """(kind, rule deadline, source entry or None) for a matter's current entries (a pure function of them)."""
    found = []
    if limitation_expiry is not None and matter.stage in (Stage.ESCALATED, Stage.PRE_SUIT_MEDIATION):
        found.append((DeadlineKind.LIMITATION, rules.limitation_deadline(limitation_expiry), None))
    for entry in entries:
        if entry.stage == Stage.JUDGMENT and entry.served_on and matter.procedure != Procedure.SMALL_CLAIMS:
            found.append((DeadlineKind.APPEAL, rules.appeal_deadline(entry.served_on, ruling=entry.is_ruling), entry))
        if entry.stage in (Stage.JUDGMENT, Stage.JUDICIAL_CONFIRMATION, Stage.PAYMENT_ORDER) and (
            entry.performance_due_on or (entry.stage == Stage.JUDGMENT and entry.effective_on)
        ):
            if entry.outcome not in (Outcome.LOST, Outcome.OBJECTED, Outcome.REJECTED):
                found.append((DeadlineKind.ENFORCEMENT, rules.enforcement_deadline(entry.performance_due_on or entry.effective_on), entry))
        if entry.stage == Stage.PAYMENT_ORDER and entry.served_on and not entry.outcome:
            found.append((DeadlineKind.OBJECTION, rules.objection_deadline(entry.served_on), entry))
        if entry.stage == Stage.PRE_SUIT_MEDIATION and entry.outcome == Outcome.AGREED:
            found.append(
                (DeadlineKind.JUDICIAL_CONFIRMATION, rules.judicial_confirmation_deadline(entry.effective_on or entry.entered_on), entry)
            )
        if entry.stage == Stage.FILED:
            found.append((DeadlineKind.FEE_PAYMENT, rules.fee_payment_deadline(entry.entered_on), entry))
    return found


def limitation_expiry(matter: Matter) -> datetime.date | None:
    """The earliest limitation date among the matter's loans (the one that must not be missed)."""
    dates = [d for d in matter.loans.values_list("case__limitation_expires_on", flat=True) if d is not None]
    return min(dates) if dates else None


def refresh_deadlines(matter: Matter) -> None:
    """Store the deadlines the matter's entries set; those no longer set are removed unless already done."""
    entries = list(matter.entries.order_by("entered_on", "id"))
    wanted = computed_deadlines(matter, entries, limitation_expiry=limitation_expiry(matter))
    keep = []
    for kind, rule, entry in wanted:
        deadline, _created = Deadline.objects.update_or_create(
            matter=matter, kind=kind, source_entry=entry, defaults={"due_on": rule.due_on, "basis": str(rule.basis)[:300]}
        )
        keep.append(deadline.pk)
    Deadline.objects.filter(matter=matter, done_at__isnull=True).exclude(pk__in=keep).delete()


def plan_rows(matter: Matter, *, today: datetime.date | None = None) -> list[PlanRow]:
    """The agreed repayment plan, each instalment kept, partly kept, broken or pending: money paid on the matter's
    loans since the agreement, against what was due by each date (cumulatively, as promises to pay are judged)."""
    from portal.payments.models import Payment

    today = today or timezone.localdate()
    instalments = list(matter.plan.order_by("due_on", "id").select_related("entry"))
    if not instalments:
        return []
    since = min(i.entry.entered_on for i in instalments)
    case_ids = list(matter.loans.values_list("case_id", flat=True))
    payments = list(
        Payment.objects.filter(case_id__in=case_ids, paid_on__gte=since, reversal__isnull=True)
        .order_by("paid_on")
        .values_list("paid_on", "amount")
    )
    rows, cumulative = [], Decimal("0.00")
    for instalment in instalments:
        cumulative += instalment.amount
        paid = sum((amount for paid_on, amount in payments if paid_on <= instalment.due_on), Decimal("0.00"))
        if paid >= cumulative:
            status = "kept"
        elif instalment.due_on >= today:
            status = "pending"
        elif paid > cumulative - instalment.amount:
            status = "partly_kept"
        else:
            status = "broken"
        rows.append(PlanRow(instalment.due_on, instalment.amount, cumulative, status))
    return rows


def recovered_on(matter: Matter) -> Decimal:
    """Money applied to the matter's loans since escalation (the success fee's base; the funnel's "recovered")."""
    from portal.payments.models import Payment

    case_ids = matter.loans.values_list("case_id", flat=True)
    applied = Payment.objects.with_effective_split().filter(
        case_id__in=case_ids, paid_on__gte=timezone.localdate(matter.escalated_at), reversal__isnull=True
    )
    return applied.aggregate(total=Sum("applied"))["total"] or Decimal("0.00")
