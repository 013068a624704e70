"""Outsourcing pages on a lender's host: agreements, allocation, placements, recalls and holds.

Thin: parse, ask portal.access, call one function of agreements / allocation /
placement, render. A partner sees a placement only while it is in force and
its own; anything else is a 404 (never confirm that something exists).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_POST

from portal import access, errors
from portal.jobs.models import Job
from portal.lib.keyset import paginate
from portal.models import Case
from tenants.models import EngagementStatus

from . import agreements, allocation, placement
from .forms import (
    AgreementForm,
    AllocationForm,
    CaseFilterForm,
    HoldDecisionForm,
    HoldRequestForm,
    ManualPlacementForm,
    RecallForm,
    engaged_agencies,
    round_label,
    uuids,
)
from .models import (
    BUCKETS,
    ROUNDS,
    Agreement,
    AllocationBatch,
    BatchStatus,
    HoldRequest,
    HoldStatus,
    Placement,
    PlacementStatus,
    last_local_day,
)

MANUAL_LIST_SIZE = 50


def _not_found(request, object_type, object_id):
    raise access.not_found(request, object_type, object_id)


# ----------------------------------------------------------------- agreements


def agreement_list(request):
    access.require(request, "agreement.manage", lender_only=True)
    lender = request.tenant
    statuses = (EngagementStatus.ACTIVE, EngagementStatus.PENDING, EngagementStatus.SUSPENDED)
    by_partner = {a.partner_id: a for a in Agreement.objects.all()}
    active = placement.active_counts(list(by_partner), now=timezone.now())
    rows = []
    for agency in engaged_agencies(lender, statuses=statuses):
        agreement = by_partner.get(agency.pk)
        version = agreement.current_version if agreement else None
        rows.append(
            {
                "agency": agency,
                "agreement": agreement,
                "version": version,
                "licensed": access.may_receive_cases(agency),
                "engaged": agency.engagements.filter(lender=lender, status=EngagementStatus.ACTIVE).exists(),
                "active": active.get(agency.pk, 0),
            }
        )
    return render(request, "outsourcing/agreement_list.html", {"rows": rows})


def agreement_create(request):
    access.require(request, "agreement.manage", lender_only=True)
    initial = {}
    if request.GET.get("partner"):
        initial["partner"] = request.GET["partner"]
    form = AgreementForm(request.POST or None, lender=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = agreements.create_agreement(
                partner=form.cleaned_data["partner"],
                created_by=request.user,
                terms=form.terms(),
                reference=form.cleaned_data["reference"],
                request=request,
            )
        except ValidationError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("Agreement with %(partner)s created.") % {"partner": agreement.partner.name})
            return redirect("outsourcing:agreement-detail", agreement_id=agreement.pk)
    return render(request, "outsourcing/agreement_form.html", {"form": form})


def agreement_detail(request, agreement_id):
    access.require(request, "agreement.manage", lender_only=True)
    agreement = Agreement.objects.filter(pk=agreement_id).select_related("partner").first()
    if agreement is None:
        _not_found(request, "outsourcing.agreement", agreement_id)
    current = agreement.current_version
    if request.method == "POST":
        form = AgreementForm(request.POST, revising=True)
        if form.is_valid():
            try:
                version = agreements.revise_agreement(agreement=agreement, created_by=request.user, terms=form.terms(), request=request)
            except ValidationError as error:
                form.show_errors(error)
            else:
                messages.success(
                    request, _("Version %(number)s is in force; it applies to placements made from now on.") % {"number": version.number}
                )
                return redirect("outsourcing:agreement-detail", agreement_id=agreement.pk)
    else:
        form = AgreementForm(revising=True, initial=AgreementForm.initial_from(agreements.terms_of(current)) if current else None)
    versions = list(agreement.versions.select_related("created_by").annotate(placed=Count("placements")).prefetch_related("rates"))
    grid = []
    if current:
        schedule = current.schedule()
        grid = [(bucket, [schedule[bucket].get(r) for r in ROUNDS]) for bucket in BUCKETS]
    return render(
        request,
        "outsourcing/agreement_detail.html",
        {
            "agreement": agreement,
            "current": current,
            "versions": versions,
            "form": form,
            "grid": grid,
            "round_labels": [round_label(r) for r in ROUNDS],
            "licensed": access.may_receive_cases(agreement.partner),
            "active": placement.active_counts([agreement.partner_id], now=timezone.now()).get(agreement.partner_id, 0),
        },
    )


# ----------------------------------------------------------------- allocation


def _allocation_form(request, data=None, initial=None):
    regions, products = allocation.facets()
    return AllocationForm(data, initial=initial, regions=regions, products=products, agencies=engaged_agencies(request.tenant))


def allocation_page(request):
    access.require(request, "placement.manage", lender_only=True)
    if request.method == "POST":
        form = _allocation_form(request, request.POST)
        if form.is_valid():
            try:
                batch = allocation.prepare_batch(
                    rules=form.rules(), seed=form.cleaned_data.get("seed"), created_by=request.user, request=request
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("outsourcing:allocation-batch", batch_id=batch.pk)
    else:
        initial = None
        source = AllocationBatch.objects.filter(pk__in=uuids([request.GET.get("from", "")])).first()
        if source is not None:
            initial = AllocationForm.initial_from(source.rules, source.seed)
        form = _allocation_form(request, initial=initial)
    agencies = form.agencies
    agreements_by = {a.partner_id: a for a in Agreement.objects.filter(partner__in=agencies)}
    active = placement.active_counts([a.pk for a in agencies], now=timezone.now())
    facts = {}
    for agency in agencies:
        agreement = agreements_by.get(agency.pk)
        version = agreement.current_version if agreement else None
        facts[agency.pk] = {
            "licensed": access.may_receive_cases(agency),
            "agreement": agreement,
            "version": version,
            "free": max(0, version.capacity - active.get(agency.pk, 0)) if version else 0,
        }
    rows = [(agency, include, share, challenger, facts[agency.pk]) for agency, include, share, challenger in form.agency_rows()]
    recent = AllocationBatch.objects.select_related("created_by")[:10]
    return render(request, "outsourcing/allocation.html", {"form": form, "rows": rows, "recent": recent})


def _batch(request, batch_id):
    batch = AllocationBatch.objects.filter(pk=batch_id).select_related("created_by", "committed_by").first()
    if batch is None:
        _not_found(request, "outsourcing.allocationbatch", batch_id)
    return batch


def _rules_summary(rules):
    """The rules in words, for the preview page."""
    filters = (rules or {}).get("filters") or {}
    low, high = filters.get("min_balance"), filters.get("max_balance")
    if low and high:
        balance = _("balance ¥%(low)s – ¥%(high)s") % {"low": low, "high": high}
    elif low:
        balance = _("balance from ¥%(low)s") % {"low": low}
    elif high:
        balance = _("balance up to ¥%(high)s") % {"high": high}
    else:
        balance = _("any balance")
    return [
        ", ".join(filters.get("buckets") or []) or _("every bucket"),
        ", ".join(filters.get("regions") or []) or _("every region"),
        ", ".join(filters.get("products") or []) or _("every product"),
        balance,
        _("split by free capacity") if (rules or {}).get("mode") == "capacity" else _("split by percentage"),
    ]


def _batch_context(batch):
    preview = batch.preview or {}
    groups = preview.get("groups", [])
    biggest = max((g["count"] for g in groups), default=0)
    for group in groups:
        group["bar"] = round(group["count"] * 100 / biggest) if biggest else 0
    refusals = [placement.message_for(r["code"], r.get("params")) for r in preview.get("refusals", [])]
    error = ""
    if batch.error:
        error = "; ".join(placement.message_for(e["code"], e.get("params")) for e in batch.error.get("all", [batch.error]))
    job = Job.objects.filter(pk=batch.job_id).first() if batch.job_id else None
    return {
        "batch": batch,
        "preview": preview,
        "groups": groups,
        "refusals": refusals,
        "error": error,
        "job": job,
        "challenger": bool((batch.rules or {}).get("challenger")),
        "left_out_total": sum((preview.get("left_out") or {}).values()),
        "rules_summary": _rules_summary(batch.rules),
        "can_commit": batch.status == BatchStatus.PREVIEWED and not refusals and preview.get("assigned", 0) > 0,
        "in_force": Placement.objects.active().filter(batch=batch).count() if batch.status == BatchStatus.COMMITTED else 0,
    }


def allocation_batch(request, batch_id):
    access.require(request, "placement.manage", lender_only=True)
    batch = _batch(request, batch_id)
    return render(request, "outsourcing/allocation_batch.html", _batch_context(batch))


def allocation_progress(request, batch_id):
    access.require(request, "placement.manage", lender_only=True)
    batch = _batch(request, batch_id)
    return render(request, "outsourcing/partials/batch_status.html", _batch_context(batch))


@require_POST
def allocation_commit(request, batch_id):
    access.require(request, "placement.manage", lender_only=True)
    batch = _batch(request, batch_id)
    if request.POST.get("action") == "discard":
        if allocation.discard(batch=batch, by=request.user, request=request):
            messages.info(request, _("The preview was discarded; nothing was placed."))
        return redirect("outsourcing:allocation")
    try:
        job = allocation.start_commit(batch=batch, by=request.user, organisation=request.principal.organisation, request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        if job is None:
            batch.refresh_from_db()
            count = batch.placed_count
            messages.success(request, ngettext("%(count)s case placed.", "%(count)s cases placed.", count) % {"count": count})
        else:
            messages.info(request, _("Placing the cases in the background; this page shows the progress."))
    return redirect("outsourcing:allocation-batch", batch_id=batch.pk)


# ----------------------------------------------------------------- manual placement


def manual_placement(request):
    access.require(request, "placement.manage", lender_only=True)
    regions, products = allocation.facets()
    filter_form = CaseFilterForm(request.GET or None, regions=regions, products=products)
    filters = filter_form.filters() if filter_form.is_valid() else {}
    form = ManualPlacementForm(request.POST or None, lender=request.tenant)
    if request.method == "POST" and form.is_valid():
        case_ids = set(uuids(request.POST.getlist("case")))
        numbers = form.contract_numbers()
        if numbers:
            found = dict(Case.objects.filter(contract_no__in=numbers).values_list("contract_no", "pk"))
            unknown = [n for n in numbers if n not in found]
            if unknown:
                form.add_error("contracts", _("No case has the contract number %(numbers)s.") % {"numbers": ", ".join(unknown[:10])})
            case_ids.update(found.values())
        if not form.errors:
            try:
                placed = placement.place_cases(
                    cases=sorted(case_ids), partner=form.cleaned_data["partner"], placed_by=request.user, request=request
                )
            except ValidationError as error:
                errors.to_messages(request, error)
            else:
                messages.success(
                    request,
                    ngettext("%(count)s case placed with %(partner)s.", "%(count)s cases placed with %(partner)s.", len(placed))
                    % {"count": len(placed), "partner": form.cleaned_data["partner"].name},
                )
                return redirect(reverse("outsourcing:placement-list") + f"?partner={form.cleaned_data['partner'].pk}")
    listed = allocation.candidates(filters, now=timezone.now()).select_related("debtor")
    page = paginate(listed, time_field="created_at", cursor=request.GET.get("cursor"), size=MANUAL_LIST_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    template = "outsourcing/partials/manual_rows.html" if request.htmx else "outsourcing/manual.html"
    return render(request, template, {"form": form, "filter_form": filter_form, "page": page, "query": query.urlencode()})


# ----------------------------------------------------------------- placements


def _placements_for(principal):
    """Lender staff: every placement. An agency: its own, only while in force, only of cases it may see."""
    if principal.is_lender_staff:
        return Placement.objects.all()
    return Placement.objects.active().filter(partner=principal.organisation, case__in=access.visible_cases(principal))


def placement_list(request):
    access.require(request, "placement.view")
    principal = request.principal
    placements = _placements_for(principal).select_related("case", "case__debtor", "partner")
    status = request.GET.get("status", "active")
    partner_id = (uuids([request.GET.get("partner", "")]) or [None])[0]
    batch_id = (uuids([request.GET.get("batch", "")]) or [None])[0]
    query = request.GET.get("q", "").strip()[:64]
    if principal.is_lender_staff:
        if status == "active":
            placements = placements.active()
        elif status == "ended":
            placements = placements.filter(
                Q(status__in=[PlacementStatus.RECALLED, PlacementStatus.EXPIRED, PlacementStatus.RETURNED]) | Q(ends_at__lte=timezone.now())
            )
        if partner_id:
            placements = placements.filter(partner_id=partner_id)
        if batch_id:
            placements = placements.filter(batch_id=batch_id)
    if query:
        placements = placements.filter(case__contract_no__istartswith=query)
    page = paginate(placements, time_field="starts_at", cursor=request.GET.get("cursor"))
    context = {
        "page": page,
        "status": status,
        "partner_id": partner_id,
        "batch_id": batch_id,
        "q": query,
        "can_manage": access.can(principal, "placement.manage") and principal.is_lender_staff,
        "filter_query": request.GET.copy(),
    }
    context["filter_query"].pop("cursor", None)
    context["filter_query"] = context["filter_query"].urlencode()
    if request.htmx:
        return render(request, "outsourcing/partials/placement_rows.html", context)
    if context["can_manage"]:
        context["partners"] = engaged_agencies(
            request.tenant, statuses=(EngagementStatus.ACTIVE, EngagementStatus.SUSPENDED, EngagementStatus.ENDED)
        )
        context["pending_holds"] = (
            HoldRequest.objects.filter(status=HoldStatus.PENDING, placement__in=Placement.objects.active())
            .select_related("placement", "placement__case", "placement__partner", "requested_by")
            .order_by("placement__ends_at")[:50]
        )
        context["recall_form"] = RecallForm()
        context["decision_form"] = HoldDecisionForm()
    return render(request, "outsourcing/placement_list.html", context)


def _placement(request, placement_id):
    placement_obj = (
        _placements_for(request.principal)
        .filter(pk=placement_id)
        .select_related("case", "case__debtor", "partner", "agreement_version", "batch", "placed_by", "ended_by")
        .first()
    )
    if placement_obj is None:
        _not_found(request, "outsourcing.placement", placement_id)
    return placement_obj


def placement_detail(request, placement_id):
    access.require(request, "placement.view")
    placement_obj = _placement(request, placement_id)
    principal = request.principal
    can_manage = access.can(principal, "placement.manage") and principal.is_lender_staff
    can_hold = access.can(principal, "placement.request_hold") and principal.is_partner
    latest = placement.latest_hold_end(placement_obj)
    return render(
        request,
        "outsourcing/placement_detail.html",
        {
            "placement": placement_obj,
            "holds": placement_obj.hold_requests.select_related("requested_by", "decided_by"),
            "in_force": placement_obj.in_force(),
            "can_manage": can_manage,
            "can_hold": can_hold,
            "recall_form": RecallForm(),
            "hold_form": HoldRequestForm(),
            "decision_form": HoldDecisionForm(),
            "latest_hold": last_local_day(latest),
            "pending_hold": placement_obj.hold_requests.filter(status=HoldStatus.PENDING).exists(),
            "show_amounts": access.can(principal, "case.view_amounts"),
        },
    )


@require_POST
def placement_recall(request):
    access.require(request, "placement.manage", lender_only=True)
    form = RecallForm(request.POST)
    selected = Placement.objects.filter(pk__in=uuids(request.POST.getlist("placement")))
    batch_ids = uuids([request.POST.get("batch", "")])
    if batch_ids:
        selected = Placement.objects.filter(batch_id=batch_ids[0])
    back = request.POST.get("next", "")
    back = back if back.startswith("/outsourcing/") else reverse("outsourcing:placement-list")
    if not form.is_valid():
        messages.error(request, _("Say why the cases are recalled."))
        return redirect(back)
    try:
        count = placement.recall_placements(placements=selected, by=request.user, reason=form.cleaned_data["reason"], request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s placement recalled; the agency no longer sees the case.",
                "%(count)s placements recalled; the agency no longer sees those cases.",
                count,
            )
            % {"count": count},
        )
    return redirect(back)


@require_POST
def placement_hold_request(request, placement_id):
    access.require(request, "placement.request_hold")
    placement_obj = _placement(request, placement_id)
    if not request.principal.is_partner:
        raise PermissionDenied
    form = HoldRequestForm(request.POST)
    if form.is_valid():
        try:
            placement.request_hold(
                placement=placement_obj,
                by=request.user,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            errors.to_messages(request, error)
        else:
            messages.success(request, _("Hold requested; the lender decides."))
    else:
        for field_errors in form.errors.values():
            messages.error(request, field_errors[0])
    return redirect("outsourcing:placement-detail", placement_id=placement_obj.pk)


@require_POST
def hold_decide(request, hold_id):
    access.require(request, "placement.manage", lender_only=True)
    hold = HoldRequest.objects.filter(pk=hold_id).select_related("placement").first()
    if hold is None:
        _not_found(request, "outsourcing.holdrequest", hold_id)
    form = HoldDecisionForm(request.POST)
    back = request.POST.get("next", "")
    back = back if back.startswith("/outsourcing/") else reverse("outsourcing:placement-list")
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
        return redirect(back)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        placement.decide_hold(hold=hold, by=request.user, approve=approve, note=form.cleaned_data["note"], request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(request, _("Hold approved.") if approve else _("Hold refused."))
    return redirect(back)
