"""Field-visit fees (外访费): what a reported visit earns the agency, and the statement that settles them.

The outsourcing agreement (委外协议) may pay the agency a set fee per field visit on top of its commission: a visit
costs the agency travel and a visitor's day whether or not the debtor then pays, which a commission on recoveries
does not cover. The fee is a term of the agreement version the case was placed under (``AgreementVersion.
field_visit_fee``; 0 = the agreement pays none), like the commission rates: a later version applies to later
placements only.

What earns it: a visit the lender approved and the agency then reported (workbench.services.file_visit_report) —
the report is the proof the visit took place. A request refused, or approved and never reported, earns nothing.
One charge per report (a OneToOne), at the fee in force for the placement; dated the visit (lender-local date).

Each charge posts one ledger entry in the transaction that files the report: Dr field_visit_costs / Cr
partner_payable (the agency), per case and placement cohort (portal.ledger). The charges are settled on their own
monthly statement (the "field_visit" kind of portal.fees: 外访费结算单, number FV<yyyymm>-<agency>), through the same
lifecycle as commission statements — draft, the agency's review with line disputes, approval, issue, payment — so
finance pays commissions and expenses on separate documents, as the agency invoices them.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from portal.fees import kinds
from portal.fees.models import Statement, StatementKindCode
from portal.ledger import hooks as ledger_hooks
from portal.ledger.models import Account, EntryKind
from portal.ledger.posting import Leg, first_of_month, post
from portal.lib.money import to_fen
from tenants.models import OrganisationKind

from .workbench.models import FieldVisitCharge, FieldVisitReport, VisitStatus

ZERO = Decimal("0.00")
KIND = StatementKindCode.FIELD_VISIT


# ----------------------------------------------------------------- the rule


def fee_for(agreement_fee) -> Decimal | None:
    """The charge a reported visit earns: the agreement's fee to the fen; None when the agreement pays none (0)."""
    if agreement_fee is None:
        return None
    if isinstance(agreement_fee, float | bool):
        raise TypeError("a fee is a Decimal, int or string")
    fee = to_fen(Decimal(agreement_fee))
    if fee < 0:
        raise ValueError("a field-visit fee is not negative")
    return fee if fee > 0 else None


# ----------------------------------------------------------------- charging a report


def charge_report(report: FieldVisitReport) -> FieldVisitCharge | None:
    """The report's charge and its ledger entry, in the caller's transaction; None when the placement's agreement
    version pays no fee. Idempotent: a report already charged returns its charge."""
    found = FieldVisitCharge.objects.filter(report=report).first()
    if found is not None:
        return found
    visit = report.request
    if visit.status != VisitStatus.APPROVED:
        return None
    placement = visit.placement
    version = placement.agreement_version
    fee = fee_for(version.field_visit_fee if version is not None else None)
    if fee is None:
        return None
    charge = FieldVisitCharge.objects.create(
        report=report,
        placement=placement,
        partner_id=visit.organisation_id,
        case_id=visit.case_id,
        visited_on=timezone.localdate(report.visited_at),
        amount=fee,
    )
    post_charge(charge)
    return charge


def cohort_month(starts_at):
    """The placement's month (lender-local), as outsourcing/ledger_attribution.py attributes its recoveries."""
    return first_of_month(timezone.localdate(starts_at))


def post_charge(charge: FieldVisitCharge):
    """Dr field_visit_costs / Cr partner_payable (the agency), with the case and the placement's cohort."""
    dims = {"case": charge.case, "counterparty": charge.partner, "cohort_month": cohort_month(charge.placement.starts_at)}
    return post(
        kind=EntryKind.FIELD_VISIT,
        source=charge,
        occurred_on=charge.visited_on,
        legs=[Leg(Account.FIELD_VISIT_COSTS, charge.amount, **dims), Leg(Account.PARTNER_PAYABLE, -charge.amount, **dims)],
    )


# ----------------------------------------------------------------- the "field_visit" statement kind


def lines(statement: Statement):
    return FieldVisitCharge.objects.filter(statement_id=statement.pk)


def attach(statement: Statement) -> None:
    """Every charge of the agency for a visit up to the month's end that no statement has taken yet."""
    FieldVisitCharge.objects.filter(partner_id=statement.partner_id, statement__isnull=True, visited_on__lte=statement.period_end).update(
        statement=statement
    )


def totals(statement: Statement) -> tuple[int, Decimal, Decimal]:
    """(visits, 0, fees): a visit fee is not computed on a recovery, so the statement's recovered total is nil."""
    found = lines(statement).aggregate(n=Count("id"), amount=Sum("amount"))
    return found["n"], ZERO, found["amount"] or ZERO


def rows(statement: Statement) -> list[kinds.Row]:
    queryset = lines(statement).select_related("case", "report__request").order_by("visited_on", "created_at", "id")
    return [
        kinds.Row(
            line_id=charge.pk,
            date=charge.visited_on,
            case_ref=charge.case.contract_no,
            description=str(charge.report.request.get_reason_display()),
            base=ZERO,
            rate=None,
            amount=charge.amount,
            case_id=charge.case_id,
        )
        for charge in queryset
    ]


def release(statement: Statement, line_ids) -> int:
    """Take those charges off the statement: they wait for the agency's next one."""
    return lines(statement).filter(pk__in=list(line_ids)).update(statement=None)


def ledger_legs(statement: Statement):
    """Dr partner_payable / Cr cash per case and placement cohort, mirroring the charges' entries."""
    from .statements import settlement_legs

    grouped = lines(statement).values("case_id", "placement__starts_at").annotate(total=Sum("amount"))
    return settlement_legs(statement, ((row["case_id"], cohort_month(row["placement__starts_at"]), row["total"]) for row in grouped))


FIELD_VISIT_KIND = kinds.StatementKind(
    code=KIND,
    label=gettext_lazy("Field-visit fee statement"),
    number_prefix="FV",
    partner_kind=OrganisationKind.AGENCY,
    lines=lines,
    attach=attach,
    totals=totals,
    rows=rows,
    release=release,
    ledger_legs=ledger_legs,
    base_label=gettext_lazy("Recovered"),
    amount_label=gettext_lazy("Visit fee"),
    labels={
        "case_ref": gettext_lazy("Contract no."),
        "description": gettext_lazy("Reason for the visit"),
        "period_end": gettext_lazy("Visits up to"),
        "amount_total": gettext_lazy("Total visit fees"),
        "partner_confirms": gettext_lazy("Confirmed by the agency (seal)"),
        "note": gettext_lazy(
            "Each line is one field visit the lender approved and the agency reported, at the fee per visit of the "
            "agreement the case was placed under; the totals are the sums of the lines."
        ),
    },
)


def _charges():
    return FieldVisitCharge.objects.select_related("placement", "partner", "case").order_by("pk")


def register() -> None:
    kinds.register(FIELD_VISIT_KIND)
    ledger_hooks.register_source("workbench.fieldvisitcharge", _charges, post_charge)  # manage.py ledger_backfill
