"""The statement lifecycle (结算单): draft → partner review → lender approval → issued → paid.

One set of rules for every kind of statement (an agency's commission statement, a law firm's fee invoice); what
differs — which lines, how they are summed and shown — comes from the kind the owning app registered
(``portal/fees/kinds.py``). Every operation is a keyword-only function that owns its transaction, locks the
statement row, checks the transition, and audits it in the same transaction (as outsourcing/statements.py did:
the audit is written by the service, whoever calls it).

- A draft takes every line of the partner dated up to the month's last day that no statement took (late lines land
  on the next statement, never lost, never twice). Totals are the database sums of the already-rounded lines.
- Sending it for review shows it to the partner, who accepts it or disputes single lines with a reason. The lender
  decides each dispute: upheld takes the line off (back to the pool, for a later statement), dismissed keeps it,
  both with a written resolution. Approval is refused while a dispute is open, while the kind reports a blocker
  (commission: an open payment dispute), when the statement is empty, and before the month is over.
- Issuing renders the PDF once and stores it with its SHA-256; from then on the database refuses any change but the
  payment's (models.py trigger).
- Paying goes through ``billing.charges.pay`` (Stripe); the charge's outcome comes back to ``on_charge``: succeeded
  → paid, and the settlement posted to the ledger exactly once; refunded → issued again, the posting reversed;
  failed → the reason kept on the statement, which stays issued.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import logging
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from portal.audit.log import Action, record
from portal.errors import RuleError

from . import kinds
from .models import DisputeStatus, LineDispute, Statement, StatementStatus

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")


# ----------------------------------------------------------------- helpers


def month_bounds(period: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = period.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def statement_number(kind: kinds.StatementKind, partner, period: datetime.date) -> str:
    """The kind's prefix, the month and the first 8 hex digits of the partner's id: CS202611-34C17F13 (commission),
    LF202611-…, FV202611-…."""
    return f"{kind.number_prefix}{period:%Y%m}-{partner.pk.hex[:8].upper()}"


def kind_of(statement: Statement) -> kinds.StatementKind:
    return kinds.get(statement.kind)


def lines_of(statement: Statement):
    return kind_of(statement).lines(statement)


def store_totals(statement: Statement) -> Statement:
    """Count and sums of the statement's lines, computed by the database and stored (always = the lines)."""
    count, base, amount = kind_of(statement).totals(statement)
    statement.line_count, statement.base_total, statement.amount_total = count, base or ZERO, amount or ZERO
    statement.save(update_fields=["line_count", "base_total", "amount_total"])
    return statement


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update(of=("self",)).select_related("partner").get(pk=statement.pk)


def _require_status(statement: Statement, *allowed: str, message: str, code: str) -> None:
    if statement.status not in allowed:
        raise RuleError(message, code=code)


def _month_over(statement: Statement, now: datetime.datetime) -> bool:
    return statement.period_end < timezone.localdate(now)


def open_disputes(statement: Statement):
    return LineDispute.objects.filter(statement=statement, status=DisputeStatus.OPEN)


# ----------------------------------------------------------------- draft


def draft(*, kind: str, partner, period: datetime.date, created_by=None, now: datetime.datetime | None = None, request=None) -> Statement:
    """Create the partner's draft of this kind for the month, or bring the existing draft up to date (audited)."""
    now = now or timezone.now()
    statement_kind = kinds.get(kind)
    if partner.kind != statement_kind.partner_kind:
        raise RuleError(
            _("%(partner)s cannot receive a %(kind)s.") % {"partner": partner.name, "kind": statement_kind.label}, code="wrong_partner"
        )
    first, last = month_bounds(period)
    if first > timezone.localdate(now):
        raise RuleError(_("That month has not started yet."), code="future")
    try:
        return _draft(kind=statement_kind, partner=partner, first=first, last=last, created_by=created_by, now=now, request=request)
    except IntegrityError:  # someone drafted the same statement at the same moment: bring theirs up to date
        return _draft(kind=statement_kind, partner=partner, first=first, last=last, created_by=created_by, now=now, request=request)


