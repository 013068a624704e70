from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from outsourcing.models import Placement
from portal import access, limitation
from portal.audit.log import Action, record
from portal.lib.keyset import paginate
from portal.payments import hooks as payment_hooks
from portal.payments.models import Payment


MAX_EVIDENCE = 50  # limitation events shown on the case page, newest first
MAX_BALANCES = 20  # balance snapshots shown
LIMITATION_WARNING_DAYS = 180  # a date closer than this is flagged: time to demand payment or file (民法典 art. 195)


def _require(request, action):
    if not access.can(request.principal, action):
        record(Action.ACCESS_DENIED, request=request, object_type="action", object_id=action)
        raise PermissionDenied


def case_list(request):
    _require(request, "case.list")
    cases = access.visible_cases(request.principal).select_related("debtor")
    query = request.GET.get("q", "").strip()[:64]
    if query:
        cases = cases.filter(Q(contract_no__istartswith=query) | Q(debtor__name__icontains=query))
    page = paginate(cases, time_field="created_at", cursor=request.GET.get("cursor"))
    template = "portal/partials/case_rows.html" if request.htmx else "portal/case_list.html"
    return render(request, template, {"page": page, "q": query, "hide_amounts": not access.can(request.principal, "case.view_amounts")})


def case_detail(request, case_id):
    _require(request, "case.view")
    case = access.get_visible_case(request.principal, case_id, request=request)
    hide_amounts = not access.can(request.principal, "case.view_amounts")  # partners: see access.PERMISSIONS
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=case, case_id=case.pk, debt_details=not hide_amounts)
    placements = Placement.objects.filter(case=case).select_related("partner", "assigned_to")
    if request.principal.is_partner:
        placements = placements.filter(partner=request.principal.organisation)
    payments, events, balances, setting = [], [], [], None
    if not hide_amounts and access.can(request.principal, "payment.view"):
        rows = list(Payment.objects.filter(case=case).select_related("reversal").order_by("-paid_on", "-recorded_at"))
        notes = payment_hooks.annotations([p.pk for p in rows])
        payments = [(payment, notes.get(payment.pk, {}) | {"reversed": hasattr(payment, "reversal")}) for payment in rows]
    if not hide_amounts:
        # The evidence behind the limitation date (诉讼时效), withdrawn items shown as such, and the balance history.
        events = list(case.limitation_events.all()[:MAX_EVIDENCE])
        _expiry, setting = limitation.expiry_from((e.kind, e.occurred_on) for e in events if e.withdrawn_at is None)
        balances = list(case.balance_history.all()[:MAX_BALANCES])
    days_left = (case.limitation_expires_on - timezone.localdate()).days if case.limitation_expires_on else None
    return render(request, "portal/case_detail.html", {
        "case": case, "placements": placements, "can_reveal": access.can(request.principal, "case.reveal_id"),
        "hide_amounts": hide_amounts, "payments": payments, "events": events, "setting": setting, "days_left": days_left,
        "balances": balances, "limitation_warning_days": LIMITATION_WARNING_DAYS,
    })


@require_POST
def reveal_id_number(request, case_id):
    """Show the full ID number once, to a role that needs it, and audit it (ASVS 14.2.6)."""
    _require(request, "case.reveal_id")
    case = access.get_visible_case(request.principal, case_id, request=request)
    record(Action.REVEAL, request=request, obj=case.debtor, case_id=case.pk, field="id_number")
    return render(request, "portal/partials/revealed_id.html", {"value": case.debtor.id_number})
