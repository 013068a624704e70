"""The legal office's pages (/legal/): deadlines, the litigation pipeline, legal costs, the plaintiff's particulars and
fee agreements, and the court-fee calculator.

Thin: ask portal.access first, take matters only through litigation.access, call one function of deadlines /
pipeline / costs / court_fees, render. Lists of figures (pipeline, lender-wide costs) are the lender's for its
staff — finance included, who has no matter pages — and a law firm's own matters for the firm (``_figures_scope``).
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import access
from portal.audit.log import Action, record
from portal.lib.downloads import attachment
from portal.lib.money import format_cny
from portal.lib.spreadsheet import csv_bytes

from . import costs as cost_rules, court_fees, pipeline
from .access import figure_matters, get_visible_matter, visible_matters
from .deadlines import due_this_week
from .models import CostKind, Deadline, LegalCost, LegalFeeAgreement, Matter, PlaintiffProfile, Stage
from .office_forms import CostForm, CourtFeeForm, FeeAgreementForm, PlaintiffForm, RecoveryForm, engaged_law_firms, show_errors

LOOKAHEAD_DAYS = 30  # the deadlines page shows this week, then the next 30 days
RECENT_COSTS = 100  # the lender-wide costs page lists the latest lines; the CSV has them all
# Charts: SVG user units, as on the scorecards (the drawing scales to the page width; styled by static/css/scorecards.css).
CHART_WIDTH, LABEL_WIDTH, TRACK_WIDTH, ROW_HEIGHT = 560, 150, 260, 30


def _figures_scope(principal):
    """The matters whose figures this principal may see (litigation.access.figure_matters, the one rule)."""
    return figure_matters(principal)


def _require_any(request, *actions):
    principal = getattr(request, "principal", None)
    if any(access.can(principal, action) for action in actions):
        return principal
    return access.require(request, actions[0])  # refuses, audited


def _safe_next(request, default):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


# ----------------------------------------------------------------- deadlines


def _deadline_row(deadline, today):
    days_left = (deadline.due_on - today).days
    return {"deadline": deadline, "matter": deadline.matter, "days_left": days_left, "overdue": days_left < 0, "days_overdue": -days_left}


def deadlines(request):
    principal = access.require(request, "matter.view")
    today = timezone.localdate()
    horizon = today + datetime.timedelta(days=LOOKAHEAD_DAYS)
    mine = request.GET.get("mine") == "1"
    matters = visible_matters(principal).exclude(stage=Stage.CLOSED)
    if mine:
        matters = matters.filter(lawyer=request.user) | matters.filter(paralegal=request.user)
    rows = list(
        Deadline.objects.filter(done_at__isnull=True, due_on__lte=horizon, matter__in=matters.values("pk"))
        .select_related("matter", "matter__debtor", "matter__firm", "matter__lawyer")
        .order_by("due_on", "id")
    )
    this_week = due_this_week(rows, today)
    week_ids = {d.pk for d in this_week}
    later = [d for d in rows if d.pk not in week_ids]
    return render(
        request,
        "litigation/office/deadlines.html",
        {
            "today": today,
            "this_week": [_deadline_row(d, today) for d in this_week],
            "later": [_deadline_row(d, today) for d in later],
            "overdue": sum(1 for d in this_week if d.due_on < today),
            "lookahead": LOOKAHEAD_DAYS,
            "mine": mine,
            "can_edit": access.can(principal, "matter.edit"),
        },
    )


@require_POST
def deadline_done(request, deadline_id):
    principal = access.require(request, "matter.edit")
    deadline = Deadline.objects.filter(pk=deadline_id, matter__in=visible_matters(principal).values("pk")).select_related("matter").first()
    if deadline is None:
        raise access.not_found(request, "litigation.deadline", deadline_id)
    # Compare-and-swap: done once, by whoever was first.
    if Deadline.objects.filter(pk=deadline.pk, done_at__isnull=True).update(done_at=timezone.now(), done_by=request.user):
        record(
            Action.CHANGE, request=request, obj=deadline.matter, event="deadline_done", deadline=deadline.kind, due_on=str(deadline.due_on)
        )
        messages.success(
            request,
            _("%(deadline)s of %(matter)s marked done.") % {"deadline": deadline.get_kind_display(), "matter": deadline.matter.number},
        )
    else:
        messages.info(request, _("That deadline was already marked done."))
    return redirect(_safe_next(request, "legal:deadlines"))


# ----------------------------------------------------------------- pipeline


def _quantize(value, places="0.1"):
    return Decimal(value).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _bar_chart(key, title, items, *, scale=None):
    """A horizontal bar chart: items are (label, number, value text); widths relative to ``scale`` (default: the largest)."""
    top = scale if scale is not None else max((Decimal(n) for _label, n, _text in items), default=Decimal(0))
    bars = []
    for position, (label, number, text) in enumerate(items):
        width = _quantize(Decimal(TRACK_WIDTH) * Decimal(number) / Decimal(top)) if top else Decimal(0)
        bars.append(
            {"name": label, "value": text, "width": min(width, Decimal(TRACK_WIDTH)), "y": position * ROW_HEIGHT, "missing": number is None}
        )
    return {"metric": key, "title": title, "bars": bars, "height": len(bars) * ROW_HEIGHT + 8}


def pipeline_page(request):
    principal = access.require(request, "pipeline.view")
    scope = _figures_scope(principal)
    court = request.GET.get("court", "").strip()[:200]
    firm = request.GET.get("firm", "").strip()[:64] if principal.is_lender_staff else ""
    firms = list(engaged_law_firms().values_list("pk", "name")) if principal.is_lender_staff else []
    if firm and firm != "inhouse" and firm not in {str(pk) for pk, _name in firms}:
        firm = ""
    matters = pipeline.filtered(scope, court=court or None, firm=firm or None)
    steps = pipeline.funnel(matters)
    times = pipeline.stage_times(matters)
    escalated = steps[0]
    funnel_chart = _bar_chart(
        "funnel",
        _("Matters at each step"),
        [
            (
                step.label,
                step.count,
                f"{step.count} · {format_cny(step.amount)}",
            )
            for step in steps
        ],
        scale=escalated.count,
    )
    timed = [t for t in times if t.average_days is not None]
    days_chart = _bar_chart(
        "days", _("Average days in each stage"), [(t.label, t.average_days, _("%(days)s days") % {"days": t.average_days}) for t in timed]
    )
    return render(
        request,
        "litigation/office/pipeline.html",
        {
            "steps": steps,
            "times": times,
            "funnel_chart": funnel_chart,
            "days_chart": days_chart if timed else None,
            "recovery_rate": pipeline.rate(steps[-1].recovered, escalated.claim),
            "courts": pipeline.courts(scope),
            "court": court,
            "firms": firms,
            "firm": firm,
            "by_court": pipeline.by_court(scope),
            "by_firm": pipeline.by_firm(scope) if principal.is_lender_staff else [],
            "own_firm": None if principal.is_lender_staff else principal.organisation,
            "chart_width": CHART_WIDTH,
            "label_width": LABEL_WIDTH,
            "track_width": TRACK_WIDTH,
        },
    )


# ----------------------------------------------------------------- costs


def _matter_costs_context(request, matter, form=None, recovery_form=None):
    can_record = access.can(request.principal, "legalcost.record")
    lines = matter.costs.select_related("recorded_by").order_by("incurred_on", "recorded_at")
    position = cost_rules.recovery_position(matter)
    if recovery_form is None and can_record and (position["decided"] or position["recovered"]):
        recovery_form = RecoveryForm(matter=matter)
    return {
        "matter": matter,
        "lines": list(lines),
        "totals": cost_rules.totals(matter.costs.all()),
        "recoveries": list(matter.cost_recoveries.select_related("recorded_by").order_by("received_on", "recorded_at")),
        "position": position,
        "form": form if form is not None else (CostForm(matter=matter) if can_record else None),
        "recovery_form": recovery_form,
        "can_record": can_record,
    }


def matter_costs(request, matter_id):
    access.require(request, "matter.view")
    matter = get_visible_matter(request, matter_id)
    return render(request, "litigation/office/matter_costs.html", _matter_costs_context(request, matter))


def _record_on_matter(request, matter_id, form_class, record, success, form_key):
    """POST a matter's costs form: ``record(matter, cleaned_data)`` → the row, ``success(row)`` → the message; a
    refusal is shown on the form (400) with the rest of the page."""
    access.require(request, "legalcost.record")
    matter = get_visible_matter(request, matter_id)
    form = form_class(request.POST, matter=matter)
    if form.is_valid():
        try:
            row = record(matter, form.cleaned_data)
        except ValidationError as error:
            show_errors(form, error)
        else:
            messages.success(request, success(row))
            return redirect("legal:matter-costs", matter_id=matter.pk)
    return render(request, "litigation/office/matter_costs.html", _matter_costs_context(request, matter, **{form_key: form}), status=400)


@require_POST
def recovery_create(request, matter_id):
    """Record court costs got back from the debtor (costs.record_recovery)."""

    def record(matter, data):
        return cost_rules.record_recovery(
            matter=matter,
            amount=data["amount"],
            received_on=data["received_on"],
            source=data["source"],
            by=request.user,
            received_by_firm=data.get("received_by_firm", False),
            note=data["note"],
            request=request,
        )

    def success(recovery):
        return _("%(amount)s of court costs recovered recorded on %(matter)s.") % {
            "amount": format_cny(recovery.amount),
            "matter": recovery.matter.number,
        }

    return _record_on_matter(request, matter_id, RecoveryForm, record, success, "recovery_form")


@require_POST
def cost_create(request, matter_id):
    def record(matter, data):
        return cost_rules.record_cost(
            matter=matter,
            kind=data["kind"],
            amount=data["amount"],
            incurred_on=data["incurred_on"],
            by=request.user,
            paid_by_firm=data.get("paid_by_firm", False),
            recoverable=data["recoverable"],
            note=data["note"],
            request=request,
        )

    def success(cost):
        return _("%(kind)s of %(amount)s recorded on %(matter)s.") % {
            "kind": CostKind(cost.kind).label,
            "amount": format_cny(cost.amount),
            "matter": cost.matter.number,
        }

    return _record_on_matter(request, matter_id, CostForm, record, success, "form")


def _lender_costs(request, principal):
    """The cost lines the viewer may see, with the page's filters (kind, firm)."""
    lines = LegalCost.objects.filter(matter__in=_figures_scope(principal).values("pk"))
    kind = request.GET.get("kind", "")
    if kind in CostKind.values:
        lines = lines.filter(kind=kind)
    else:
        kind = ""
    firm = request.GET.get("firm", "") if principal.is_lender_staff else ""
    if firm == "inhouse":
        lines = lines.filter(matter__firm__isnull=True)
    elif firm and firm in {str(pk) for pk in engaged_law_firms().values_list("pk", flat=True)}:
        lines = lines.filter(matter__firm_id=firm)
    else:
        firm = ""
    return lines, kind, firm


