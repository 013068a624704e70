import datetime
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from outsourcing.forms import ManualPlacementForm, engaged_agencies
from outsourcing.models import Placement
from portal import access, case_panels, limitation
from portal.audit.log import Action, record
from portal.buckets import BUCKETS, condition as bucket_condition
from portal.lib.keyset import paginate
from portal.models import CaseStatus
from portal.payments import hooks as payment_hooks
from portal.payments.models import Payment
from tenants.models import EngagementStatus

MAX_EVIDENCE = 50  # limitation events shown on the case page, newest first
MAX_BALANCES = 20  # balance snapshots shown
LIMITATION_WARNING_DAYS = 180  # a date closer than this is flagged: time to demand payment or file (民法典 art. 195)


LIMITATION_DUE = {
    "expired": gettext_lazy("Expired"),
    "30": gettext_lazy("Within 30 days"),
    "90": gettext_lazy("Within 90 days"),
    "180": gettext_lazy("Within 180 days"),
    "365": gettext_lazy("Within a year"),
}
# The manual placement page reads at most 2,000 contract numbers from one submission
# (outsourcing.forms.ManualPlacementForm.contract_numbers): a bigger selection is refused, never cut silently.
BULK_PLACE_LIMIT = 2000


@dataclass
class CaseFilters:
    """The case list's filters, from GET parameters (kept across pages and into the bulk selection)."""

    q: str = ""
    buckets: list = field(default_factory=list)
    status: str = ""
    product: str = ""
    partner: uuid.UUID | None = None  # placed with this agency now (lender staff only)
    limitation: str = ""  # a LIMITATION_DUE key (lender staff only)

    def as_query(self) -> list[tuple[str, str]]:
        pairs = (
            [("q", self.q)]
            + [("bucket", b) for b in self.buckets]
            + [("status", self.status), ("product", self.product), ("partner", str(self.partner or "")), ("limitation", self.limitation)]
        )
        return [(key, value) for key, value in pairs if value]

    @property
    def any(self) -> bool:
        return bool(self.as_query())


def parse_case_filters(params, *, lender_view: bool) -> CaseFilters:
    """Only known values pass; anything else is ignored (a filter never errors, it just does not apply)."""
    filters = CaseFilters(
        q=params.get("q", "").strip()[:64],
        buckets=[b for b in BUCKETS if b in params.getlist("bucket")],
        status=params.get("status", "") if params.get("status", "") in CaseStatus.values else "",
        product=params.get("product", "").strip()[:100],
    )
    if lender_view:
        try:
            filters.partner = uuid.UUID(params.get("partner", ""))
        except ValueError:
            filters.partner = None
        filters.limitation = params.get("limitation", "") if params.get("limitation", "") in LIMITATION_DUE else ""
    return filters


def apply_case_filters(cases, filters: CaseFilters, *, now):
    """Cheap conditions only, for a million cases: buckets as date ranges on the indexed overdue_since,
    the indexed status, the partner as an EXISTS on its active placements (the partner index), dates as ranges."""
    today = timezone.localdate(now)
    if filters.q:
        cases = cases.filter(Q(contract_no__istartswith=filters.q) | Q(debtor__name__icontains=filters.q))
    if filters.buckets:
        cases = cases.filter(bucket_condition(filters.buckets, today=today))
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.product:
        cases = cases.filter(product=filters.product)
    if filters.partner:
        cases = cases.filter(Exists(Placement.objects.active(at=now).filter(case=OuterRef("pk"), partner_id=filters.partner)))
    if filters.limitation == "expired":  # 诉讼时效 passed (民法典 art. 188): the debtor may refuse to pay
        cases = cases.filter(limitation_expires_on__lt=today)
    elif filters.limitation:
        cases = cases.filter(
            limitation_expires_on__gte=today, limitation_expires_on__lte=today + datetime.timedelta(days=int(filters.limitation))
        )
    return cases


def _filtered_cases(request, filters):
    return apply_case_filters(access.visible_cases(request.principal), filters, now=timezone.now())


def _can_select(principal) -> bool:
    """The bulk selection feeds placement and escalation to litigation: lender staff who may do either."""
    return principal.is_lender_staff and (access.can(principal, "placement.manage") or access.can(principal, "matter.escalate"))


def case_list(request):
    access.require(request, "case.list")
    if request.method == "POST":  # the bulk selection, posted to the list it was made on
        return case_bulk(request)
    principal = request.principal
    lender_view = principal.is_lender_staff
    filters = parse_case_filters(request.GET, lender_view=lender_view)
    cases = _filtered_cases(request, filters).select_related("debtor")
    # The limitation filters match the oldest cases: pick the page's ids through the limitation index first.
    page = paginate(cases, time_field="created_at", cursor=request.GET.get("cursor"), ids_first=bool(filters.limitation))
    template = "portal/partials/case_rows.html" if request.htmx else "portal/case_list.html"
    context = {
        "page": page,
        "q": filters.q,
        "filters": filters,
        "query": urlencode(filters.as_query()),
        "hide_amounts": not access.can(principal, "case.view_amounts"),
        "can_select": _can_select(principal),
        "can_place": access.can(principal, "placement.manage"),
        "can_escalate": access.can(principal, "matter.escalate"),
        "columns": 6 + access.can(principal, "case.view_amounts") + _can_select(principal),
        "buckets": BUCKETS,
        "statuses": CaseStatus.choices,
        "lender_view": lender_view,
    }
    if lender_view and not request.htmx:
        context["partners"] = engaged_agencies(request.tenant, statuses=EngagementStatus.values)
        context["limitation_choices"] = list(LIMITATION_DUE.items())
    return render(request, template, context)


