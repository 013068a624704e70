"""How a repayment is applied to a case's balances: a pure function, one place for the rule.

民法典 art. 561 (absent agreement): first the costs of realising the debt, then interest, then the
principal (litigation-and-compliance-cn.md §3, 债权计算表). Our balances map onto it as
fees (费用) → penalty interest (罚息) → contractual interest (利息) → principal (本金); penalty
interest comes before contractual interest because it is the older charge on an overdue account.
Anything paid beyond the whole balance is kept as ``unapplied`` (to be refunded or set off), never lost.
"""

from dataclasses import dataclass
from decimal import Decimal

from portal.lib.money import to_fen

ORDER = ("fees", "penalty", "interest", "principal")


@dataclass(frozen=True)
class Balances:
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees


@dataclass(frozen=True)
class Allocation:
    to_fees: Decimal
    to_penalty: Decimal
    to_interest: Decimal
    to_principal: Decimal
    unapplied: Decimal

    @property
    def applied(self) -> Decimal:
        return self.to_fees + self.to_penalty + self.to_interest + self.to_principal


def allocate(amount, balances: Balances) -> tuple[Allocation, Balances]:
    """Split ``amount`` over the balances in the statutory order; returns the split and what remains."""
    remaining = to_fen(amount)
    if remaining <= 0:
        raise ValueError("a payment amount must be positive")
    parts, left = {}, {}
    for name in ORDER:
        owed = to_fen(getattr(balances, name))
        taken = min(owed, remaining)
        parts[name] = taken
        left[name] = owed - taken
        remaining -= taken
    allocation = Allocation(
        to_fees=parts["fees"],
        to_penalty=parts["penalty"],
        to_interest=parts["interest"],
        to_principal=parts["principal"],
        unapplied=remaining,
    )
    return allocation, Balances(**left)
