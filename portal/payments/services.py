"""Recording, reporting, matching and disputing payments. Views, the import, the API and the
command all call these functions; they own their transactions and locks.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from portal import limitation
from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.lib.money import to_fen
from portal.models import BalanceSnapshot, Case, CaseStatus, LimitationEventKind

from . import hooks
from .models import (
    SPLIT_PARTS,
    Dispute,
    DisputeEvent,
    DisputeEventKind,
    DisputeStatus,
    Payment,
    PaymentPostingCorrection,
    PaymentReport,
    PaymentReversal,
    ReportStatus,
    ReversalReason,
    effective_split,
)
from .posting import Allocation, Balances, allocate

# A partner's report and the lender's record of the same payment match when the case and the amount
# agree and the dates are at most this far apart (bank transfers post a day or two later).
MATCH_WINDOW_DAYS = 3
EVIDENCE_SOURCE = "payments.payment"  # LimitationEvent.source_type of the evidence a payment is
SETTLEABLE = (CaseStatus.NEW, CaseStatus.INTERNAL, CaseStatus.PLACED)


def _check_amount(amount):
    try:
        amount = to_fen(amount)
    except (TypeError, ArithmeticError, ValueError):
        raise ValidationError(_("Enter the amount as a number, e.g. 3000.00."), code="amount") from None
    if amount <= 0:
        raise ValidationError(_("The amount must be more than zero."), code="amount")
    return amount


def _check_date(paid_on: datetime.date, *, case: Case, today: datetime.date):
    if paid_on > today:
        raise ValidationError(_("The payment date is in the future."), code="future")
    if case.disbursed_on and paid_on < case.disbursed_on:
        raise ValidationError(_("The payment date is before the loan was disbursed."), code="before_loan")


# ------------------------------------------------------------------ lender payments


def _snapshot(case: Case, *, as_of: datetime.date, source: str, now) -> BalanceSnapshot:
    """The case's balances as they now stand, kept in its balance history."""
    return BalanceSnapshot.objects.create(
        case=case,
        as_of=as_of,
        principal_due=case.principal_due,
        interest_due=case.interest_due,
        penalty_due=case.penalty_due,
        fees_due=case.fees_due,
        source=source,
        recorded_at=now,
    )


def record_payment(
    *,
    case: Case,
    amount,
    paid_on: datetime.date,
    reference: str,
    source: str,
    recorded_by=None,
    note: str = "",
    now: datetime.datetime | None = None,
    request=None,
) -> tuple[Payment, bool]:
    """Record a payment the lender received; returns (payment, created).

    Idempotent by ``reference``: the same reference for the same case, amount and date returns the
    payment already recorded; for anything else it is refused. Applies the amount to the balances
    (posting.allocate), keeps the balance history, restarts the limitation period (a partial payment
    is an agreement to perform, 民法典 art. 195), matches pending partner reports, and lets the apps
    built on the core react (hooks). All or nothing; audited.
    """
    now = now or timezone.now()
    amount = _check_amount(amount)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Enter the payment's reference (bank serial number)."), code="reference")
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        existing = Payment.objects.filter(reference=reference).first()
        if existing is not None:
            if (existing.case_id, existing.amount, existing.paid_on) == (case.pk, amount, paid_on):
                return existing, False
            raise ValidationError(
                _("Reference %(reference)s is already used by another payment.") % {"reference": reference}, code="reference_taken"
            )
        _check_date(paid_on, case=case, today=timezone.localdate(now))
        split, left = allocate(
            amount, Balances(principal=case.principal_due, interest=case.interest_due, penalty=case.penalty_due, fees=case.fees_due)
        )
        try:
            with transaction.atomic():  # the same reference sent for another case at the same moment: a refusal, not a crash
                payment = Payment.objects.create(
                    case=case,
                    amount=amount,
                    paid_on=paid_on,
                    reference=reference,
                    source=source,
                    note=note[:300],
                    to_fees=split.to_fees,
                    to_penalty=split.to_penalty,
                    to_interest=split.to_interest,
                    to_principal=split.to_principal,
                    unapplied=split.unapplied,
                    recorded_by=recorded_by,
                    recorded_at=now,
                )
        except IntegrityError as error:
            if "payment_unique_reference" not in str(error):
                raise
            raise ValidationError(
                _("Reference %(reference)s is already used by another payment.") % {"reference": reference}, code="reference_taken"
            ) from None
        case.principal_due, case.interest_due, case.penalty_due, case.fees_due = left.principal, left.interest, left.penalty, left.fees
        if case.last_payment_on is None or paid_on > case.last_payment_on:
            case.last_payment_on = paid_on
        fields = ["principal_due", "interest_due", "penalty_due", "fees_due", "last_payment_on", "updated_at"]
        if left.total == 0 and case.status in SETTLEABLE:
            case.status = CaseStatus.SETTLED
            fields.append("status")
        case.save(update_fields=fields)
        # As of the day it was recorded: the balances after every payment recorded so far, a back-dated one included.
        _snapshot(case, as_of=timezone.localdate(now), source=f"payment:{payment.pk}", now=now)
        limitation.record_event(
            case=case,
            kind=LimitationEventKind.PARTIAL_PAYMENT,
            occurred_on=paid_on,
            evidence=limitation.evidence_text(gettext_lazy("Payment %(reference)s of %(amount)s"), reference=reference, amount=amount),
            source_type=EVIDENCE_SOURCE,
            source_id=str(payment.pk),
        )
        _match_pending_reports(payment, now=now)
        hooks.notify(payment, now=now)
        record(
            Action.CREATE,
            request=request,
            actor=recorded_by,
            obj=payment,
            case_id=str(case.pk),
            event="payment_recorded",
            amount=str(amount),
            paid_on=paid_on.isoformat(),
            reference=reference,
            source=source,
        )
    return payment, True


