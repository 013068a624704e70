"""The net-recovery dashboard (净回收) and its exports, on the lender's host under /ledger/.

Thin: parse the filters, ask portal.access, call portal.ledger.reports (one grouped query over the
trigger-maintained totals), lay out the charts' geometry, render. Finance only — the lender's admin and
finance staff (``ACTION``); partners and collectors never see the lender's costs. Charts are server-side SVG
(no script: CSP is 'self'), each with a <title>/<desc> and the table it draws right below it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from portal import access
from portal.audit.log import Action, record
from portal.lib import months
from portal.lib.downloads import attachment
from portal.lib.money import format_cny

from . import exports, reports
from .models import CounterpartyKind

# Who sees net recovery: the lender's finance (and its admin) — the people who approve and pay the partners'
# statements. Partner roles and collectors hold no role in this set.
ACTION = "ledger.view"
DEFAULT_MONTHS = 12
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_FILTERS = {
    CounterpartyKind.AGENCY.value: CounterpartyKind.AGENCY.label,
    CounterpartyKind.LAW_FIRM.value: CounterpartyKind.LAW_FIRM.label,
    "none": _("Not attributed to a partner"),
}

# Chart geometry, SVG user units (the drawing scales to the page width).
TREND_WIDTH, TREND_HEIGHT, TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 720, 260, 96, 12, 12, 36
BARS_WIDTH, BARS_LABEL, BARS_VALUE, BAR_HEIGHT, BAR_GAP, GROUP_GAP = 720, 150, 120, 16, 4, 18
SERIES = (  # (figure, label, colour): the same three series in both charts and the legend
    ("recovered", _("Recovered"), "#1f5fae"),
    ("cost", _("Cost of collection"), "#a15c00"),
    ("net", _("Net recovery"), "#2f7d6d"),
)
TENTH = Decimal("0.1")


def _q(value) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ filters


def _filters(request) -> tuple[reports.Filters, dict]:
    """The filters from the query string; anything invalid falls back (months: the last twelve with entries)."""
    span = reports.ledger_months()
    last = span[1] if span else months.month_start(timezone.localdate())
    month_to = months.parse_month(request.GET.get("month_to")) or last
    month_from = months.parse_month(request.GET.get("month_from")) or months.add_months(month_to, -(DEFAULT_MONTHS - 1))
    if month_from > month_to or months.months_between(month_from, month_to) > reports.MAX_MONTHS:
        month_from = months.add_months(month_to, -(DEFAULT_MONTHS - 1))
    products = reports.products()
    product = request.GET.get("product")
    product = product if product in products else None
    kind = request.GET.get("kind") or None
    kind = kind if kind in KIND_FILTERS else None
    filters = reports.Filters(month_from=month_from, month_to=month_to, product=product, counterparty_kind=kind)
    return filters, {"products": products, "has_entries": span is not None}


def _query(filters: reports.Filters) -> str:
    from django.utils.http import urlencode

    params = {"month_from": f"{filters.month_from:%Y-%m}", "month_to": f"{filters.month_to:%Y-%m}"}
    if filters.product is not None:
        params["product"] = filters.product
    if filters.counterparty_kind:
        params["kind"] = filters.counterparty_kind
    return urlencode(params)


# ------------------------------------------------------------------ charts


def _value(figures: reports.Figures, name: str) -> Decimal:
    return getattr(figures, name)


def _nice_ceiling(value: Decimal) -> Decimal:
    """A round axis end at or above ``value`` (1, 2 or 5 × a power of ten)."""
    if value <= 0:
        return Decimal(0)
    exponent = value.adjusted()
    for step in (1, 2, 5, 10):
        ceiling = Decimal(step).scaleb(exponent)
        if ceiling >= value:
            return ceiling
    return Decimal(10).scaleb(exponent)


def trend_chart(rows: list[reports.Row]) -> dict:
    """Recovered, cost and net by month as three lines over a zero line; geometry as Decimals to 0.1."""
    values = [_value(row.figures, name) for row in rows for name, _label, _colour in SERIES]
    top = _nice_ceiling(max(values + [Decimal(0)]))
    bottom = -_nice_ceiling(-min(values + [Decimal(0)]))
    span = (top - bottom) or Decimal(1)
    plot_w, plot_h = TREND_WIDTH - TREND_LEFT - TREND_RIGHT, TREND_HEIGHT - TREND_TOP - TREND_BOTTOM
    step = Decimal(plot_w) / max(len(rows) - 1, 1)

    def x(i):
        return _q(TREND_LEFT + step * i) if len(rows) > 1 else _q(TREND_LEFT + plot_w / 2)

    def y(v):
        return _q(TREND_TOP + Decimal(plot_h) * (top - v) / span)

    series = []
    for name, label, colour in SERIES:
        points = [(x(i), y(_value(row.figures, name)), row.label, _value(row.figures, name)) for i, row in enumerate(rows)]
        series.append(
            {
                "name": name,
                "label": label,
                "colour": colour,
                "points": " ".join(f"{px},{py}" for px, py, _l, _v in points),
                "dots": [{"x": px, "y": py, "title": f"{month} {label}: {format_cny(v)}"} for px, py, month, v in points],
            }
        )
    every = max(1, (len(rows) + 7) // 8)  # at most about eight month labels under the axis
    ticks = [{"x": x(i), "label": row.label} for i, row in enumerate(rows) if i % every == 0 or i == len(rows) - 1]
    return {
        "width": TREND_WIDTH,
        "height": TREND_HEIGHT,
        "left": TREND_LEFT,
        "right": TREND_WIDTH - TREND_RIGHT,
        "top_y": TREND_TOP,
        "bottom_y": TREND_TOP + plot_h,
        "zero_y": y(Decimal(0)),
        "top_label": format_cny(top),
        "bottom_label": format_cny(bottom),
        "show_bottom": bottom < 0 and (TREND_TOP + plot_h) - y(Decimal(0)) > 14,  # no label over the zero line's
        "label_y": TREND_HEIGHT - 8,
        "series": series,
        "ticks": ticks,
        "summary": "; ".join(
            f"{row.label}: " + ", ".join(f"{label} {format_cny(_value(row.figures, name))}" for name, label, _c in SERIES) for row in rows
        ),
    }


def kind_chart(rows: list[reports.Row]) -> dict:
    """Agencies, law firms (and unattributed money) side by side: recovered, cost and net as horizontal bars
    from a common zero (a negative net extends left of it)."""
    values = [_value(row.figures, name) for row in rows for name, _label, _colour in SERIES]
    positive = max(values + [Decimal(0)])
    negative = -min(values + [Decimal(0)])
    total = (positive + negative) or Decimal(1)
    track = Decimal(BARS_WIDTH - BARS_LABEL - BARS_VALUE)
    zero_x = _q(BARS_LABEL + track * negative / total)
    groups, y = [], 0
    for row in rows:
        bars = []
        for index, (name, label, colour) in enumerate(SERIES):
            value = _value(row.figures, name)
            length = _q(track * abs(value) / total)
            bars.append(
                {
                    "label": label,
                    "colour": colour,
                    "x": zero_x - length if value < 0 else zero_x,
                    "y": y + index * (BAR_HEIGHT + BAR_GAP),
                    "width": length,
                    "text_y": y + index * (BAR_HEIGHT + BAR_GAP) + BAR_HEIGHT - 3,
                    "value": format_cny(value),
                }
            )
        groups.append({"label": row.label, "label_y": y + BAR_HEIGHT + BAR_GAP + BAR_HEIGHT - 3, "bars": bars})
        y += len(SERIES) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    return {
        "width": BARS_WIDTH,
        "height": max(y, 1),
        "zero_x": zero_x,
        "value_x": BARS_WIDTH,
        "groups": groups,
        "summary": "; ".join(
            f"{row.label}: " + ", ".join(f"{label} {format_cny(_value(row.figures, name))}" for name, label, _c in SERIES) for row in rows
        ),
    }


# ------------------------------------------------------------------ pages


@require_GET
def dashboard(request):
    access.require(request, ACTION, lender_only=True)
    filters, extra = _filters(request)
    report = reports.net_recovery(filters)
    trend = reports.trend(report, filters.month_from, filters.month_to)
    by_kind = report.by_kind
    return render(
        request,
        "ledger/dashboard.html",
        {
            "report": report,
            "filters": filters,
            "products": extra["products"],
            "has_entries": extra["has_entries"],
            "kinds": list(KIND_FILTERS.items()),
            "trend": trend,
            "trend_chart": trend_chart(trend) if not report.is_empty else None,
            "by_kind": by_kind,
            "kind_chart": kind_chart(by_kind) if by_kind else None,
            "series": SERIES,
            "query": _query(filters),
        },
    )


def _export(request, kind: str):
    access.require(request, ACTION, lender_only=True)
    filters, _extra = _filters(request)
    report = reports.net_recovery(filters)
    record(
        Action.EXPORT,
        request=request,
        object_type="ledger.netrecovery",
        object_id=kind,
        what="net recovery",
        month_from=filters.month_from.isoformat(),
        month_to=filters.month_to.isoformat(),
        product=filters.product or "",
        kind=filters.counterparty_kind or "",
    )
    stem = f"net-recovery-{filters.month_from:%Y%m}-{filters.month_to:%Y%m}"
    if kind == "xlsx":
        return attachment(exports.to_xlsx(report), f"{stem}.xlsx", XLSX)
    return attachment(exports.to_csv(report), f"{stem}.csv", "text/csv; charset=utf-8")


@require_GET
def export_csv(request):
    return _export(request, "csv")


@require_GET
def export_xlsx(request):
    return _export(request, "xlsx")
