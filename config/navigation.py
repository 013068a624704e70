"""What the base layout needs: who is acting, where, and the navigation for their roles."""

from django.utils.translation import gettext_lazy as _

from portal import access
from portal.middleware import is_public_request

OUTSOURCING, LITIGATION, MONEY, SETTINGS = _("Outsourcing"), _("Litigation"), _("Money"), _("Settings")
NAV = [
    # (label, url name, action required, where, group): a group with one visible entry shows as a plain link.
    (_("Dashboard"), "home", None, "tenant", None),
    (_("Cases"), "case-list", "case.list", "tenant", None),
    (_("Import"), "intake-home", "case.import", "tenant", None),
    (_("My queue"), "workbench-queue", "workbench.work", "tenant", None),
    (_("Assign cases"), "workbench-assign", "workbench.assign", "tenant", None),
    (_("Agreements"), "outsourcing:agreement-list", "agreement.manage", "tenant", OUTSOURCING),
    (_("Allocation"), "outsourcing:allocation", "placement.manage", "tenant", OUTSOURCING),
    (_("Placements"), "outsourcing:placement-list", "placement.view", "tenant", OUTSOURCING),
    (_("Field visits"), "workbench-visits", "fieldvisit.decide", "tenant", OUTSOURCING),
    (_("Scorecards"), "outsourcing:scorecards", "scorecard.view", "tenant", OUTSOURCING),
    (_("Matters"), "litigation:matter-list", "matter.view", "tenant", LITIGATION),
    (_("Deadlines"), "legal:deadlines", "matter.view", "tenant", LITIGATION),
    (_("Batch packets"), "litigation-batch:packet-batch-new", "packet.build", "tenant", LITIGATION),
    (_("Pipeline"), "legal:pipeline", "pipeline.view", "tenant", LITIGATION),
    (_("Legal costs"), "legal:costs", "legalcost.record", "tenant", LITIGATION),
    (_("Court fees"), "legal:court-fees", "courtfee.calculate", "tenant", LITIGATION),
    (_("Payments"), "payment-list", "payment.view", "tenant", MONEY),
    (_("Statements"), "fees:statement-list", ("statement.view", "statement.review"), "tenant", MONEY),
    (_("Net recovery"), "ledger:net-recovery", "ledger.view", "tenant", MONEY),
    (_("Partners"), "engagements", "engagement.manage", "tenant", SETTINGS),
    (_("Contact rules"), "workbench-policy", "engagement.manage", "tenant", SETTINGS),
    (_("Litigation settings"), "legal:settings", "legal.manage", "tenant", SETTINGS),
    (_("Team"), "team", "team.manage", "tenant", SETTINGS),
    (_("Billing"), "billing", "subscription.manage", "tenant", SETTINGS),
    (_("Audit log"), "audit-log", "audit.view", "tenant", SETTINGS),
    (_("Lenders"), "platform-lenders", "platform.manage", "public", None),
    (_("Partners"), "platform-organisations", "platform.manage", "public", None),
    (_("Billing"), "platform-billing", "platform.manage", "public", None),
]


def _visible(principal, action, place, where) -> bool:
    if place != where:
        return False
    if action is None:
        return principal is not None
    actions = (action,) if isinstance(action, str) else action  # a tuple: any of them shows the entry
    return any(access.can(principal, one) for one in actions)


def shell(request):
    principal = getattr(request, "principal", None)
    public = is_public_request(request)
    where = "public" if public else "tenant"
    nav = []
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        groups = {}
        for label, name, action, place, group in NAV:
            if not _visible(principal, action, place, where):
                continue
            item = {"label": label, "name": name}
            if group is None:
                nav.append(item)
            elif group in groups:
                groups[group]["children"].append(item)
            else:
                groups[group] = {"label": group, "children": [item]}
                nav.append(groups[group])
        nav = [entry["children"][0] if "children" in entry and len(entry["children"]) == 1 else entry for entry in nav]
    return {
        "principal": principal,
        "is_public_host": public,
        "workspace": None if public else getattr(request, "tenant", None),
        "nav": nav,
    }
