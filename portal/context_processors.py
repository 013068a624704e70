"""What the base layout needs: who is acting, where, and the navigation for their roles."""
from django.utils.translation import gettext_lazy as _

from portal import access
from portal.middleware import is_public_request

NAV = [
    # (label, url name, action required, where)
    (_("Dashboard"), "home", None, "tenant"),
    (_("Cases"), "case-list", "case.list", "tenant"),
    (_("My queue"), "workbench-queue", "workbench.work", "tenant"),
    (_("Assign cases"), "workbench-assign", "workbench.assign", "tenant"),
    (_("Field visits"), "workbench-visits", "fieldvisit.decide", "tenant"),
    (_("Import"), "intake-home", "case.import", "tenant"),
    (_("Agreements"), "outsourcing:agreement-list", "agreement.manage", "tenant"),
    (_("Allocation"), "outsourcing:allocation", "placement.manage", "tenant"),
    (_("Placements"), "outsourcing:placement-list", "placement.view", "tenant"),
    (_("Payments"), "payment-list", "payment.view", "tenant"),
    (_("Partners"), "engagements", "engagement.manage", "tenant"),
    (_("Contact rules"), "workbench-policy", "engagement.manage", "tenant"),
    (_("Team"), "team", "team.manage", "tenant"),
    (_("Audit log"), "audit-log", "audit.view", "tenant"),
    (_("Lenders"), "platform-lenders", "platform.manage", "public"),
    (_("Partners"), "platform-organisations", "platform.manage", "public"),
]


def shell(request):
    principal = getattr(request, "principal", None)
    public = is_public_request(request)
    where = "public" if public else "tenant"
    nav = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        for label, name, action, place in NAV:
            if place != where:
                continue
            if action is None and principal is None:
                continue
            if action is not None and not access.can(principal, action):
                continue
            nav.append({"label": label, "name": name})
    return {
        "principal": principal,
        "is_public_host": public,
        "workspace": None if public else getattr(request, "tenant", None),
        "nav": nav,
    }
