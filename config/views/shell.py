"""Home pages: the lender workspace dashboard, the public workspace picker and work list."""

from django.db import connection
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.utils import timezone
from django_tenants.utils import tenant_context

from litigation import dashboard as legal_dashboard
from outsourcing.models import Placement
from portal import access
from portal.buckets import BUCKETS, bucket_for
from portal.middleware import is_public_request
from portal.models import Case
from tenants.models import Engagement, EngagementStatus, OrganisationKind


def home(request):
    if is_public_request(request):
        return public_home(request)
    return workspace_dashboard(request)


def workspace_dashboard(request):
    principal = request.principal
    cases = access.visible_cases(principal)
    today = timezone.localdate()
    # Money per bucket is the lender's; a partner's dashboard counts cases only (access: portfolio.view_amounts).
    show_amounts = access.can(principal, "portfolio.view_amounts")
    by_bucket = {b: {"count": 0, "balance": 0} for b in BUCKETS}
    measures = {"n": Count("pk")}
    if show_amounts:
        measures["balance"] = Sum(Case.balance_expression())
    for row in cases.values("overdue_since").annotate(**measures):
        bucket = bucket_for((today - row["overdue_since"]).days)
        if bucket in by_bucket:
            by_bucket[bucket]["count"] += row["n"]
            by_bucket[bucket]["balance"] += row.get("balance") or 0
    total = sum(b["count"] for b in by_bucket.values())
    context = {
        "case_count": total,
        "show_amounts": show_amounts,
        "buckets": [
            (name, data["count"], data["balance"] if show_amounts else None, (data["count"] * 100 // total) if total else 0)
            for name, data in by_bucket.items()
        ],
        "placed_count": Placement.objects.active().filter(case__in=cases).count() if total else 0,
    }
    if principal.is_lender_staff:
        context["engagements"] = Engagement.objects.filter(lender=request.tenant).select_related("partner")
        context["active_engagements"] = sum(1 for e in context["engagements"] if e.status == EngagementStatus.ACTIVE)
    else:
        context["my_placements"] = (
            Placement.objects.active()
            .filter(partner=principal.organisation, case__in=cases)
            .select_related("case", "case__debtor")
            .order_by("ends_at")[:10]
        )
    # The legal staff's working day (litigation.dashboard): deadlines, packets to review, matters to file.
    context["legal"] = legal_dashboard.working_day(principal, today=today)
    context["law_firm"] = principal.kind == OrganisationKind.LAW_FIRM
    return render(request, "portal/dashboard.html", context)


def public_home(request):
    if request.principal is not None and access.can(request.principal, "platform.manage"):
        return redirect("platform-lenders")
    workspaces = access.workspaces_for(request.user)
    worklist = partner_worklist(request.user)
    return render(request, "portal/workspaces.html", {"workspaces": workspaces, "worklist": worklist})


def partner_worklist(user, per_lender: int = 50):
    """The combined work list across every lender a partner serves.

    Built by querying each lender's schema in turn (through the same access
    rules as inside the workspace); no debtor data is copied to the public schema.
    """
    rows = []
    for principal in access.partner_principals(user):
        if not access.can(principal, "partner.worklist"):
            continue
        for lender in access.engaged_lenders(principal.organisation):
            scoped = access.Principal(user=user, organisation=principal.organisation, roles=principal.roles, lender=lender)
            with tenant_context(lender):
                placements = list(
                    Placement.objects.active()
                    .filter(partner=principal.organisation, case__in=access.visible_cases(scoped))
                    .select_related("case", "case__debtor")
                    .order_by("ends_at")[:per_lender]
                )
                for placement in placements:
                    rows.append(
                        {
                            "lender": lender,
                            "partner": principal.organisation,
                            "case": placement.case,
                            "debtor_name": placement.case.debtor.name,
                            "bucket": placement.case.bucket,
                            "ends_at": placement.ends_at,
                            "last_day": placement.last_day,
                        }
                    )  # no amount: a partner's lists carry none (case.view_amounts)
    connection.set_schema_to_public()
    rows.sort(key=lambda r: r["ends_at"])
    return rows
