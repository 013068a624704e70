"""Read-only mode: a lender whose subscription is unpaid can read everything but change nothing.

Place right after ``portal.middleware.TenantAccessMiddleware``: anonymous visitors are sent to sign in first
and people with no standing in the workspace get its 404, so this refusal only ever speaks to the lender's own
staff and its partners. Safe methods (GET, HEAD, OPTIONS, TRACE) always pass; an unsafe one is refused with
HTTP 402 (Payment Required) and the reason — a page linking to the billing page, or ``{"errors": [...]}`` for the
integration API — except on ALLOWED_PREFIXES: signing in and out, two-factor, the hand-off into the workspace,
one's own account and password, the language switch, and the billing page's own actions (replace the card, pay).
The rule is the workspace's, so it binds everyone working in it: the lender's staff and its partners alike.

Background jobs: the rule is applied where work is *started*. Starting a job (import, batch packet, export…) is
a POST and is refused while read-only; a job a worker already runs was started before the lapse and finishes
(the worker does not re-check billing: stopping half-way would leave partial work and nothing is gained, since
the lender paid for the period in which it asked). Scheduled platform upkeep (limitation dates, placement
expiry, reminders) keeps running: it protects debtors and the lender's legal position, not the lender's wishes.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal import access
from portal.middleware import is_public_request
from subscriptions.state import state_for

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
ALLOWED_PREFIXES = ("/accounts/", "/auth/handoff/", "/i18n/", "/billing/")


def refusal_text(reason_code: str) -> str:
    from subscriptions.services import reason_text

    return _(
        "This workspace is read-only because %(reason)s. Everything can still be viewed and exported, but nothing "
        "can be changed until the subscription is paid."
    ) % {"reason": reason_text(reason_code)}


class ReadOnlyTenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS or is_public_request(request) or request.path.startswith(ALLOWED_PREFIXES):
            return self.get_response(request)
        state = state_for(request.tenant.schema_name)
        if not state.read_only:
            return self.get_response(request)
        message = refusal_text(state.reason)
        if "/api/" in request.path:
            return JsonResponse({"errors": [{"code": "read_only", "detail": message}]}, status=402)
        may_pay = access.can(getattr(request, "principal", None), "subscription.manage")
        return render(request, "subscriptions/read_only.html", {"message": message, "may_pay": may_pay}, status=402)
