"""A lender's core data (tenant schema): debtors and their cases.

The foundation holds what access rules and isolation tests need; the
outsourcing issue extends cases with contacts, balances history, activity.
"""
import uuid

import pghistory
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.lib import crypto, idnumber


@pghistory.track(exclude=["id_number_ciphertext"])
class Debtor(models.Model):
    """The borrower (借款人). The national ID number is stored encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    id_number_ciphertext = models.TextField()
    id_number_index = models.CharField(max_length=64, db_index=True)  # blind index for lookups
    id_number_masked = models.CharField(_("ID number"), max_length=18)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def set_id_number(self, value):
        value = value.strip().upper()
        reason = idnumber.validate(value)
        if reason:
            raise ValueError(f"invalid ID number: {reason}")
        self.id_number_ciphertext = crypto.encrypt(value)
        self.id_number_index = crypto.blind_index(value)
        self.id_number_masked = idnumber.mask(value)

    @property
    def id_number(self):
        """The full number. Callers must be allowed to see it and must audit the reveal."""
        return crypto.decrypt(self.id_number_ciphertext)

    @property
    def mobile_masked(self):
        return self.mobile[:3] + "****" + self.mobile[-4:] if len(self.mobile) >= 11 else self.mobile


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    INTERNAL = "internal", _("Internal collection")
    PLACED = "placed", _("Placed with agency")
    LITIGATION = "litigation", _("In litigation")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off")
    CLOSED = "closed", _("Closed")


def bucket_for(dpd: int) -> str:
    """M1 = 1–30 days past due, M2 = 31–60, … M6+ from 151 days (PRODUCT.md glossary)."""
    if dpd <= 0:
        return "M0"
    month = (dpd - 1) // 30 + 1
    return "M6+" if month >= 6 else f"M{month}"


@pghistory.track()
class Case(models.Model):
    """One defaulted loan account (案件)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    debtor = models.ForeignKey(Debtor, on_delete=models.PROTECT, related_name="cases")
    contract_no = models.CharField(_("contract no."), max_length=64, unique=True)
    product = models.CharField(_("product"), max_length=100)
    region = models.CharField(_("region"), max_length=100, blank=True)
    loan_amount = models.DecimalField(_("loan amount"), max_digits=14, decimal_places=2)
    principal_due = models.DecimalField(_("principal due"), max_digits=14, decimal_places=2)
    interest_due = models.DecimalField(_("interest due"), max_digits=14, decimal_places=2, default=0)
    penalty_due = models.DecimalField(_("penalty due"), max_digits=14, decimal_places=2, default=0)
    fees_due = models.DecimalField(_("fees due"), max_digits=14, decimal_places=2, default=0)
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"))
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(loan_amount__gte=0) & Q(principal_due__gte=0) & Q(interest_due__gte=0) & Q(penalty_due__gte=0) & Q(fees_due__gte=0),
                name="case_amounts_not_negative",
            ),
        ]

    def __str__(self):
        return self.contract_no

    @property
    def balance(self):
        return self.principal_due + self.interest_due + self.penalty_due + self.fees_due

    def dpd(self, today=None):
        today = today or timezone.localdate()
        return max(0, (today - self.overdue_since).days)

    @property
    def bucket(self):
        return bucket_for(self.dpd())
