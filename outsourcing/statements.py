"""Monthly commission statements (佣金结算单): the "commission" kind of the core's statements (portal.fees).

The lifecycle — draft → partner review (line-level disputes) → lender approval → issued → paid through Stripe — is
the core's (``portal/fees/services.py``), shared with law firms' fee invoices. What is outsourcing's is which lines
a commission statement takes and how they read; it is registered at start-up (``register``, from apps.py):

- a draft takes every commission line of the agency paid (or clawed back) on or before the month's last day that no
  statement has taken yet (late-recorded payments of earlier months included: they land on the next statement,
  never lost, never twice);
- totals are the database sums of the lines' already-rounded amounts ("recovered" is money applied to the debt,
  outsourcing.commissions; clawbacks and reversal adjustments included), so a statement reconciles with what it lists;
- approval also waits for any open payment dispute (portal.payments.Dispute) on the statement's payments;
- the settlement is posted per case and placement cohort (Dr partner_payable / Cr cash), mirroring the commission
  entries (outsourcing/ledger_attribution.py), so the agency's payable nets to zero case by case.

The functions below the kind keep the names the rest of outsourcing (and the demo) call.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from portal.fees import kinds, services
from portal.fees.models import Statement, StatementKindCode, StatementStatus
from portal.payments.models import Dispute, DisputeStatus
from tenants.models import OrganisationKind

from .models import CommissionLine

KIND = StatementKindCode.COMMISSION
ZERO = Decimal("0.00")


# ----------------------------------------------------------------- the commission kind


def lines(statement: Statement):
    return CommissionLine.objects.filter(statement_id=statement.pk)


def attach(statement: Statement) -> None:
    """Every line of the agency paid (or clawed back) up to the month's end that no statement has taken yet."""
    CommissionLine.objects.filter(partner_id=statement.partner_id, statement__isnull=True, paid_on__lte=statement.period_end).update(
        statement=statement
    )


def totals_of(queryset) -> tuple[int, Decimal, Decimal]:
    """(count, recovered, commission) summed over the lines, in the database."""
    agg = queryset.aggregate(n=Count("id"), recovered=Sum("recovered"), commission=Sum("commission"))
    return agg["n"], agg["recovered"] or ZERO, agg["commission"] or ZERO


def totals(statement: Statement) -> tuple[int, Decimal, Decimal]:
    return totals_of(lines(statement))


def rows(statement: Statement) -> list[kinds.Row]:
    from . import statement_documents

    return [
        kinds.Row(
            line_id=line.line_id,
            date=line.paid_on,
            case_ref=line.contract_no,
            description=line.shown_reference,
            base=line.recovered,
            rate=line.rate,
            amount=line.commission,
            case_id=line.case_id,
            note=f"{line.bucket} · {line.round_label}" if line.bucket else line.round_label,
        )
        for line in statement_documents.lines_of(statement)
    ]


def release(statement: Statement, line_ids) -> None:
    """Take lines off the statement (an upheld dispute, a discarded draft): they wait for a later statement."""
    CommissionLine.objects.filter(statement_id=statement.pk, pk__in=list(line_ids)).update(statement=None)


def open_payment_disputes(statement: Statement):
    """Open disputes on the statement's payments (one per disputed payment; its earned and clawback lines share it)."""
    payment_ids = lines(statement).values("payment_id")
    return Dispute.objects.filter(payment_id__in=payment_ids, partner_id=statement.partner_id, status=DisputeStatus.OPEN)


def blockers(statement: Statement) -> list[str]:
    disputed = open_payment_disputes(statement).count()
    if not disputed:
        return []
    return [
        ngettext(
            "%(count)s payment is under an open dispute; decide it first.",
            "%(count)s payments are under an open dispute; decide them first.",
            disputed,
        )
        % {"count": disputed}
    ]


