"""The append-only audit log.

It exists in every schema: events about a lender's data are written in that
lender's schema (restored, retained and sharded with it), events of the
public site (sign-ins, platform actions) in the public schema. The database
refuses UPDATE and DELETE (pgtrigger.Protect), so not even a bug or a
shell session can rewrite history. ASVS 16.3, 16.4.2; PIPL art. 56.
"""

import pgtrigger
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOCKED_OUT = "locked_out", _("Locked out")
    LOGOUT = "logout", _("Signed out")
    OTP_VERIFIED = "otp_verified", _("Two-factor verified")
    OTP_ENROLLED = "otp_enrolled", _("Two-factor enrolled")
    ENTER_WORKSPACE = "enter_workspace", _("Entered workspace")
    ACCESS_DENIED = "access_denied", _("Access denied")
    VIEW_PERSONAL_DATA = "view_personal_data", _("Viewed personal data")
    REVEAL = "reveal", _("Revealed full value")
    CREATE = "create", _("Created")
    CHANGE = "change", _("Changed")
    EXPORT = "export", _("Exported")
    DOWNLOAD = "download", _("Downloaded")


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    # Who: kept as ids plus a snapshot, so the row outlives renames and deletions.
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_email = models.CharField(max_length=254, blank=True)
    organisation_id = models.UUIDField(null=True, blank=True)
    organisation_name = models.CharField(max_length=200, blank=True)
    tenant = models.CharField(max_length=63)
    # What: the object touched and, when there is one, the case it belongs to.
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    case_id = models.CharField(max_length=64, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    # From where.
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        triggers = [
            pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_email} {self.action} {self.object_type}:{self.object_id}"
