from decimal import InvalidOperation

from django import template

from portal.lib.money import format_cny, format_percent

register = template.Library()


@register.filter
def cny(value):
    """¥1,234.50 — rounded half up to the fen."""
    if value is None or value == "":
        return "—"
    return format_cny(value)


@register.filter
def percent(value, places=None):
    """A fraction as a percentage, half up: {{ 0.1825|percent }} → 18.25%, {{ rate|percent:1 }} → 18.3%; — for none.
    Text that is not a number shows as — (a template never raises)."""
    try:
        return format_percent(value) if places is None else format_percent(value, int(places))
    except (InvalidOperation, TypeError, ValueError):
        return "—"
