"""Money: CNY as Decimal with two places, rounded half up to the fen at defined points."""
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_fen(amount) -> Decimal:
    """Round to the fen, half up. Refuses floats: they are not money."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; pass a Decimal, int or string")
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def format_cny(amount) -> str:
    """¥1,234.50; a negative amount (a clawback) as -¥480.00."""
    value = to_fen(amount)
    return f"{'-' if value < 0 else ''}¥{abs(value):,.2f}"
