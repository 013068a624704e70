"""Scorecard pages: the lender compares its agencies; an agency admin sees its own row and its collectors.

Thin: parse the filters, ask portal.access, call outsourcing.scorecards, render. A partner is always
limited to its own organisation (``partner=request.principal.organisation``), in the table, the
comparison chart and the export alike: it never sees another agency's numbers.
"""

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from portal import access
from portal.audit.log import Action, record
from portal.lib import months
from portal.lib.downloads import attachment
from portal.lib.spreadsheet import csv_bytes

from . import scorecards
from .models import BUCKETS

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
DEFAULT_MONTHS = 6
BOM = "\ufeff"
# The comparison chart: SVG user units (the drawing scales to the page width).
CHART_WIDTH, LABEL_WIDTH, TRACK_WIDTH, ROW_HEIGHT = 480, 170, 240, 30
SCALES = [Decimal(s) for s in ("0.05", "0.1", "0.2", "0.25", "0.5", "1")]


class MonthField(forms.CharField):
    """A calendar month, typed as YYYY-MM (the browser's month picker sends that)."""

    widget = forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "placeholder": "2026-03"})

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        match = MONTH_PATTERN.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise forms.ValidationError(gettext_lazy("Enter a month as YYYY-MM."), code="month")
        return datetime.date(int(match.group(1)), int(match.group(2)), 1)


BUCKET_CHOICES = [("", gettext_lazy("Every bucket"))] + [(b, b) for b in BUCKETS]


class ScorecardFilterForm(forms.Form):
    month_from = MonthField(label=gettext_lazy("Placed from"), required=False)
    month_to = MonthField(label=gettext_lazy("Placed up to"), required=False)
    bucket = forms.ChoiceField(label=gettext_lazy("Bucket"), choices=BUCKET_CHOICES, required=False)
    compare_month = MonthField(label=gettext_lazy("Placement month"), required=False)
    compare_bucket = forms.ChoiceField(label=gettext_lazy("Bucket"), choices=[(b, b) for b in BUCKETS], required=False)

    def clean(self):
        data = super().clean()
        month_from, month_to = data.get("month_from"), data.get("month_to")
        if month_from and month_to:
            if month_from > month_to:
                raise forms.ValidationError(gettext_lazy("The first month comes after the last."), code="order")
            if months.months_between(month_from, month_to) > scorecards.MAX_MONTHS:
                raise forms.ValidationError(gettext_lazy("Choose at most %(n)s months.") % {"n": scorecards.MAX_MONTHS}, code="range")
        return data


def _scope(request):
    """The organisation whose numbers the viewer may see: a partner its own only; None for the lender (every agency)."""
    principal = access.require(request, "scorecard.view")
    return principal.organisation if principal.is_partner else None


def _filters(request):
    """(form, month_from, month_to, bucket): invalid or missing input falls back to the last six months."""
    form = ScorecardFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    this_month = months.month_start(timezone.localdate())
    month_to = data.get("month_to") or this_month
    month_from = data.get("month_from") or months.add_months(month_to, -(DEFAULT_MONTHS - 1))
    if month_from > month_to or months.months_between(month_from, month_to) > scorecards.MAX_MONTHS:
        month_from = months.add_months(month_to, -(DEFAULT_MONTHS - 1))
    return form, data, month_from, month_to, data.get("bucket") or None


def _scale(values):
    """The smallest round scale end that holds every value (so that low recovery rates stay readable)."""
    top = max([v for v in values if v is not None], default=Decimal(0))
    return next((s for s in SCALES if top <= s), max(SCALES[-1], top))


def _chart(rows, metric, title):
    """One horizontal bar chart (a list of bars with SVG geometry as Decimal to 1 place) for one rate."""
    values = [getattr(r, metric) for r in rows]
    scale = _scale(values)
    bars = []
    for position, (row, value) in enumerate(zip(rows, values, strict=True)):
        shown = min(value, scale) if value is not None else Decimal(0)
        width = (Decimal(TRACK_WIDTH) * shown / scale).quantize(Decimal("0.1"), ROUND_HALF_UP)
        bars.append(
            {
                "name": row.partner_name,
                "placed": row.placed,
                "value": scorecards.percent(value),
                "width": width,
                "y": position * ROW_HEIGHT,
                "missing": value is None,
            }
        )
    return {
        "metric": metric,
        "title": title,
        "bars": bars,
        "scale": scorecards.percent(scale, 0),
        "height": len(bars) * ROW_HEIGHT + 24,
        "axis_y": len(bars) * ROW_HEIGHT + 16,
    }


def scorecard_page(request):
    own = _scope(request)
    form, data, month_from, month_to, bucket = _filters(request)
    # The cells are read once: the table, the default comparison and (when its cohort is in the range) the chart come from them.
    cohorts = scorecards.cohorts(month_from, month_to, bucket=bucket, partner=own)
    rows = cohorts.rows()
    compare_month, compare_bucket = cohorts.compared_cohort(data.get("compare_month"), data.get("compare_bucket"))
    comparison = cohorts.comparison(compare_month, compare_bucket)
    charts = (
        [
            _chart(comparison, "recovery_rate", _("Recovery rate")),
            _chart(comparison, "contact_rate", _("Contact rate")),
            _chart(comparison, "promise_kept_rate", _("Promise-kept rate")),
        ]
        if comparison
        else []
    )
    collectors = scorecards.collector_scorecards(own, month_from, month_to, bucket=bucket) if own is not None else None
    return render(
        request,
        "outsourcing/scorecard_page.html",
        {
            "form": form,
            "rows": rows,
            "month_from": month_from,
            "month_to": month_to,
            "bucket": bucket or "",
            "compare_month": compare_month,
            "compare_bucket": compare_bucket,
            "charts": charts,
            "collectors": collectors,
            "own": own,
            "buckets": BUCKETS,
            "chart_width": CHART_WIDTH,
            "label_width": LABEL_WIDTH,
            "track_width": TRACK_WIDTH,
            "query": request.GET.urlencode(),
        },
    )


def scorecard_export(request):
    """The page's table as CSV (text cells formula-neutralised, rates as fractions); the export is audited.
    ``?table=collectors`` gives an agency admin the collector table instead."""
    own = _scope(request)
    _form, _data, month_from, month_to, bucket = _filters(request)
    if request.GET.get("table") == "collectors" and own is not None:
        rows = scorecards.collector_scorecards(own, month_from, month_to, bucket=bucket)
        table = scorecards.collector_export_rows(rows)
        what, name = "collector scorecards", "collectors"
    else:
        rows = scorecards.agency_scorecards(month_from, month_to, bucket=bucket, partner=own)
        table = scorecards.agency_export_rows(rows)
        what, name = "agency scorecards", "agencies"
    record(
        Action.EXPORT,
        request=request,
        object_type="outsourcing.scorecard",
        object_id=name,
        what=what,
        rows=len(rows),
        month_from=month_from.isoformat(),
        month_to=month_to.isoformat(),
        bucket=bucket or "",
    )
    return attachment(csv_bytes(table), f"scorecards-{name}-{month_from:%Y%m}-{month_to:%Y%m}.csv", "text/csv; charset=utf-8")