def _draft(*, kind, partner, first, last, created_by, now, request) -> Statement:
    with transaction.atomic():
        statement, created = Statement.objects.select_for_update().get_or_create(
            kind=kind.code,
            partner=partner,
            period=first,
            defaults={"number": statement_number(kind, partner, first), "period_end": last, "created_by": created_by, "created_at": now},
        )
        if statement.status != StatementStatus.DRAFT:
            raise RuleError(
                _("The statement for that month is already %(status)s.") % {"status": statement.get_status_display()}, code="not_draft"
            )
        kind.attach(statement)
        store_totals(statement)
        record(
            Action.CHANGE,
            request=request,
            actor=created_by,
            obj=statement,
            what="statement drafted" if created else "statement refreshed",
            kind=kind.code,
            lines=statement.line_count,
        )
    return statement


def refresh(*, statement: Statement, refreshed_by=None, now=None, request=None) -> Statement:
    return draft(kind=statement.kind, partner=statement.partner, period=statement.period, created_by=refreshed_by, now=now, request=request)


def discard_draft(*, statement: Statement, discarded_by=None, request=None) -> None:
    """Delete a draft; its lines go back to waiting for the next statement."""
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(statement, StatementStatus.DRAFT, message=_("Only a draft can be discarded."), code="not_draft")
        number, pk = statement.number, statement.pk
        kind_of(statement).release(statement, list(lines_of(statement).values_list("pk", flat=True)))
        statement.delete()
        record(
            Action.CHANGE,
            request=request,
            actor=discarded_by,
            object_type="fees.statement",
            object_id=str(pk),
            what="statement discarded",
            number=number,
        )


# ----------------------------------------------------------------- partner review


def send_for_review(*, statement: Statement, sent_by, now: datetime.datetime | None = None, request=None) -> Statement:
    """Draft → in review: the partner sees the statement from now on. The month must be over (its lines are then
    complete, save late ones, which go to the next statement) and the draft is brought up to date first."""
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(statement, StatementStatus.DRAFT, message=_("Only a draft can be sent for review."), code="not_draft")
        if not _month_over(statement, now):
            raise RuleError(
                _("The month is not over yet; send its statement after %(day)s.") % {"day": statement.period_end.isoformat()},
                code="month_open",
            )
        kind_of(statement).attach(statement)  # what was recorded since the draft was last brought up to date
        store_totals(statement)
        if statement.line_count == 0:
            raise RuleError(_("The statement has no lines."), code="empty")
        statement.status, statement.sent_by, statement.sent_at = StatementStatus.IN_REVIEW, sent_by, now
        statement.save(update_fields=["status", "sent_by", "sent_at"])
        record(Action.CHANGE, request=request, actor=sent_by, obj=statement, what="statement sent for review", lines=statement.line_count)
    return statement


def partner_accept(*, statement: Statement, accepted_by, now: datetime.datetime | None = None, request=None) -> Statement:
    """The partner confirms the statement as sent (对账确认). Not required for approval: a silent partner does not
    hold the lender up; but an acceptance is refused while one of the partner's own disputes is open."""
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(
            statement, StatementStatus.IN_REVIEW, message=_("Only a statement under review can be accepted."), code="not_in_review"
        )
        if open_disputes(statement).exists():
            raise RuleError(_("A line is still under dispute; wait for the lender's decision."), code="disputed")
        statement.accepted_by, statement.accepted_at = accepted_by, now
        statement.save(update_fields=["accepted_by", "accepted_at"])
        record(Action.CHANGE, request=request, actor=accepted_by, obj=statement, what="statement accepted by the partner")
    return statement


