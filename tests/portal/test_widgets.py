"""The shared date picker: an <input type="date"> only shows a value written YYYY-MM-DD (the HTML standard's "valid
date string"), so the initial date must not follow the page's locale (zh-hans would write 2026/12/05)."""

import datetime

from django import forms
from django.utils import translation

from portal.lib.widgets import DateInput


class _Form(forms.Form):
    on = forms.DateField(widget=DateInput(), initial=datetime.date(2026, 12, 5))


def test_the_date_picker_shows_an_iso_date_in_every_language():
    for language in ("zh-hans", "en"):
        with translation.override(language):
            html = str(_Form()["on"])
        assert 'type="date"' in html and 'value="2026-12-05"' in html, (language, html)


def test_a_date_typed_in_the_picker_is_read_back():
    with translation.override("zh-hans"):
        form = _Form({"on": "2026-12-05"})
        assert form.is_valid() and form.cleaned_data["on"] == datetime.date(2026, 12, 5)
