"""Placements (委案): a case handed to a partner agency for a term.

The foundation defines the placement because access depends on it: a
partner sees a case only while an active placement with it exists.
"""
import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PlacementStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RECALLED = "recalled", _("Recalled")  # 撤案
    EXPIRED = "expired", _("Expired")
    RETURNED = "returned", _("Returned by agency")


class PlacementQuerySet(models.QuerySet):
    def active(self, at=None):
        """Placements in force now: status active and the term not yet over."""
        at = at or timezone.now()
        return self.filter(status=PlacementStatus.ACTIVE, starts_at__lte=at, ends_at__gt=at)


@pghistory.track()
class Placement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="placements")
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=PlacementStatus.choices, default=PlacementStatus.ACTIVE)
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    ends_at = models.DateTimeField(_("ends"))
    ended_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = PlacementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["partner", "status", "ends_at"], name="placement_partner_active")]
        constraints = [
            # One active placement per case, guarded by the database.
            models.UniqueConstraint(fields=["case"], condition=Q(status="active"), name="placement_one_active_per_case"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="placement_term_positive"),
        ]

    def __str__(self):
        return f"{self.case_id} → {self.partner_id} ({self.status})"
