from django import template

from portal.lib.money import format_cny

register = template.Library()


@register.filter
def cny(value):
    """¥1,234.50 — rounded half up to the fen."""
    if value is None or value == "":
        return "—"
    return format_cny(value)


@register.filter
def percent(value):
    """A fraction as a percentage with up to two decimals: 0.1825 → 18.25%."""
    if value is None or value == "":
        return "—"
    from decimal import Decimal

    shown = (Decimal(value) * 100).quantize(Decimal("0.01")).normalize()
    return f"{shown:f}%"