def open_dispute(
    *, statement: Statement, line_id, reason: str, opened_by, now: datetime.datetime | None = None, request=None
) -> LineDispute:
    """The partner objects to one line, with its reason. One open dispute per line."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Say why the line is wrong."), code="reason_required")
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(
            statement,
            StatementStatus.IN_REVIEW,
            message=_("Lines can be disputed only while the statement is under review."),
            code="not_in_review",
        )
        if not lines_of(statement).filter(pk=line_id).exists():
            raise RuleError(_("That line is not on this statement."), code="not_on_statement")
        if open_disputes(statement).filter(line_id=line_id).exists():
            raise RuleError(_("That line is already under dispute."), code="already_disputed")
        dispute = LineDispute.objects.create(statement=statement, line_id=line_id, reason=reason, opened_by=opened_by, opened_at=now)
        if statement.accepted_at:  # a dispute withdraws an earlier acceptance
            statement.accepted_by, statement.accepted_at = None, None
            statement.save(update_fields=["accepted_by", "accepted_at"])
        record(
            Action.CHANGE, request=request, actor=opened_by, obj=statement, what="statement line disputed", line=str(line_id), reason=reason
        )
    return dispute


def resolve_dispute(
    *, dispute: LineDispute, upheld: bool, resolution: str, resolved_by, now: datetime.datetime | None = None, request=None
) -> LineDispute:
    """The lender decides: upheld takes the line off the statement (back to the pool), dismissed keeps it."""
    now = now or timezone.now()
    resolution = (resolution or "").strip()
    if not resolution:
        raise RuleError(_("Write the reasons for the decision."), code="resolution_required")
    with transaction.atomic():
        statement = _locked(dispute.statement)
        dispute = LineDispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.status != DisputeStatus.OPEN:
            raise RuleError(_("That dispute is already decided."), code="decided")
        _require_status(statement, StatementStatus.IN_REVIEW, message=_("The statement is no longer under review."), code="not_in_review")
        dispute.status = DisputeStatus.UPHELD if upheld else DisputeStatus.DISMISSED
        dispute.resolution, dispute.resolved_by, dispute.resolved_at = resolution, resolved_by, now
        dispute.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
        if upheld:
            kind_of(statement).release(statement, [dispute.line_id])
            store_totals(statement)
        record(
            Action.CHANGE,
            request=request,
            actor=resolved_by,
            obj=statement,
            what="statement line dispute upheld" if upheld else "statement line dispute dismissed",
            line=str(dispute.line_id),
            amount=str(statement.amount_total),
        )
    return dispute


# ----------------------------------------------------------------- approval and issue


def _blockers(statement: Statement, *, now: datetime.datetime) -> list[tuple[str, str]]:
    """(code, reason) for each thing standing in the way of approval."""
    reasons = []
    if statement.status != StatementStatus.IN_REVIEW:
        reasons.append(("not_in_review", _("Only a statement under the partner's review can be approved.")))
    if not _month_over(statement, now):
        reasons.append(
            ("month_open", _("The month is not over yet; approve its statement after %(day)s.") % {"day": statement.period_end.isoformat()})
        )
    disputed = open_disputes(statement).count()
    if disputed:
        reasons.append(
            (
                "disputed",
                ngettext(
                    "%(count)s line is under an open dispute; decide it first.",
                    "%(count)s lines are under an open dispute; decide them first.",
                    disputed,
                )
                % {"count": disputed},
            )
        )
    reasons.extend(("blocked", str(reason)) for reason in kind_of(statement).blockers(statement))
    if statement.line_count == 0:
        reasons.append(("empty", _("The statement has no lines.")))
    return reasons


def approval_blockers(statement: Statement, *, now: datetime.datetime | None = None) -> list[str]:
    """Why the statement cannot be approved now (empty: it can). Shown on the page; enforced by ``approve``."""
    return [reason for _code, reason in _blockers(statement, now=now or timezone.now())]


def approve(*, statement: Statement, approved_by, now: datetime.datetime | None = None, request=None) -> Statement:
    """The lender approves a statement under review: the lines and totals are final from now on."""
    now = now or timezone.now()
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(
            statement,
            StatementStatus.IN_REVIEW,
            message=_("Only a statement under the partner's review can be approved."),
            code="not_in_review",
        )
        store_totals(statement)
        blockers = _blockers(statement, now=now)
        if blockers:
            raise RuleError(" ".join(reason for _code, reason in blockers), code=blockers[0][0])
        statement.status, statement.approved_by, statement.approved_at = StatementStatus.APPROVED, approved_by, now
        statement.save(update_fields=["status", "approved_by", "approved_at"])
        record(
            Action.CHANGE, request=request, actor=approved_by, obj=statement, what="statement approved", amount=str(statement.amount_total)
        )
    return statement


def issue(*, statement: Statement, issued_by, render=None, now: datetime.datetime | None = None, request=None) -> Statement:
    """Mark an approved statement issued, keeping the PDF sent to the partner and its SHA-256.

    ``render(statement) -> bytes`` (default: ``documents.render_pdf``) makes the PDF from the statement as locked
    here, approved: a copy read before the lock could still be the draft."""
    now = now or timezone.now()
    if render is None:
        from . import documents

        render = documents.render_pdf
    with transaction.atomic():
        statement = _locked(statement)
        _require_status(statement, StatementStatus.APPROVED, message=_("Only an approved statement can be issued."), code="not_approved")
        content = render(statement)
        statement.status, statement.issued_by, statement.issued_at = StatementStatus.ISSUED, issued_by, now
        statement.document_sha256 = hashlib.sha256(content).hexdigest()
        # Saved with the status in one UPDATE: once issued, the database refuses any change to the document.
        statement.document.save(f"{statement.number}.pdf", ContentFile(content), save=False)
        statement.save(update_fields=["status", "issued_by", "issued_at", "document_sha256", "document"])
        record(Action.CHANGE, request=request, actor=issued_by, obj=statement, what="statement issued", sha256=statement.document_sha256)
    return statement


def issued_document(statement: Statement) -> bytes | None:
    """The stored PDF of an issued (or paid) statement, checked against its recorded hash (None before)."""
    if not statement.is_final or not statement.document:
        return None
    with statement.document.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != statement.document_sha256:
        raise RuntimeError(f"stored document of statement {statement.number} does not match its hash")
    return content


# ----------------------------------------------------------------- payment (issue 10 item 4)

PURPOSE = "statement"


def payable_problem(statement: Statement) -> str:
    """Why the statement cannot be paid through Stripe ('' if it can)."""
    if statement.status == StatementStatus.PAID:
        return _("The statement is already paid.")
    if statement.status != StatementStatus.ISSUED:
        return _("Only an issued statement can be paid.")
    if statement.amount_total < 0:
        return _(
            "The total is negative: clawbacks exceed what the partner earned, so the partner owes the lender. "
            "A negative amount cannot be paid through Stripe; settle it with the partner directly or let it net "
            "against a later statement."
        )
    if statement.amount_total == 0:
        return _("The total is zero: there is nothing to pay.")
    return ""


def pay(*, statement: Statement, paid_by, request=None):
    """Finance pays an issued statement by card through Stripe (billing.charges.pay). The statement turns paid when
    the charge's success comes back (``on_charge``), not here. A declined card raises ``RuleError`` with Stripe's
    reason, kept on the statement; the statement stays issued. No database lock is held while Stripe is called."""
    from billing import charges, errors as billing_errors

    statement = Statement.objects.select_related("partner").get(pk=statement.pk)
    problem = payable_problem(statement)
    if problem:
        raise RuleError(problem, code="not_payable")
    record(
        Action.CHANGE, request=request, actor=paid_by, obj=statement, what="statement payment started", amount=str(statement.amount_total)
    )
    try:
        charge = charges.pay(
            lender=connection.tenant,
            purpose=PURPOSE,
            reference=str(statement.pk),
            amount=statement.amount_total,
            description=statement.number,
            initiated_by=paid_by,
        )
    except billing_errors.PaymentError as error:
        reason = error.messages[0] if error.messages else str(error)
        _record_failure(statement, reason=reason, now=timezone.now())
        record(Action.CHANGE, request=request, actor=paid_by, obj=statement, what="statement payment failed", reason=reason)
        raise RuleError(_("The payment failed: %(reason)s") % {"reason": reason}, code="payment_failed") from error
    return charge


def _record_failure(statement: Statement, *, reason: str, now) -> None:
    with transaction.atomic():
        statement = _locked(statement)
        if statement.status != StatementStatus.ISSUED:
            return
        statement.payment_failure, statement.payment_failed_at = str(reason)[:300], now
        statement.save(update_fields=["payment_failure", "payment_failed_at"])


def _settlement_source(statement: Statement) -> tuple[str, str]:
    """The ledger source of the statement's current payment: the statement itself the first time, then one key per
    payment after each refund (a refunded statement paid again is a new settlement, posted once too)."""
    suffix = f"/{statement.refund_count}" if statement.refund_count else ""
    return ("fees.statement", f"{statement.pk}{suffix}")


def settlement_legs(statement: Statement):
    """Dr partner_payable (the partner) / Cr cash: what the lender owed the partner leaves the bank. A kind may split
    it per case (``ledger_legs``); by default one pair for the statement."""
    from portal.ledger.models import Account
    from portal.ledger.posting import Leg

    kind = kind_of(statement)
    if kind.ledger_legs is not None:
        return kind.ledger_legs(statement)
    amount = statement.amount_total
    return [Leg(Account.PARTNER_PAYABLE, amount, counterparty=statement.partner), Leg(Account.CASH, -amount)]


def _charge_reference(charge) -> str:
    for attribute in ("payment_intent_id", "stripe_id", "pk"):
        value = getattr(charge, attribute, None)
        if value:
            return str(value)[:64]
    return ""


def on_charge(charge, *, outcome: str, now: datetime.datetime | None = None):
    """What a statement charge's outcome does (registered with billing.hooks; runs in the tenant's schema, inside
    the transaction that records the Stripe event). Idempotent: a duplicate event changes nothing."""
    from portal.ledger.models import EntryKind, LedgerTransaction
    from portal.ledger.posting import post, reverse

    now = now or timezone.now()
    statement = Statement.objects.select_for_update(of=("self",)).select_related("partner").filter(pk=charge.reference).first()
    if statement is None:
        log.warning("charge %s names no statement of this lender (%s)", _charge_reference(charge), charge.reference)
        return None
    if outcome == "succeeded":
        if statement.status == StatementStatus.PAID:
            return statement  # a duplicate: the first delivery marked it paid and posted the settlement
        if statement.status != StatementStatus.ISSUED:
            log.warning("charge succeeded for statement %s in status %s", statement.number, statement.status)
            return statement
        statement.status, statement.paid_at = StatementStatus.PAID, now
        statement.charge_reference = _charge_reference(charge)
        statement.payment_failure, statement.payment_failed_at = "", None
        statement.save(update_fields=["status", "paid_at", "charge_reference", "payment_failure", "payment_failed_at"])
        post(
            kind=EntryKind.SETTLEMENT,
            source=_settlement_source(statement),
            occurred_on=timezone.localdate(now),
            legs=settlement_legs(statement),
            memo=statement.number,
        )
        record(Action.CHANGE, obj=statement, what="statement paid", amount=str(statement.amount_total), charge=statement.charge_reference)
    elif outcome == "refunded":
        if statement.status != StatementStatus.PAID:
            return statement  # a duplicate, or a refund of nothing we recorded as paid
        source_type, source_id = _settlement_source(statement)
        original = LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_type=source_type, source_id=source_id).first()
        if original is not None:
            reverse(
                original=original,
                source=(source_type, f"{source_id}/refund"),
                occurred_on=timezone.localdate(now),
                memo=f"{statement.number} refund",
                kind=EntryKind.SETTLEMENT_REFUND,
            )
        statement.status, statement.refunded_at, statement.refund_count = StatementStatus.ISSUED, now, statement.refund_count + 1
        statement.paid_at = None
        statement.save(update_fields=["status", "refunded_at", "refund_count", "paid_at"])
        record(Action.CHANGE, obj=statement, what="statement payment refunded", amount=str(statement.amount_total))
    elif outcome == "failed":
        if statement.status == StatementStatus.ISSUED:
            # billing's reason in words for people (Charge.failure_reason), else the provider's own words.
            reason = str(getattr(charge, "failure_reason", "") or getattr(charge, "failure_message", "") or _("The payment failed."))
            statement.payment_failure, statement.payment_failed_at = reason[:300], now
            statement.save(update_fields=["payment_failure", "payment_failed_at"])
            record(Action.CHANGE, obj=statement, what="statement payment failed", reason=reason)
    return statement


def payout(charge) -> list:
    """Who receives the money of a statement's charge (billing pays it on when the partner has a connected account)."""
    statement = Statement.objects.select_related("partner").filter(pk=charge.reference).first()
    if statement is None or statement.amount_total <= 0:
        return []
    return [(statement.partner, statement.amount_total)]
