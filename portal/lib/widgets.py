"""Form widgets shared by every app."""

from django import forms


class DateInput(forms.DateInput):
    """A browser date picker (``<input type="date">``). Its value must be ISO 8601 (YYYY-MM-DD) whatever the page's
    language: Django's default format follows the locale (zh-hans: "2026/12/05"), which the browser rejects, leaving
    the field blank instead of showing the initial date."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")
