"""Yuan ↔ fen at the gateway: Decimal, rounded to the fen ROUND_HALF_UP, positive, never a float."""

from decimal import Decimal

import pytest

from billing.money import from_fen, to_fen, to_yuan


@pytest.mark.parametrize(
    "yuan,fen",
    [
        (Decimal("0.005"), 1),  # half a fen rounds up (ROUND_HALF_UP), not to even
        (Decimal("0.015"), 2),
        (Decimal("0.025"), 3),  # banker's rounding would give 2
        (Decimal("12.345"), 1235),
        (Decimal("12.344"), 1234),
        ("1234567.89", 123456789),
        (Decimal("100"), 10000),
        (7, 700),
    ],
)
def test_yuan_to_fen(yuan, fen):
    assert to_fen(yuan) == fen
    assert isinstance(to_fen(yuan), int)


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("0.004"), Decimal("-1.00"), "-0.01"])
def test_non_positive_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        to_fen(amount)


@pytest.mark.parametrize("amount", [0.1, 12.345, True])
def test_floats_are_refused(amount):
    with pytest.raises(TypeError):
        to_fen(amount)


def test_not_an_amount():
    for bad in ("abc", "NaN", "Infinity", None):
        with pytest.raises((ValueError, TypeError)):
            to_yuan(bad)


def test_fen_back_to_yuan():
    assert from_fen(1235) == Decimal("12.35")
    assert from_fen(1) == Decimal("0.01")
    assert str(from_fen(10000)) == "100.00"
    with pytest.raises(TypeError):
        from_fen(12.35)