def costs(request):
    principal = _require_any(request, "legalcost.record", "pipeline.view")
    lines, kind, firm = _lender_costs(request, principal)
    months = cost_rules.monthly(lines)
    kinds_shown = [(value, label) for value, label in CostKind.choices if any(value in m["kinds"] for m in months)]
    for month in months:
        month["cells"] = [month["kinds"].get(value) for value, _label in kinds_shown]
    return render(
        request,
        "litigation/office/costs.html",
        {
            "totals": cost_rules.totals(lines),
            "months": months,
            "kinds_shown": kinds_shown,
            "recent": lines.select_related("matter", "matter__firm", "recorded_by").order_by("-incurred_on", "-recorded_at")[:RECENT_COSTS],
            "recent_limit": RECENT_COSTS,
            "kinds": CostKind.choices,
            "kind": kind,
            "firms": list(engaged_law_firms().values_list("pk", "name")) if principal.is_lender_staff else [],
            "firm": firm,
            "query": request.GET.urlencode(),
        },
    )


def costs_export(request):
    principal = _require_any(request, "legalcost.record", "pipeline.view")
    lines, kind, firm = _lender_costs(request, principal)
    table = cost_rules.export_rows(lines)
    record(Action.EXPORT, request=request, object_type="litigation.legalcost", object_id="costs", rows=len(table) - 1, kind=kind, firm=firm)
    return attachment(csv_bytes(table), f"legal-costs-{timezone.localdate():%Y%m%d}.csv", "text/csv; charset=utf-8")