def reverse_payment(
    *,
    payment: Payment,
    reason: str,
    note: str,
    reversed_on: datetime.date | None = None,
    reversed_by=None,
    now: datetime.datetime | None = None,
    request=None,
) -> PaymentReversal:
    """Reverse (冲正) a payment that should not stand; all or nothing. Refused for a payment already reversed.

    The balances are rebuilt as if the payment had never been (reapply_after_reversal): from the balances
    before it, every later standing payment is applied again in order (民法典 art. 561), and where a later
    payment's split changes (the money the reversed payment had taken for fees or interest is owed again,
    so a later payment goes there first) a correction row records the difference; payments are never
    edited. The balance history records the result. The limitation evidence the payment was is withdrawn
    (limitation.withdraw_events), a case it settled is open again, and the apps built on the core react
    (hooks.notify_reversal, after the corrections exist: outsourcing claws back the commission and
    adjusts the later payments' commission to the money they now apply).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    reversed_on = reversed_on or today
    note = (note or "").strip()
    if reason not in ReversalReason.values:
        raise ValidationError(_("Choose why the payment is reversed."), code="reason")
    if not note:
        raise ValidationError(_("Say why the payment is reversed."), code="note")
    if reversed_on > today:
        raise ValidationError(_("The reversal date is in the future."), code="future")
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=payment.case_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if PaymentReversal.objects.filter(payment=payment).exists():
            raise ValidationError(_("This payment has already been reversed."), code="already_reversed")
        if reversed_on < payment.paid_on:
            raise ValidationError(_("A payment cannot be reversed before the day it was paid."), code="before_payment")
        standing = list(_in_applied_order(Payment.objects.filter(case=case, reversal__isnull=True).with_effective_split()))
        reversal = PaymentReversal.objects.create(
            payment=payment, reversed_on=reversed_on, reason=reason, note=note[:300], reversed_by=reversed_by, reversed_at=now
        )
        current = Balances(principal=case.principal_due, interest=case.interest_due, penalty=case.penalty_due, fees=case.fees_due)
        position = [p.pk for p in standing].index(payment.pk)
        effective = [effective_split(p) for p in standing[position:]]
        left, new_splits = reapply_after_reversal(
            current, effective_from_reversed=effective, later_amounts=[p.amount for p in standing[position + 1 :]]
        )
        for later, was, now_is in zip(standing[position + 1 :], effective[1:], new_splits, strict=True):
            delta = {part: getattr(now_is, part) - getattr(was, part) for part in SPLIT_PARTS}
            if any(delta.values()):
                PaymentPostingCorrection.objects.create(payment=later, reversal=reversal, created_at=now, **delta)
        case.principal_due, case.interest_due, case.penalty_due, case.fees_due = left.principal, left.interest, left.penalty, left.fees
        fields = ["principal_due", "interest_due", "penalty_due", "fees_due", "updated_at"]
        if case.last_payment_on == payment.paid_on:
            # The latest payment still standing; an earlier date known only from an import is not kept apart, so
            # it is the latest standing payment or the latest partial payment the import recorded as evidence.
            standing = Payment.objects.filter(case=case, reversal__isnull=True).aggregate(day=Max("paid_on"))["day"]
            evidence = (
                limitation.standing_events(case)
                .filter(kind=LimitationEventKind.PARTIAL_PAYMENT)
                .exclude(source_type=EVIDENCE_SOURCE, source_id=str(payment.pk))
                .aggregate(day=Max("occurred_on"))["day"]
            )
            case.last_payment_on = max((day for day in (standing, evidence) if day is not None), default=None)
            fields.append("last_payment_on")
        if case.status == CaseStatus.SETTLED and case.balance > 0:
            case.status = CaseStatus.INTERNAL  # the apps that placed it say otherwise (hooks)
            fields.append("status")
        case.save(update_fields=fields)
        _snapshot(case, as_of=today, source=f"reversal:{reversal.pk}", now=now)
        limitation.withdraw_events(
            case=case,
            source_type=EVIDENCE_SOURCE,
            source_id=str(payment.pk),
            now=now,
            note=limitation.evidence_text(
                gettext_lazy("Payment %(reference)s reversed: %(reason)s"),
                reference=payment.reference,
                reason=limitation.label(reversal, "reason"),
            ),
        )
        hooks.notify_reversal(reversal, now=now)
        record(
            Action.CREATE,
            request=request,
            actor=reversed_by,
            obj=reversal,
            case_id=str(case.pk),
            event="payment_reversed",
            payment=str(payment.pk),
            reason=reversal.reason,
        )
    return reversal


def is_resend(earlier: PaymentReversal, *, reason: str, reversed_on: datetime.date | None) -> bool:
    """Is a request to reverse a payment already reversed the same reversal sent again? Same reason, and the same date if
    the request names one (a retry after midnight without a date is still the same reversal)."""
    return earlier.reason == reason and reversed_on in (None, earlier.reversed_on)


def reverse_payment_idempotent(
    *,
    payment: Payment,
    reason: str,
    note: str,
    reversed_on: datetime.date | None = None,
    reversed_by=None,
    now: datetime.datetime | None = None,
    request=None,
) -> tuple[PaymentReversal, bool]:
    """Reverse a payment, answering a resend with the reversal recorded before: (reversal, created).

    A different reversal of a payment already reversed is refused with RuleError code "conflict" (a payment is
    reversed once; reverse_payment's other refusals pass through unchanged)."""
    earlier = PaymentReversal.objects.filter(payment=payment).select_related("payment").first()
    if earlier is None:
        try:
            return reverse_payment(
                payment=payment, reason=reason, note=note, reversed_on=reversed_on, reversed_by=reversed_by, now=now, request=request
            ), True
        except ValidationError as error:
            if getattr(error, "code", None) != "already_reversed":  # reversed by a concurrent call since we looked
                raise
        earlier = PaymentReversal.objects.select_related("payment").get(payment=payment)
    if is_resend(earlier, reason=reason, reversed_on=reversed_on):
        return earlier, False
    raise RuleError(_("This payment has already been reversed."), code="conflict")


def match_candidates(reports, *, window=datetime.timedelta(days=30), per_report=10) -> dict:
    """The payments a lender may match to each pending report: its own payments on the report's case, still
    standing (not reversed), not matched to another report, dated within ``window`` of the report; at most
    ``per_report`` each, oldest first. {report pk: [Payment]}, in one query."""
    if not reports:
        return {}
    payments = (
        Payment.objects.filter(
            case_id__in={r.case_id for r in reports},
            paid_on__gte=min(r.paid_on for r in reports) - window,
            paid_on__lte=max(r.paid_on for r in reports) + window,
        )
        .filter(reversal__isnull=True)
        .exclude(reports__status=ReportStatus.MATCHED)
        .order_by("paid_on")
    )
    by_case: dict = {}
    for payment in payments:
        by_case.setdefault(payment.case_id, []).append(payment)
    return {r.pk: [p for p in by_case.get(r.case_id, []) if abs(p.paid_on - r.paid_on) <= window][:per_report] for r in reports}


def _in_applied_order(payments):
    """Payments in the order they were applied to the balances: the order they were recorded (record_payment
    applies each one to the balances as they stand, under the case's row lock). pghistory's insert event numbers
    them in that order even when two carry the same ``recorded_at``; ``recorded_at`` and the key break a tie for a
    row without one. Not ``paid_on``: a back-dated payment recorded later was applied after the others, and a
    reversal must reproduce what happened, not a different history."""
    events = Payment._meta.get_field("events").related_model  # pghistory's PaymentEvent
    inserted = events.objects.filter(pgh_obj=OuterRef("pk"), pgh_label="insert").order_by("pgh_id").values("pgh_id")[:1]
    return payments.annotate(applied_seq=Subquery(inserted)).order_by(F("applied_seq").asc(nulls_last=True), "recorded_at", "pk")


def reapply_after_reversal(current: Balances, *, effective_from_reversed, later_amounts) -> tuple[Balances, list[Allocation]]:
    """Pure: the balances and the later payments' splits once a payment is taken out of the sequence.

    ``effective_from_reversed`` is the effective split of the reversed payment followed by those of every
    standing payment applied after it (in that order); ``later_amounts`` the amounts of those later payments.
    The balances before the reversed payment are today's plus everything those payments applied; from there
    each later payment is applied again by posting.allocate (民法典 art. 561). Returns the rebuilt balances and
    the later payments' new splits."""
    parts = {"principal": "to_principal", "interest": "to_interest", "penalty": "to_penalty", "fees": "to_fees"}
    before = Balances(
        **{
            name: getattr(current, name) + sum((getattr(split, part) for split in effective_from_reversed), Decimal(0))
            for name, part in parts.items()
        }
    )
    splits = []
    for amount in later_amounts:
        split, before = allocate(amount, before)
        splits.append(split)
    return before, splits


def _match_pending_reports(payment: Payment, *, now):
    window = datetime.timedelta(days=MATCH_WINDOW_DAYS)
    report = (
        PaymentReport.objects.select_for_update()
        .filter(
            case_id=payment.case_id,
            amount=payment.amount,
            status=ReportStatus.PENDING,
            paid_on__gte=payment.paid_on - window,
            paid_on__lte=payment.paid_on + window,
        )
        .order_by("reported_at")
        .first()
    )
    if report is not None:  # the payment is new: no report is matched to it yet
        report.status, report.matched_payment, report.decided_at = ReportStatus.MATCHED, payment, now
        report.save(update_fields=["status", "matched_payment", "decided_at"])


def payments_for_promises(case: Case) -> list[tuple[datetime.date, object]]:
    """(date, amount) of every payment on the case: what promises to pay are evaluated against."""
    return list(Payment.objects.filter(case=case, reversal__isnull=True).values_list("paid_on", "amount"))


# ------------------------------------------------------------------ partner reports


def report_payment(
    *,
    case: Case,
    organisation,
    amount,
    paid_on: datetime.date,
    reference: str = "",
    note: str = "",
    reported_by=None,
    now: datetime.datetime | None = None,
) -> PaymentReport:
    """A partner reports that the debtor paid. Matched at once if the lender already recorded it."""
    now = now or timezone.now()
    amount = _check_amount(amount)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        _check_date(paid_on, case=case, today=timezone.localdate(now))
        duplicate = PaymentReport.objects.filter(
            case=case, organisation=organisation, amount=amount, paid_on=paid_on, status__in=(ReportStatus.PENDING, ReportStatus.MATCHED)
        ).exists()
        if duplicate:
            raise ValidationError(_("This payment has already been reported."), code="duplicate")
        report = PaymentReport.objects.create(
            case=case,
            organisation=organisation,
            amount=amount,
            paid_on=paid_on,
            reference=(reference or "").strip()[:64],
            note=note[:300],
            reported_by=reported_by,
            reported_at=now,
        )
        window = datetime.timedelta(days=MATCH_WINDOW_DAYS)
        payment = (
            Payment.objects.filter(
                case=case, amount=amount, paid_on__gte=paid_on - window, paid_on__lte=paid_on + window, reversal__isnull=True
            )
            .exclude(reports__status=ReportStatus.MATCHED)
            .order_by("paid_on", "recorded_at")
            .first()
        )
        if payment is not None:
            report.status, report.matched_payment, report.decided_at = ReportStatus.MATCHED, payment, now
            report.save(update_fields=["status", "matched_payment", "decided_at"])
    return report


def match_report(
    *, report: PaymentReport, payment: Payment, decided_by, now: datetime.datetime | None = None, request=None
) -> PaymentReport:
    """The lender matches a pending report to its own payment by hand (amounts or dates differed)."""
    now = now or timezone.now()
    with transaction.atomic():
        report = PaymentReport.objects.select_for_update().get(pk=report.pk)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)  # two matches to one payment at once: one waits
        if report.status != ReportStatus.PENDING:
            raise ValidationError(_("Only a report awaiting a match can be matched."), code="not_pending")
        if payment.case_id != report.case_id:
            raise ValidationError(_("The payment belongs to another case."), code="other_case")
        if PaymentReversal.objects.filter(payment=payment).exists():
            raise ValidationError(_("That payment has been reversed."), code="reversed")
        if payment.reports.filter(status=ReportStatus.MATCHED).exists():
            raise ValidationError(_("That payment is already matched to another report."), code="taken")
        report.status, report.matched_payment, report.decided_by, report.decided_at = ReportStatus.MATCHED, payment, decided_by, now
        report.save(update_fields=["status", "matched_payment", "decided_by", "decided_at"])
        record(
            Action.CHANGE,
            request=request,
            actor=decided_by,
            obj=report,
            case_id=str(report.case_id),
            event="report_matched",
            payment=str(payment.pk),
        )
    return report


