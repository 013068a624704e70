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


HUNDRED = Decimal(100)
PERCENT_PLACES = 2  # a commission rate is agreed to the hundredth of a per cent (outsourcing.agreements)


def percent(fraction, places: int = PERCENT_PLACES) -> Decimal:
    """A fraction as a number of per cent, rounded half up: 0.1825 → Decimal("18.25"). Refuses floats."""
    if isinstance(fraction, float):
        raise TypeError("a rate must not be a float; pass a Decimal, int or string")
    return (Decimal(fraction) * HUNDRED).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_percent(fraction, places: int = PERCENT_PLACES) -> str:
    """The one way a rate or share is shown: 0.1825 → "18.25%", 0.2 → "20.00%" (``places`` decimals,
    half up); nothing (None, "") → "—"."""
    if fraction is None or fraction == "":
        return "—"
    return f"{percent(fraction, places)}%"
