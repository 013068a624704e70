from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def rate_percent(value):
    """A commission rate stored as a fraction (0.1825) shown as a percentage (18.25%)."""
    if value is None or value == "":
        return "—"
    try:
        return f"{(Decimal(value) * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    except (InvalidOperation, TypeError, ValueError):
        return "—"


@register.simple_tag
def may(principal, action):
    """{% may principal "placement.manage" as can_place %}: the access module's answer, in a template."""
    from portal import access

    return access.can(principal, action)
