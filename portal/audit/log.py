"""The one way to write an audit event."""

from django.db import connection

from .models import Action, AuditEvent

__all__ = ["Action", "record", "client_ip"]


def client_ip(request):
    """The client's address as axes sees it (proxy-aware, spoof-resistant)."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


def record(action, *, request=None, actor=None, organisation=None, obj=None, object_type="", object_id="", case_id="", **detail):
    """Append one event in the current schema and return it.

    ``actor`` defaults to the request's user; ``organisation`` to the
    organisation the request acts for (set by the access middleware).
    """
    if actor is None and request is not None and getattr(request, "user", None) is not None and request.user.is_authenticated:
        actor = request.user
    if organisation is None and request is not None:
        principal = getattr(request, "principal", None)
        organisation = principal.organisation if principal else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        action=action,
        actor_id=getattr(actor, "pk", None),
        actor_email=getattr(actor, "email", "") or detail.pop("username", ""),
        organisation_id=getattr(organisation, "pk", None),
        organisation_name=getattr(organisation, "name", ""),
        tenant=connection.schema_name,
        object_type=object_type,
        object_id=str(object_id),
        case_id=str(case_id or ""),
        detail=detail,
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        path=(request.get_full_path()[:300] if request is not None else ""),
        request_id=(request.META.get("HTTP_X_REQUEST_ID", "")[:64] if request is not None else ""),
    )
