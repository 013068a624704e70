"""Sign-in events into the audit log."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .log import Action, record


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    record(getattr(request, "audit_login_as", Action.LOGIN), request=request, actor=user)


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if user is not None:
        record(Action.LOGOUT, request=request, actor=user)


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    record(Action.LOGIN_FAILED, request=request, username=str(credentials.get("username", ""))[:254])


@receiver(user_locked_out)
def audit_locked_out(sender, request, username, ip_address, **kwargs):
    record(Action.LOCKED_OUT, request=request, username=str(username or "")[:254])