# ----------------------------------------------------------------- settings: plaintiff, fee agreements


def _agreement_rows():
    engaged = set(engaged_law_firms().values_list("pk", flat=True))
    return [
        {"agreement": agreement, "engaged": agreement.firm_id in engaged}
        for agreement in LegalFeeAgreement.objects.select_related("firm", "created_by").order_by("firm__name")
    ]


def legal_settings(request):
    access.require(request, "legal.manage", lender_only=True)
    profile = PlaintiffProfile.objects.filter(pk=1).first()
    initial = None if profile else {"name": request.tenant.name}
    form = PlaintiffForm(request.POST or None, instance=profile, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.pk = 1
        saved.updated_by = request.user
        saved.save()
        record(Action.CHANGE if profile else Action.CREATE, request=request, obj=saved, event="plaintiff_profile", fields=form.changed_data)
        messages.success(request, _("The plaintiff's particulars are saved; packets built from now on print them."))
        return redirect("legal:settings")
    free_firms = engaged_law_firms(request.tenant).exclude(pk__in=LegalFeeAgreement.objects.values("firm_id"))
    return render(
        request,
        "litigation/office/settings.html",
        {"form": form, "profile": profile, "agreements": _agreement_rows(), "can_add_agreement": free_firms.exists()},
        status=400 if request.method == "POST" else 200,
    )


def fee_agreement_create(request):
    access.require(request, "legal.manage", lender_only=True)
    form = FeeAgreementForm(request.POST or None, lender=request.tenant)
    if request.method == "POST" and form.is_valid():
        agreement = form.save(commit=False)
        agreement.created_by = request.user
        agreement.save()
        record(Action.CREATE, request=request, obj=agreement, event="fee_agreement", firm=agreement.firm.name)
        messages.success(request, _("Fee agreement with %(firm)s recorded.") % {"firm": agreement.firm.name})
        return redirect("legal:settings")
    return render(
        request,
        "litigation/office/fee_agreement_form.html",
        {"form": form, "agreement": None, "can_choose": form.fields["firm"].queryset.exists()},
        status=400 if request.method == "POST" else 200,
    )


def fee_agreement_edit(request, fee_agreement_id):
    access.require(request, "legal.manage", lender_only=True)
    agreement = LegalFeeAgreement.objects.select_related("firm").filter(pk=fee_agreement_id).first()
    if agreement is None:
        raise access.not_found(request, "litigation.legalfeeagreement", fee_agreement_id)
    form = FeeAgreementForm(request.POST or None, instance=agreement, lender=request.tenant)
    if request.method == "POST" and form.is_valid():
        form.save()
        record(Action.CHANGE, request=request, obj=agreement, event="fee_agreement", firm=agreement.firm.name, fields=form.changed_data)
        messages.success(
            request, _("Fee agreement with %(firm)s updated; it applies to matters escalated from now on.") % {"firm": agreement.firm.name}
        )
        return redirect("legal:settings")
    open_matters = Matter.objects.filter(firm=agreement.firm).exclude(stage=Stage.CLOSED).count()
    return render(
        request,
        "litigation/office/fee_agreement_form.html",
        {"form": form, "agreement": agreement, "open_matters": open_matters},
        status=400 if request.method == "POST" else 200,
    )


# ----------------------------------------------------------------- court-fee calculator


def _bracket_rows(table: court_fees.BracketTable) -> list[dict]:
    """A fee table in words: the flat fee up to the first limit, then each slice and its rate (lower bound exclusive)."""
    rows = [{"above": None, "up_to": table.floor_limit, "rate": None, "flat": table.floor_fee}]
    lower = table.floor_limit
    for upper, rate in table.slices:
        rows.append({"above": lower, "up_to": upper, "rate": _quantize(rate * 100, "0.01").normalize(), "flat": None})
        lower = upper
    return rows


def court_fee_calculator(request):
    access.require(request, "courtfee.calculate")
    form = CourtFeeForm(request.GET or None)
    result = payable = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = court_fees.court_fees(data["amount"], preserved=data.get("preserved"))
            payable = court_fees.payable_acceptance_fee(
                data["amount"], procedure=data["procedure"], mediated=data["mediated"], withdrawn=data["withdrawn"]
            )
        except (TypeError, ValueError) as error:
            form.add_error(None, str(error))
            result = payable = None
    halved = bool(
        form.is_bound
        and form.is_valid()
        and (form.cleaned_data["procedure"] != "ordinary" or form.cleaned_data["mediated"] or form.cleaned_data["withdrawn"])
    )
    return render(
        request,
        "litigation/office/court_fees.html",
        {
            "form": form,
            "result": result,
            "payable": payable,
            "halved": halved,
            "acceptance_table": _bracket_rows(court_fees.ACCEPTANCE),
            "preservation_table": _bracket_rows(court_fees.PRESERVATION),
            "enforcement_table": _bracket_rows(court_fees.ENFORCEMENT),
            "preservation_cap": court_fees.PRESERVATION.cap,
        },
    )