def case_bulk(request):
    """The case list's selection (ticked cases, or every case matching the filter) handed to the manual
    placement page: the agency is chosen here and the placement itself is the existing flow's."""
    principal = request.principal
    if not _can_select(principal):
        record(Action.ACCESS_DENIED, request=request, object_type="action", object_id="placement.manage|matter.escalate")
        raise PermissionDenied
    filters = parse_case_filters(request.POST, lender_view=True)
    cases = _filtered_cases(request, filters)
    if request.POST.get("select_all") != "1":
        ids = []
        for value in request.POST.getlist("case")[: BULK_PLACE_LIMIT + 1]:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                continue
        cases = cases.filter(pk__in=ids)
    numbers = list(cases.order_by("contract_no").values_list("contract_no", flat=True)[: BULK_PLACE_LIMIT + 1])
    back = reverse("case-list") + (f"?{urlencode(filters.as_query())}" if filters.any else "")
    if not numbers:
        messages.error(request, _("Choose at least one case."))
        return redirect(back)
    if len(numbers) > BULK_PLACE_LIMIT:
        messages.error(
            request,
            _("More than %(limit)s cases are selected; place at most %(limit)s at once. Narrow the filter.")
            % {"limit": f"{BULK_PLACE_LIMIT:,}"},
        )
        return redirect(back)
    # The manual placement page's own form, posted to it: its partner list, its checks, its messages; and the
    # escalation page (litigation), which shows the cases' hints and takes the legal team.
    can_place = access.can(principal, "placement.manage")
    form = ManualPlacementForm(lender=request.tenant) if can_place else None
    return render(
        request,
        "portal/case_bulk.html",
        {
            "form": form,
            "can_place": can_place,
            "can_escalate": access.can(principal, "matter.escalate"),
            "count": len(numbers),
            "contracts": " ".join(numbers),
            "back": back,
        },
    )


def case_detail(request, case_id):
    access.require(request, "case.view")
    case = access.get_visible_case(request.principal, case_id, request=request)
    hide_amounts = not access.can(request.principal, "case.view_amounts")  # partners: see access.PERMISSIONS
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=case, case_id=case.pk, debt_details=not hide_amounts)
    placements = Placement.objects.filter(case=case).select_related("partner", "assigned_to")
    if request.principal.is_partner:
        placements = placements.filter(partner=request.principal.organisation)
    payments, events, balances, setting = [], [], [], None
    # The lender's payments on the case: amounts and bank references are not a partner's (see access.PERMISSIONS).
    if (
        not hide_amounts
        and access.can(request.principal, "payment.view")
        and access.can(request.principal, "payment.view_amounts")
        and access.can(request.principal, "payment.view_reference")
    ):
        rows = list(
            Payment.objects.filter(case=case).with_effective_split().select_related("reversal").order_by("-paid_on", "-recorded_at")
        )
        notes = payment_hooks.annotations([p.pk for p in rows])
        payments = [(payment, notes.get(payment.pk, {}) | {"reversed": hasattr(payment, "reversal")}) for payment in rows]
    if not hide_amounts:
        # The evidence behind the limitation date (诉讼时效), withdrawn items shown as such, and the balance history.
        events = list(case.limitation_events.all()[:MAX_EVIDENCE])
        _expiry, setting = limitation.expiry_from((e.kind, e.occurred_on) for e in events if e.withdrawn_at is None)
        balances = list(case.balance_history.all()[:MAX_BALANCES])
    days_left = (case.limitation_expires_on - timezone.localdate()).days if case.limitation_expires_on else None
    return render(
        request,
        "portal/case_detail.html",
        {
            "case": case,
            "placements": placements,
            "can_reveal": access.can(request.principal, "case.reveal_id"),
            "hide_amounts": hide_amounts,
            "payments": payments,
            "events": events,
            "setting": setting,
            "days_left": days_left,
            "balances": balances,
            "limitation_warning_days": LIMITATION_WARNING_DAYS,
            "address": access.address_for(request.principal, case.debtor.address),  # the workbench's rule, one function
            "panels": case_panels.panels_for(request, case),  # e.g. outsourcing's collection history, for lender staff
        },
    )


@require_POST
def reveal_id_number(request, case_id):
    """Show the full ID number once, to a role that needs it, and audit it (ASVS 14.2.6)."""
    access.require(request, "case.reveal_id")
    case = access.get_visible_case(request.principal, case_id, request=request)
    record(Action.REVEAL, request=request, obj=case.debtor, case_id=case.pk, field="id_number")
    return render(request, "portal/partials/revealed_id.html", {"value": case.debtor.id_number})
