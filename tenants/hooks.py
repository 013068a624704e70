"""Who hears about a change to the public schema's people and partners (the audit trail).

``tenants`` is the bottom layer and may not import the audit log (``portal.audit``), yet its services
change who may act where: an invitation sent, a role removed, an account disabled, an engagement created
or moved. The core registers the audit log here at start-up (``portal.apps``), the same pattern as
``portal.payments.hooks``, so each such change is recorded by the service itself, whoever calls it (a
screen, a command, a test), never left to a view (issue item 15; ASVS 7.2: security-relevant events logged).
"""

AUDIT_LISTENERS: list = []

# The action names of the audit log (portal.audit.models.Action), as plain strings: no import upward.
CREATE = "create"
CHANGE = "change"


def on_audit(listener):
    """``listener(action, *, request=None, actor=None, obj=None, **detail)``, called inside the service's transaction."""
    if listener not in AUDIT_LISTENERS:
        AUDIT_LISTENERS.append(listener)
    return listener


def audit(action: str, *, request=None, actor=None, obj=None, **detail):
    for listener in AUDIT_LISTENERS:
        listener(action, request=request, actor=actor, obj=obj, **detail)