def reject_report(*, report: PaymentReport, decided_by, note: str, now: datetime.datetime | None = None, request=None) -> PaymentReport:
    now = now or timezone.now()
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Say why the report is rejected."), code="note")
    with transaction.atomic():
        report = PaymentReport.objects.select_for_update().get(pk=report.pk)
        if report.status != ReportStatus.PENDING:
            raise ValidationError(_("Only a report awaiting a match can be rejected."), code="not_pending")
        report.status, report.decision_note, report.decided_by, report.decided_at = ReportStatus.REJECTED, note[:300], decided_by, now
        report.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
        record(Action.CHANGE, request=request, actor=decided_by, obj=report, case_id=str(report.case_id), event="report_rejected")
    return report


# ------------------------------------------------------------------ disputes


def open_dispute(
    *,
    partner,
    raised_by_org,
    raised_by,
    reason: str,
    text: str,
    payment: Payment | None = None,
    report: PaymentReport | None = None,
    now: datetime.datetime | None = None,
) -> Dispute:
    """Either side disputes a line (a lender payment attributed to the partner, or the partner's report)."""
    now = now or timezone.now()
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Explain what is wrong with this line."), code="text")
    if (payment is None) == (report is None):
        raise ValueError("dispute exactly one line")
    with transaction.atomic():
        open_now = Dispute.objects.select_for_update().filter(status=DisputeStatus.OPEN, partner=partner)
        open_now = open_now.filter(payment=payment) if payment is not None else open_now.filter(report=report)
        if open_now.exists():
            raise ValidationError(_("This line is already under dispute."), code="already_open")
        dispute = Dispute.objects.create(
            payment=payment, report=report, partner=partner, raised_by_org=raised_by_org, raised_by=raised_by, reason=reason, raised_at=now
        )
        DisputeEvent.objects.create(
            dispute=dispute, kind=DisputeEventKind.OPENED, text=text, actor=raised_by, organisation=raised_by_org, at=now
        )
    return dispute


