"""Court fees (诉讼费用) of a money claim, per 《诉讼费用交纳办法》 (State Council Decree No. 481, in force 2007-04-01).

Pure functions on Decimal; no database. Each fee is a bracket table (one place per rule) computed exactly, "分段累计":
each rate applies only to the slice of the amount inside its bracket ("超过A至B的部分": lower bound exclusive, upper
bound inclusive). The Decree has no rounding rule (domain doc §1.6, UNCERTAIN): we keep the exact value and round half
up to the fen once, at the end (court_fees(), payable_acceptance_fee()); a court's fee notice overrides it.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from portal.lib.money import to_fen

ORDINARY, SUMMARY, SMALL_CLAIMS = "ordinary", "summary", "small_claims"
PROCEDURES = (ORDINARY, SUMMARY, SMALL_CLAIMS)


@dataclass(frozen=True)
class BracketTable:
    """A fee of ``floor_fee`` up to ``floor_limit``, plus ``rate`` × the slice of the amount inside each further bracket.

    ``slices`` are (upper bound inclusive, rate) in ascending order; the last upper bound is None (no limit).
    ``cap`` is the most the fee can be (None: no cap)."""

    floor_fee: Decimal
    floor_limit: Decimal
    slices: tuple[tuple[Decimal | None, Decimal], ...]
    cap: Decimal | None = None

    def fee(self, amount: Decimal) -> Decimal:
        total, lower = self.floor_fee, self.floor_limit
        for upper, rate in self.slices:
            if amount <= lower:
                break
            top = amount if upper is None else min(amount, upper)
            total += (top - lower) * rate
            lower = upper
        return total if self.cap is None else min(total, self.cap)


# 诉讼费用交纳办法 art. 13(一): 财产案件 "不超过1万元的，每件交纳50元；超过1万元至10万元的部分，按照2.5%交纳；……超过2000万元的部分，
# 按照0.5%交纳" (domain doc §1.1).
ACCEPTANCE = BracketTable(
    floor_fee=Decimal(50),
    floor_limit=Decimal(10_000),
    slices=(
        (Decimal(100_000), Decimal("0.025")),
        (Decimal(200_000), Decimal("0.02")),
        (Decimal(500_000), Decimal("0.015")),
        (Decimal(1_000_000), Decimal("0.01")),
        (Decimal(2_000_000), Decimal("0.009")),
        (Decimal(5_000_000), Decimal("0.008")),
        (Decimal(10_000_000), Decimal("0.007")),
        (Decimal(20_000_000), Decimal("0.006")),
        (None, Decimal("0.005")),
    ),
)

# Art. 14(二): 保全 "财产数额不超过1000元或者不涉及财产数额的，每件交纳30元；超过1000元至10万元的部分，按照1%交纳；超过10万元的部分，按照0.5%交纳。
# 但是，当事人申请保全措施交纳的费用最多不超过5000元" — on the amount actually preserved (domain doc §1.3; the cumulative
# reading, 30 + 1% of the slice above 1,000).
PRESERVATION = BracketTable(
    floor_fee=Decimal(30),
    floor_limit=Decimal(1_000),
    slices=((Decimal(100_000), Decimal("0.01")), (None, Decimal("0.005"))),
    cap=Decimal(5_000),
)

# Art. 14(一)2: 申请执行 "执行金额或者价额不超过1万元的，每件交纳50元；超过1万元至50万元的部分，按照1.5%交纳；超过50万元至500万元的部分，按照1%交纳；
# 超过500万元至1000万元的部分，按照0.5%交纳；超过1000万元的部分，按照0.1%交纳" (domain doc §1.4; 0.1%, not 1%, above 10 million).
ENFORCEMENT = BracketTable(
    floor_fee=Decimal(50),
    floor_limit=Decimal(10_000),
    slices=(
        (Decimal(500_000), Decimal("0.015")),
        (Decimal(5_000_000), Decimal("0.01")),
        (Decimal(10_000_000), Decimal("0.005")),
        (None, Decimal("0.001")),
    ),
)

HALF = Decimal(2)  # arts. 15, 16: 减半交纳
PAYMENT_ORDER_DIVISOR = Decimal(3)  # art. 14(三): 支付令 "比照财产案件受理费标准的1/3交纳"


def claim_amount(value) -> Decimal:
    """A money amount as an exact Decimal: str, int or Decimal, finite and not negative. Floats are refused (not money)."""
    if isinstance(value, float):
        raise TypeError(_("An amount must not be a float; pass a Decimal, int or string."))
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(_("An amount must be a Decimal, int or string, not %(type)s.") % {"type": type(value).__name__})
    try:
        amount = Decimal(value.strip().replace(",", "") if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not an amount of money.") % {"value": value}) from None
    if not amount.is_finite():
        raise ValueError(_("“%(value)s” is not an amount of money.") % {"value": value})
    if amount < 0:
        raise ValueError(_("An amount must not be negative (got %(value)s).") % {"value": value})
    return amount


def acceptance_fee(amount) -> Decimal:
    """案件受理费 of a property case on the claim amount (标的总额), exact (art. 13(一)); the full fee, before any halving."""
    return ACCEPTANCE.fee(claim_amount(amount))


def preservation_fee(preserved) -> Decimal:
    """财产保全申请费 on the amount actually preserved, exact (art. 14(二)); 30 when no amount is involved (None); at most 5,000."""
    return PRESERVATION.floor_fee if preserved is None else PRESERVATION.fee(claim_amount(preserved))


def enforcement_fee(amount) -> Decimal:
    """申请执行费 on the amount to enforce, exact (art. 14(一)). Not prepaid: paid after enforcement (art. 20), borne by the
    person subject to enforcement (art. 38)."""
    return ENFORCEMENT.fee(claim_amount(amount))


@dataclass(frozen=True)
class CourtFees:
    """The fees of one claim, each rounded to the fen (half up) from its exact value."""

    amount: Decimal  # the claim amount (标的总额), to the fen
    acceptance_fee: Decimal  # 案件受理费, art. 13(一), full
    summary_procedure_fee: Decimal  # the acceptance fee halved, art. 16 (also the mediated / withdrawn fee, art. 15)
    preservation_fee: Decimal  # art. 14(二), on the preserved amount (the claim amount unless given), at most 5,000
    enforcement_fee: Decimal  # art. 14(一), on the claim amount; paid after enforcement (art. 20)
    payment_order_fee: Decimal  # art. 14(三): one third of the acceptance fee

    def as_json(self) -> dict:
        """Every amount as a string with two decimals, e.g. {"amount": "35000.00", "acceptance_fee": "675.00", …}."""
        return {
            "amount": f"{self.amount:.2f}",
            "acceptance_fee": f"{self.acceptance_fee:.2f}",
            "summary_procedure_fee": f"{self.summary_procedure_fee:.2f}",
            "preservation_fee": f"{self.preservation_fee:.2f}",
            "enforcement_fee": f"{self.enforcement_fee:.2f}",
            "payment_order_fee": f"{self.payment_order_fee:.2f}",
        }


def court_fees(amount, *, preserved=None) -> CourtFees:
    """All the fees of a claim of ``amount``; preservation on ``preserved`` (default: the whole claim amount).

    Exact arithmetic throughout; each figure rounded to the fen once, at the end (domain doc §1.6): 10,000.01 gives an
    acceptance fee of 50.00025 → 50.00, and a payment-order fee of 50 / 3 → 16.67."""
    amount = claim_amount(amount)
    acceptance = ACCEPTANCE.fee(amount)
    return CourtFees(
        amount=to_fen(amount),
        acceptance_fee=to_fen(acceptance),
        summary_procedure_fee=to_fen(acceptance / HALF),
        preservation_fee=to_fen(preservation_fee(amount if preserved is None else preserved)),
        enforcement_fee=to_fen(ENFORCEMENT.fee(amount)),
        payment_order_fee=to_fen(acceptance / PAYMENT_ORDER_DIVISOR),
    )


def payable_acceptance_fee(amount, *, procedure=ORDINARY, mediated=False, withdrawn=False) -> Decimal:
    """The acceptance fee the plaintiff pays, to the fen.

    Halved (once) when the case is tried under summary procedure (art. 16) — small claims (小额诉讼) included, as a
    sub-procedure of the CPL's summary-procedure chapter (CPL arts. 165–170; domain doc §1.2, UNCERTAIN) — or when it
    ends in mediation or is withdrawn (art. 15). The halvings do not stack: summary + mediation is ½, never ¼ (usual
    reading of arts. 15–16; UNCERTAIN)."""
    if procedure not in PROCEDURES:
        raise ValueError(
            _("Unknown procedure “%(procedure)s”; expected one of %(choices)s.")
            % {"procedure": procedure, "choices": ", ".join(PROCEDURES)}
        )
    full = acceptance_fee(amount)
    halved = procedure in (SUMMARY, SMALL_CLAIMS) or mediated or withdrawn
    return to_fen(full / HALF if halved else full)
