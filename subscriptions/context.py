"""The read-only banner on every page of a lender's workspace (TEMPLATES context processor)."""

from portal import access
from portal.middleware import is_public_request
from subscriptions.state import state_for


def billing_banner(request):
    if is_public_request(request) or getattr(request, "principal", None) is None:
        return {}
    state = state_for(request.tenant.schema_name)
    if not state.read_only:
        return {}
    from subscriptions.middleware import refusal_text

    return {"billing_banner": {"text": refusal_text(state.reason), "may_pay": access.can(request.principal, "subscription.manage")}}
