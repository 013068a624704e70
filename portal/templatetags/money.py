from django import template

from portal.lib.money import format_cny

register = template.Library()


@register.filter
def cny(value):
    """¥1,234.50 — rounded half up to the fen."""
    if value is None or value == "":
        return "—"
    return format_cny(value)