def settlement_legs(statement: Statement, amounts) -> list:
    """Dr partner_payable / Cr cash per (case id, cohort month, amount) — summed per case and cohort, zeros dropped —
    so the agency's payable, credited case by case when its fees were earned, nets to zero case by case."""
    from portal.ledger.models import Account
    from portal.ledger.posting import Leg
    from portal.models import Case

    grouped: dict = defaultdict(lambda: ZERO)
    for case_id, cohort, amount in amounts:
        grouped[(case_id, cohort)] += amount
    cases = Case.objects.in_bulk([case_id for case_id, _cohort in grouped])
    legs = []
    for (case_id, cohort), amount in sorted(grouped.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        if amount == 0:
            continue
        dims = {"case": cases[case_id], "counterparty": statement.partner, "cohort_month": cohort}
        legs += [Leg(Account.PARTNER_PAYABLE, amount, **dims), Leg(Account.CASH, -amount, **dims)]
    return legs


def ledger_legs(statement: Statement):
    """The settlement mirrors the commission entries: per case and placement cohort (settlement_legs)."""
    from portal.ledger.posting import first_of_month

    grouped = lines(statement).values("case_id", "placement__starts_at").annotate(total=Sum("commission"))
    return settlement_legs(
        statement, ((row["case_id"], first_of_month(timezone.localdate(row["placement__starts_at"])), row["total"]) for row in grouped)
    )


def register() -> None:
    kinds.register(
        kinds.StatementKind(
            code=KIND,
            label=gettext_lazy("Commission statement"),
            number_prefix="CS",
            partner_kind=OrganisationKind.AGENCY,
            lines=lines,
            attach=attach,
            totals=totals,
            rows=rows,
            release=release,
            extra_blockers=blockers,
            ledger_legs=ledger_legs,
            base_label=gettext_lazy("Recovered"),
            amount_label=gettext_lazy("Commission"),
            labels={
                "case_ref": gettext_lazy("Contract no."),
                "description": gettext_lazy("Payment reference"),
                "period_end": gettext_lazy("Payments up to"),
                "base_total": gettext_lazy("Total recovered"),
                "amount_total": gettext_lazy("Total commission"),
                "base_column": gettext_lazy("Recovered (CNY)"),
                "amount_column": gettext_lazy("Commission (CNY)"),
                "partner_confirms": gettext_lazy("Confirmed by the agency (seal)"),
                "note": gettext_lazy(
                    "Each line is one payment the lender received on a case while it was placed with the agency. "
                    "Commission is the amount recovered times the agreed rate for the case's bucket and round, rounded "
                    "half up to the fen on each line; the totals are the sums of the lines."
                ),
            },
        )
    )


# ----------------------------------------------------------------- the names outsourcing and the demo call

month_bounds = services.month_bounds


def statement_number(partner, period: datetime.date) -> str:
    return services.statement_number(kinds.get(KIND), partner, period)


def draft_statement(*, partner, period: datetime.date, created_by=None, now: datetime.datetime | None = None, request=None) -> Statement:
    """Create the agency's commission draft for the month, or bring an existing draft up to date (audited)."""
    return services.draft(kind=KIND, partner=partner, period=period, created_by=created_by, now=now, request=request)


def open_disputes(statement: Statement):
    return open_payment_disputes(statement)


def approve(*, statement: Statement, approved_by, now: datetime.datetime | None = None, request=None) -> Statement:
    """The lender approves: a draft is first sent to the agency for review (the same person, the same moment), then
    approved; the partner's review and its line disputes are the core's (portal.fees)."""
    statement = Statement.objects.get(pk=statement.pk)
    if statement.status == StatementStatus.DRAFT:
        statement = services.send_for_review(statement=statement, sent_by=approved_by, now=now, request=request)
    return services.approve(statement=statement, approved_by=approved_by, now=now, request=request)


def issue(*, statement: Statement, issued_by, render=None, now: datetime.datetime | None = None, request=None) -> Statement:
    return services.issue(statement=statement, issued_by=issued_by, render=render, now=now, request=request)


def issued_document(statement: Statement) -> bytes | None:
    return services.issued_document(statement)


def discard_draft(*, statement: Statement, discarded_by=None, request=None) -> None:
    services.discard_draft(statement=statement, discarded_by=discarded_by, request=request)


__all__ = [
    "KIND",
    "approve",
    "discard_draft",
    "draft_statement",
    "issue",
    "issued_document",
    "month_bounds",
    "open_disputes",
    "register",
    "statement_number",
    "totals_of",
]
