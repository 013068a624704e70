"""Yuan ↔ fen, at the one boundary where our Decimals meet Stripe's integers.

Stripe amounts are integers in the currency's smallest unit (CNY: 分, fen; docs.stripe.com/currencies,
"zero-decimal" lists CNY as a two-decimal currency). Our amounts are Decimal yuan, rounded to the fen
with ROUND_HALF_UP (the commercial rule, reliability-and-security.md §4) before conversion.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


def to_yuan(amount) -> Decimal:
    """A Decimal (or an int/str of one) rounded to the fen; floats are refused (they are not exact)."""
    if isinstance(amount, float) or isinstance(amount, bool):
        raise TypeError("money must be a Decimal, an int or a str, never a float")
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise ValueError(f"not an amount: {amount!r}") from error
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount) -> int:
    """Decimal yuan → integer fen for Stripe: 12.345 → 1235, 0.005 → 1. Non-positive amounts are refused."""
    yuan = to_yuan(amount)
    if yuan <= 0:
        raise ValueError(f"a payment must be positive, not {yuan}")
    return int(yuan * 100)


def from_fen(fen: int) -> Decimal:
    """Integer fen from Stripe → Decimal yuan."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be an int, not {fen!r}")
    return (Decimal(fen) / 100).quantize(FEN)
