"""What a matter claims (诉讼请求): each loan's debt statement to the cut-off date, the costs, the total and the fees.

``loan_terms`` turns a loan of a matter into the terms of the debt calculation (litigation.debt): the principal
outstanding on the day interest was paid up to, the standing payments after that day, the rates of the case and
the elements the paralegal completed on the MatterLoan. ``claim_for`` adds the loans up. Every figure is a sum
of the rounded figures of the statements (each rounded to the fen once, in litigation.debt), so the complaint,
the debt calculation and the fee sheet print the same numbers and ``Claim.total`` is the sum of its parts.

标的总额 (the fee base, domain doc §1.1): principal, interest, penalty and compound interest and costs to the
cut-off date, plus the costs of realising the debt claimed (实现债权的费用); interest after the cut-off date is
claimed "至实际清偿之日止" and is not in the amount.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.lib.money import to_fen

from . import debt
from .court_fees import CourtFees, court_fees, payable_acceptance_fee
from .models import LenderType, Matter, MatterLoan, PlaintiffProfile

ZERO = Decimal("0.00")


class MissingElement(ValueError):
    """A filing element the calculation needs is not recorded; ``field`` names it (pre-flight shows it)."""

    def __init__(self, field: str, loan: MatterLoan | None = None):
        self.field = field
        self.loan = loan
        super().__init__(field)


def standing_payments(case, *, after: datetime.date):
    """The case's payments after ``after`` that stand (not reversed), with their effective split, in date order."""
    from portal.payments.models import Payment

    return list(
        Payment.objects.filter(case=case, reversal__isnull=True, paid_on__gt=after)
        .with_effective_split()
        .order_by("paid_on", "recorded_at", "pk")
    )


def loan_terms(loan: MatterLoan, *, cutoff: datetime.date, lender_type: str) -> debt.LoanTerms:
    """The debt-calculation terms of one loan of a matter, to ``cutoff``. Raises MissingElement for an element not recorded."""
    case = loan.case
    for field in ("interest_paid_to", "due_date", "penalty_rate"):
        if getattr(loan, field) is None:
            raise MissingElement(field, loan)
    if case.annual_rate is None:
        raise MissingElement("annual_rate", loan)
    contract_date = loan.contract_signed_on or case.disbursed_on
    if contract_date is None:
        raise MissingElement("contract_signed_on", loan)
    payments = standing_payments(case, after=loan.interest_paid_to)
    # The books' principal_due is after every standing payment; the calculation starts on interest_paid_to, so the
    # principal then is what is due now plus the principal those later payments settled (民法典 art. 561 split as applied).
    principal = case.principal_due + sum((payment.effective_to_principal for payment in payments), ZERO)
    return debt.LoanTerms(
        principal=to_fen(principal),
        annual_rate=case.annual_rate,
        penalty_rate=loan.penalty_rate,
        compound=loan.compound,
        basis=case.day_count_basis,
        interest_from=loan.interest_paid_to,
        due_date=loan.due_date,
        cutoff=cutoff,
        payments=tuple(
            debt.Payment(on=payment.paid_on, amount=to_fen(payment.applied))
            for payment in payments
            if payment.paid_on <= cutoff and payment.applied > 0
        ),
        lender_type=lender_type,
        contract_date=contract_date,
        apply_cap=loan.apply_cap,
        fees=to_fen(case.fees_due),
    )


@dataclass(frozen=True)
class Claim:
    cutoff: datetime.date
    loans: tuple[tuple[MatterLoan, debt.DebtStatement], ...]
    principal: Decimal
    interest: Decimal
    penalty_interest: Decimal
    compound_interest: Decimal
    fees: Decimal
    enforcement_costs: Decimal
    total: Decimal  # 标的总额 = the sum of the parts above
    fees_due: CourtFees
    payable_fee: Decimal  # the acceptance fee payable under the matter's procedure (诉讼费用交纳办法 arts. 13, 16)

    @property
    def parts(self) -> tuple[Decimal, ...]:
        return (self.principal, self.interest, self.penalty_interest, self.compound_interest, self.fees, self.enforcement_costs)


def default_cutoff(matter: Matter) -> datetime.date:
    return matter.claim_cutoff or timezone.localdate() - datetime.timedelta(days=1)


def lender_type() -> str:
    profile = PlaintiffProfile.objects.filter(pk=1).first()
    return profile.lender_type if profile else LenderType.FINANCIAL_INSTITUTION


def claim_for(matter: Matter, *, cutoff: datetime.date | None = None) -> Claim:
    """The matter's claim to ``cutoff`` (default: the matter's cut-off, else yesterday). Raises MissingElement, or
    ValueError from the calculation (e.g. a private loan formed before the LPR existed)."""
    cutoff = cutoff or default_cutoff(matter)
    kind = lender_type()
    loans = [loan for loan in matter.loans.select_related("case").order_by("position", "id") if loan.active]
    if not loans:
        raise MissingElement("loans")
    statements = tuple((loan, debt.calculate(loan_terms(loan, cutoff=cutoff, lender_type=kind))) for loan in loans)

    def total_of(name):
        return sum((getattr(statement, name) for _loan, statement in statements), ZERO)

    principal, interest = total_of("principal"), total_of("interest")
    penalty, compound, fees = total_of("penalty_interest"), total_of("compound_interest"), total_of("fees")
    costs = to_fen(matter.claim_enforcement_costs or ZERO)
    total = principal + interest + penalty + compound + fees + costs
    if total <= 0:
        raise ValueError(_("The claim total is zero: nothing is owed on the cut-off date."))
    return Claim(
        cutoff=cutoff,
        loans=statements,
        principal=principal,
        interest=interest,
        penalty_interest=penalty,
        compound_interest=compound,
        fees=fees,
        enforcement_costs=costs,
        total=total,
        # 诉讼费用交纳办法 art. 14(二): preservation fee on the amount actually preserved (the claim when not given).
        fees_due=court_fees(total, preserved=matter.preservation_amount or total),
        payable_fee=payable_acceptance_fee(total, procedure=matter.procedure),
    )
