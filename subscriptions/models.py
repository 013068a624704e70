"""The platform bills its lenders (public schema): plans priced by active cases, one subscription per lender.

Stripe is the source of truth for money: ``Subscription.status`` and the invoices are *mirrored* from Stripe by
``services.sync_from_stripe`` (which re-fetches, never trusts an event's payload), and ``read_only`` is derived
from them by ``services.read_only_for`` (the rule is written there). Nothing here is ever deleted: a cancelled
subscription keeps its row and its invoices; ``SubscriptionEvent`` is an append-only history (the database
refuses UPDATE and DELETE).
"""

import pgtrigger
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from tenants.models import Lender


class Plan(models.Model):
    """A price tier by the number of active cases (在催案件数): 起步 / 成长 / 规模 / 企业."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80)
    monthly_price = models.DecimalField(_("monthly price (CNY)"), max_digits=12, decimal_places=2)
    max_active_cases = models.PositiveIntegerField(_("maximum active cases"), null=True, blank=True, help_text=_("Empty: unlimited."))
    stripe_plan_id = models.CharField(_("Stripe plan"), max_length=100, blank=True, editable=False)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["monthly_price"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [models.CheckConstraint(condition=models.Q(monthly_price__gte=0), name="subscriptions_plan_price_not_negative")]

    def __str__(self):
        return self.name


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses, mirrored as Stripe reports them."""

    INCOMPLETE = "incomplete", _("Incomplete (first payment failed)")
    INCOMPLETE_EXPIRED = "incomplete_expired", _("Expired before the first payment")
    TRIALING = "trialing", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    UNPAID = "unpaid", _("Unpaid")
    CANCELED = "canceled", _("Cancelled")
    PAUSED = "paused", _("Paused")


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open (awaiting payment)")
    PAID = "paid", pgettext_lazy("payment status", "Paid")
    UNCOLLECTIBLE = "uncollectible", _("Uncollectible")
    VOID = "void", _("Void")


class Subscription(models.Model):
    """One lender's subscription to the platform; status mirrored from Stripe."""

    lender = models.OneToOneField(Lender, on_delete=models.PROTECT, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=100, blank=True)
    stripe_subscription_id = models.CharField(_("Stripe subscription"), max_length=100, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.INCOMPLETE)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    last_invoice_id = models.CharField(_("last invoice"), max_length=100, blank=True)
    last_invoice_status = models.CharField(_("last invoice status"), max_length=20, choices=InvoiceStatus.choices, blank=True)
    last_payment_error = models.CharField(_("last payment error"), max_length=300, blank=True)
    card_brand = models.CharField(_("card"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card ending"), max_length=4, blank=True)
    active_cases = models.PositiveIntegerField(_("active cases (last count)"), default=0)
    active_cases_counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    read_only = models.BooleanField(_("read-only"), default=False)
    read_only_reason = models.CharField(_("why read-only"), max_length=300, blank=True)
    synced_at = models.DateTimeField(_("last synchronised with Stripe"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self):
        return f"{self.lender} · {self.plan}"


class Invoice(models.Model):
    """A Stripe invoice of a subscription, mirrored (amounts in yuan, Decimal, from Stripe's integer fen)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=100, unique=True)
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(_("amount paid"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="cny")
    status = models.CharField(_("status"), max_length=20, choices=InvoiceStatus.choices)
    attempted = models.BooleanField(default=False)
    failure = models.CharField(_("why it failed"), max_length=300, blank=True)
    issued_at = models.DateTimeField(_("date"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("invoice")


class SubscriptionEvent(models.Model):
    """What happened to a subscription, append-only: subscribed, plan changed, synced (status → status), card
    replaced, invoice paid. The database refuses UPDATE and DELETE (as for the audit log)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    stripe_event_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        triggers = [pgtrigger.Protect(name="subscription_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]
