"""Stripe, as Caseport records it (public schema: one row set for the whole platform).

A Charge is an operation *we* initiate (a lender paying a statement, …); its idempotency key is created
with the row and reused on every retry of that attempt. StripeEvent is each webhook event, once
(unique event id), processed in the same transaction as its effects. Money is Decimal yuan (CNY, 2 places);
billing.money converts to Stripe's integer fen at the gateway.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from tenants.models import Lender, Organisation


def new_key() -> str:
    return str(uuid.uuid4())


class BillingAccount(models.Model):
    """A lender as Stripe's Customer (one per lender), with its card on file."""

    lender = models.OneToOneField(Lender, on_delete=models.PROTECT, related_name="billing_account")
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    default_payment_method_id = models.CharField(max_length=255, blank=True)
    payment_method_label = models.CharField(_("card on file"), max_length=100, blank=True)  # "Visa ···· 4242"
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"], condition=~Q(stripe_customer_id=""), name="billing_one_account_per_customer"
            )
        ]

    def __str__(self):
        return f"{self.lender} ({self.stripe_customer_id or '-'})"


class ChargeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # row written, Stripe not (yet) answered
    PROCESSING = "processing", _("Processing")  # Stripe accepted; the webhook confirms it
    SUCCEEDED = "succeeded", pgettext_lazy("payment status", "Paid")
    FAILED = "failed", _("Failed")
    REFUNDED = "refunded", _("Refunded")


# The order a charge moves in; a fetched state never moves it back (webhooks arrive in any order).
STATUS_RANK = {
    ChargeStatus.PENDING: 0,
    ChargeStatus.PROCESSING: 1,
    ChargeStatus.SUCCEEDED: 2,
    ChargeStatus.FAILED: 2,
    ChargeStatus.REFUNDED: 3,
}


class Charge(models.Model):
    """One attempt to collect ``amount`` from a lender for ``purpose``/``reference`` (e.g. "statement"/<uuid>)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lender = models.ForeignKey(Lender, on_delete=models.PROTECT, related_name="charges")
    purpose = models.CharField(max_length=40)
    reference = models.CharField(max_length=100)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, default="cny")
    description = models.CharField(_("description"), max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    attempt = models.PositiveIntegerField(default=1)
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ChargeStatus.choices, default=ChargeStatus.PENDING)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)  # the provider's words, for the record
    # The last outcome the purpose's handler has been told ("", "succeeded", "failed", "refunded"): each once.
    notified = models.CharField(max_length=12, blank=True)
    initiated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A double click or a retry can never make a second live charge; after a failure a new attempt may.
            models.UniqueConstraint(fields=["purpose", "reference"], condition=~Q(status="failed"), name="billing_one_live_charge"),
            models.UniqueConstraint(fields=["purpose", "reference", "attempt"], name="billing_charge_attempt_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_charge_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="billing_charge_status_idx")]

    def __str__(self):
        return f"{self.purpose}:{self.reference} #{self.attempt} {self.amount} {self.status}"

    @property
    def failure_reason(self):
        """Why it failed, in the reader's language (billing.gateway.CARD_ERROR_REASONS)."""
        from .gateway import reason_for

        return reason_for(self.failure_code) if self.status == ChargeStatus.FAILED else ""


class ConnectedAccount(models.Model):
    """A partner (agency, law firm) with a Stripe Connect account: its share is paid out by Transfer."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="connected_account")
    stripe_account_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.organisation} ({self.stripe_account_id})"


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled: the payment was refunded first")
    REVERSING = "reversing", _("Being taken back: the payment was refunded")
    REVERSED = "reversed", _("Taken back")


class Transfer(models.Model):
    """A payout of part of a succeeded charge to a connected account (separate charges and transfers). When the charge
    is refunded, a payout not sent yet is cancelled and one already sent is reversed (Stripe: transfer reversals)."""

    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="transfers")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    destination = models.CharField(max_length=255)  # acct_…
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    transfer_group = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    stripe_transfer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(max_length=12, choices=TransferStatus.choices, default=TransferStatus.PENDING)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A refunded payment takes its payout back (a transfer reversal), once, with its own stored key.
    reversal_idempotency_key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    stripe_reversal_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["charge", "organisation"], name="billing_one_transfer_per_payee"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_transfer_amount_positive"),
        ]

    def __str__(self):
        return f"{self.transfer_group} → {self.destination} {self.amount}"


class StripeEvent(models.Model):
    """A webhook event, stored once (unique event id) and processed once (processed_at)."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"], name="billing_event_pending_idx")]

    def __str__(self):
        return f"{self.event_id} {self.type}"