def comment_on_dispute(*, dispute: Dispute, actor, organisation, text: str, now: datetime.datetime | None = None) -> DisputeEvent:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("Write a comment."), code="text")
    if not dispute.is_open:
        raise ValidationError(_("This dispute is closed."), code="closed")
    return DisputeEvent.objects.create(
        dispute=dispute, kind=DisputeEventKind.COMMENT, text=text, actor=actor, organisation=organisation, at=now or timezone.now()
    )


def close_dispute(
    *, dispute: Dispute, outcome: str, actor, organisation, lender_organisation_id, text: str, now: datetime.datetime | None = None
) -> Dispute:
    """The lender decides (upheld or dismissed, with its reasons); the side that raised it may withdraw."""
    now = now or timezone.now()
    text = (text or "").strip()
    if outcome not in (DisputeStatus.UPHELD, DisputeStatus.DISMISSED, DisputeStatus.WITHDRAWN):
        raise ValueError(outcome)
    if outcome == DisputeStatus.WITHDRAWN:
        if organisation.pk != dispute.raised_by_org_id:
            raise ValidationError(_("Only the side that raised a dispute can withdraw it."), code="not_raiser")
    elif organisation.pk != lender_organisation_id:
        raise ValidationError(_("Only the lender decides a dispute."), code="not_lender")
    elif not text:
        raise ValidationError(_("Give the reasons for the decision."), code="text")
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if not dispute.is_open:
            raise ValidationError(_("This dispute is closed."), code="closed")
        dispute.status, dispute.closed_at = outcome, now
        dispute.save(update_fields=["status", "closed_at"])
        DisputeEvent.objects.create(dispute=dispute, kind=outcome, text=text, actor=actor, organisation=organisation, at=now)
    return dispute
