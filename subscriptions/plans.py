"""Which plan a lender needs: pure functions, no database.

Plans are priced by the number of *active* cases (在催案件): a case counts while the lender still works it —
new, in internal collection, placed with an agency or in litigation (``ACTIVE_CASE_STATUSES``, the values of
``portal.models.CaseStatus``). Settled, written-off and closed cases are kept (nothing is deleted) but cost
nothing. A tier holds up to and including its limit; ``None`` is unlimited (企业).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# portal.models.CaseStatus values a lender is still working (kept in step by tests/subscriptions/test_plans.py).
ACTIVE_CASE_STATUSES = ("new", "internal", "placed", "litigation")

FEN = Decimal("0.01")


@dataclass(frozen=True)
class Tier:
    code: str
    max_active_cases: int | None  # None: unlimited
    monthly_price: Decimal


# The seeded tiers (migration 0002); the database's Plan rows are what services use.
DEFAULT_TIERS = (
    Tier("starter", 1_000, Decimal("1980.00")),  # 起步
    Tier("growth", 10_000, Decimal("9800.00")),  # 成长
    Tier("scale", 100_000, Decimal("39800.00")),  # 规模
    Tier("enterprise", None, Decimal("98000.00")),  # 企业
)


def fits(max_active_cases: int | None, active_cases: int) -> bool:
    return max_active_cases is None or active_cases <= max_active_cases


def choose_tier(active_cases: int, tiers: Iterable) -> object:
    """The cheapest tier whose limit holds ``active_cases`` (anything with ``max_active_cases`` and
    ``monthly_price``: a Tier or a Plan). Raises ValueError if none does (no unlimited tier offered)."""
    if active_cases < 0:
        raise ValueError("a count of cases cannot be negative")
    fitting = [tier for tier in tiers if fits(tier.max_active_cases, active_cases)]
    if not fitting:
        raise ValueError(f"no plan holds {active_cases} active cases")
    return min(fitting, key=lambda tier: (tier.monthly_price, tier.max_active_cases is None, tier.max_active_cases or 0))


def to_fen(amount: Decimal) -> int:
    """Yuan (Decimal) → Stripe's integer minor unit (fen), rounded half up to the fen first."""
    return int((Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def from_fen(amount: int | None) -> Decimal:
    """Stripe's integer fen → yuan (Decimal, exact)."""
    return (Decimal(int(amount or 0)) / 100).quantize(FEN)
