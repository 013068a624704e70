"""Monthly commission statements (佣金结算单): draft → lender approval → issued.

A draft takes every commission line of the agency paid on or before the month's last day that no
statement has taken yet (late-recorded payments of earlier months included: they land on the next
statement, never lost, never twice). Totals are the sums of the lines' already-rounded amounts, so
a statement always reconciles with what it lists. "Recovered" is the lines' ``recovered``: money applied
to the debt (outsourcing.commissions), clawbacks and reversal adjustments (dated the reversal) included. Approval is refused while a line is under an open
dispute; once approved, lines and totals are frozen; issuing stores the document's SHA-256. Each transition
is audited here, in its transaction (issue item 15: audit is written by the service, whoever calls it).
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.payments.models import Dispute, DisputeStatus

from .models import CommissionLine, Statement, StatementStatus


def month_bounds(period: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = period.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def statement_number(partner, period: datetime.date) -> str:
    return f"CS{period:%Y%m}-{partner.pk.hex[:8].upper()}"


def totals_of(lines) -> tuple[int, Decimal, Decimal]:
    """(count, recovered, commission) summed over the lines, in the database."""
    agg = lines.aggregate(n=Count("id"), recovered=Sum("recovered"), commission=Sum("commission"))
    return agg["n"], agg["recovered"] or Decimal("0.00"), agg["commission"] or Decimal("0.00")


def _store_totals(statement: Statement):
    statement.line_count, statement.recovered_total, statement.commission_total = totals_of(statement.lines.all())
    statement.save(update_fields=["line_count", "recovered_total", "commission_total"])


def draft_statement(*, partner, period: datetime.date, created_by=None, now: datetime.datetime | None = None, request=None) -> Statement:
    """Create the agency's draft for the month, or bring an existing draft up to date (audited: drafted or refreshed)."""
    now = now or timezone.now()
    first, last = month_bounds(period)
    if first > timezone.localdate(now):
        raise RuleError(_("That month has not started yet."), code="future")
    try:
        return _draft(partner=partner, first=first, last=last, created_by=created_by, now=now, request=request)
    except IntegrityError:  # someone drafted the same statement at the same moment: bring theirs up to date
        return _draft(partner=partner, first=first, last=last, created_by=created_by, now=now, request=request)


def _draft(*, partner, first, last, created_by, now, request) -> Statement:
    with transaction.atomic():
        statement, created = Statement.objects.select_for_update().get_or_create(
            partner=partner,
            period=first,
            defaults={"number": statement_number(partner, first), "period_end": last, "created_by": created_by, "created_at": now},
        )
        if statement.status != StatementStatus.DRAFT:
            raise RuleError(
                _("The statement for that month is already %(status)s.") % {"status": statement.get_status_display()}, code="not_draft"
            )
        _attach_lines(statement)
        _store_totals(statement)
        record(
            Action.CHANGE,
            request=request,
            actor=created_by,
            obj=statement,
            what="statement drafted" if created else "statement refreshed",
            lines=statement.line_count,
        )
    return statement


def _attach_lines(statement: Statement) -> None:
    """Every line of the agency paid (or clawed back) up to the month's end that no statement has taken yet."""
    (
        CommissionLine.objects.filter(partner_id=statement.partner_id, statement__isnull=True, paid_on__lte=statement.period_end).update(
            statement=statement
        )
    )


def open_disputes(statement: Statement):
    """Open disputes on the statement's lines (one per disputed payment; its earned and clawback lines share it)."""
    payment_ids = statement.lines.values("payment_id")
    return Dispute.objects.filter(payment_id__in=payment_ids, partner_id=statement.partner_id, status=DisputeStatus.OPEN)


def approve(*, statement: Statement, approved_by, now: datetime.datetime | None = None, request=None) -> Statement:
    now = now or timezone.now()
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != StatementStatus.DRAFT:
            raise RuleError(_("Only a draft can be approved."), code="not_draft")
        if statement.period_end >= timezone.localdate(now):
            raise RuleError(
                _("The month is not over yet; approve its statement after %(day)s.") % {"day": statement.period_end.isoformat()},
                code="month_open",
            )
        _attach_lines(statement)  # what was recorded since the draft was last brought up to date: nothing slips a month
        disputed = open_disputes(statement).count()
        if disputed:
            raise RuleError(
                ngettext(
                    "%(count)s payment is under an open dispute; decide it first.",
                    "%(count)s payments are under an open dispute; decide them first.",
                    disputed,
                )
                % {"count": disputed},
                code="disputed",
            )
        _store_totals(statement)
        if statement.line_count == 0:
            raise RuleError(_("The statement has no lines."), code="empty")
        statement.status, statement.approved_by, statement.approved_at = StatementStatus.APPROVED, approved_by, now
        statement.save(update_fields=["status", "approved_by", "approved_at"])
        record(
            Action.CHANGE,
            request=request,
            actor=approved_by,
            obj=statement,
            what="statement approved",
            commission=str(statement.commission_total),
        )
    return statement


def issue(*, statement: Statement, issued_by, render, now: datetime.datetime | None = None, request=None) -> Statement:
    """Mark an approved statement issued, keeping the PDF sent to the agency and its SHA-256.

    ``render(statement) -> bytes`` makes the PDF from the statement as locked here, approved: a copy read
    before the lock could still be the draft."""
    now = now or timezone.now()
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != StatementStatus.APPROVED:
            raise RuleError(_("Only an approved statement can be issued."), code="not_approved")
        document = render(statement)
        statement.status, statement.issued_by, statement.issued_at = StatementStatus.ISSUED, issued_by, now
        statement.document_sha256 = hashlib.sha256(document).hexdigest()
        # Saved with the status in one UPDATE: once issued, the database refuses any change.
        statement.document.save(f"{statement.number}.pdf", ContentFile(document), save=False)
        statement.save(update_fields=["status", "issued_by", "issued_at", "document_sha256", "document"])
        record(Action.CHANGE, request=request, actor=issued_by, obj=statement, what="statement issued", sha256=statement.document_sha256)
    return statement


def issued_document(statement: Statement) -> bytes | None:
    """The stored PDF of an issued statement, checked against its recorded hash (None if not issued)."""
    if statement.status != StatementStatus.ISSUED or not statement.document:
        return None
    with statement.document.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != statement.document_sha256:
        raise RuntimeError(f"stored document of statement {statement.number} does not match its hash")
    return content


def discard_draft(*, statement: Statement, discarded_by=None, request=None) -> None:
    """Delete a draft; its lines go back to waiting for the next statement."""
    with transaction.atomic():
        statement = Statement.objects.select_for_update().get(pk=statement.pk)
        if statement.status != StatementStatus.DRAFT:
            raise RuleError(_("Only a draft can be discarded."), code="not_draft")
        number, pk = statement.number, statement.pk
        statement.lines.update(statement=None)
        statement.delete()
        record(
            Action.CHANGE,
            request=request,
            actor=discarded_by,
            object_type="outsourcing.statement",
            object_id=str(pk),
            what="statement discarded",
            number=number,
        )
