"""Payments (还款) and their reconciliation, in the lender's schema.

Two kinds of record, kept apart on purpose:

* ``Payment``: money the lender says it received (its own entry, a file import or its system's
  API). Authoritative: it posts against the case's balances and is what commissions and promises
  are computed from.
* ``PaymentReport``: a partner's claim that the debtor paid ("the debtor says he paid 3,000 on the
  3rd, receipt no. …"). Pending until the lender matches it to a Payment or rejects it; it never
  moves a balance by itself.

Either side may dispute a line (``Dispute``); a dispute has a status and an append-only history
(``DisputeEvent``), the two-party workflow landscape.md §2.4 found missing in existing systems.
"""

import datetime
import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _, pgettext_lazy


class PaymentSource(models.TextChoices):
    MANUAL = "manual", _("Entered by the lender")
    IMPORT = "import", _("Lender's file import")
    API = "api", _("Lender's system (API)")


SPLIT_PARTS = ("to_fees", "to_penalty", "to_interest", "to_principal", "unapplied")


def _corrected(part: str):
    """The payment's own ``part`` plus the sum of its corrections' (a subquery: no row multiplication)."""
    total = (
        PaymentPostingCorrection.objects.filter(payment=models.OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(total=models.Sum(part))
        .values("total")
    )
    return models.F(part) + Coalesce(
        models.Subquery(total, output_field=models.DecimalField(max_digits=14, decimal_places=2)),
        models.Value(0, output_field=models.DecimalField(max_digits=14, decimal_places=2)),
    )


class PaymentQuerySet(models.QuerySet):
    def with_effective_split(self):
        """Annotate ``effective_to_fees`` … ``effective_unapplied`` (own columns + corrections) and ``applied``
        (amount − effective unapplied: the money applied to the balances, which is what was *recovered*)."""
        split = {f"effective_{part}": _corrected(part) for part in SPLIT_PARTS}
        return self.annotate(**split).annotate(applied=models.F("amount") - models.F("effective_unapplied"))


@pghistory.track()
class Payment(models.Model):
    """A repayment received by the lender. Never edited: a payment that should not stand is corrected
    by a reversal (PaymentReversal), so every figure computed from it stays traceable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    # The lender's own reference (bank serial, 流水号): the natural key that makes imports and API
    # calls idempotent; sending the same reference twice records one payment.
    reference = models.CharField(_("reference"), max_length=64)
    source = models.CharField(_("source"), max_length=8, choices=PaymentSource.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # How the amount was applied to the balances (民法典 art. 561: costs, then interest, then principal).
    to_fees = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_penalty = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_interest = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_principal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    unapplied = models.DecimalField(max_digits=14, decimal_places=2, default=0)  # paid beyond the balance
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-paid_on", "-recorded_at"]
        indexes = [
            models.Index(fields=["case", "paid_on"], name="payment_case_date"),
            models.Index(fields=["paid_on"], name="payment_paid_on"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="payment_unique_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(to_fees__gte=0, to_penalty__gte=0, to_interest__gte=0, to_principal__gte=0, unapplied__gte=0),
                name="payment_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    amount=models.F("to_fees")
                    + models.F("to_penalty")
                    + models.F("to_interest")
                    + models.F("to_principal")
                    + models.F("unapplied")
                ),
                name="payment_parts_sum_to_amount",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="payment_immutable", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.reference} {self.amount} ({self.paid_on})"

    @property
    def recorded_split(self):
        """The split the payment was given when it was recorded (its own columns)."""
        from .posting import Allocation

        return Allocation(**{part: getattr(self, part) for part in SPLIT_PARTS})

    @cached_property
    def effective_split(self):
        """How the amount stands applied now (its own split + the corrections reversals made): see effective_split()."""
        return effective_split(self)


class ReversalReason(models.TextChoices):
    RETURNED = "returned", _("Returned by the bank (bounced or recalled)")  # 退票 / 退汇
    ERROR = "error", _("Recorded in error")  # 误录
    DUPLICATE = "duplicate", _("Duplicate of another payment")
    OTHER = "other", _("Other")


class PaymentReversal(models.Model):
    """The correction (冲正) of a payment that should not stand: the money went back, or never came.

    The payment is never edited. Its reversal rebuilds the balances as if it had never been: the later
    standing payments are applied again in order (民法典 art. 561) and each change to their split is a
    PaymentPostingCorrection. It withdraws the limitation evidence the payment was (no money, no performance: 民法典 art. 195),
    and lets the apps built on the core react (outsourcing writes a clawback commission line dated
    ``reversed_on``, so an agency's statement shows the commission it gives back). One per payment,
    and itself never edited or deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    reversed_on = models.DateField(_("reversed on"))
    reason = models.CharField(_("reason"), max_length=12, choices=ReversalReason.choices)
    note = models.CharField(_("note"), max_length=300)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reversed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reversed_at"]
        triggers = [
            pgtrigger.Protect(name="payment_reversal_immutable", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"reversal of {self.payment_id} ({self.reversed_on})"


class PaymentPostingCorrection(models.Model):
    """How a reversal changed the split of a later payment (重新冲抵): the difference between the split the
    payment had and the one it gets when the standing payments are applied again, in order, without the
    reversed one (民法典 art. 561; services.reverse_payment). The payment itself is never edited: its
    effective split is its own columns plus its corrections (``effective_split`` and
    ``PaymentQuerySet.with_effective_split``, the one definition every page and file uses).

    The deltas move money between parts of the same amount, so they sum to zero (the database checks
    it); a delta on ``unapplied`` changes the money the payment applied. Append-only, one per payment
    and reversal."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="corrections")
    reversal = models.ForeignKey(PaymentReversal, on_delete=models.PROTECT, related_name="corrections")
    to_fees = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_penalty = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_interest = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    to_principal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    unapplied = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "reversal"], name="payment_correction_once_per_reversal"),
            models.CheckConstraint(
                condition=Q(to_fees=-(models.F("to_penalty") + models.F("to_interest") + models.F("to_principal") + models.F("unapplied"))),
                name="payment_correction_sums_to_zero",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="payment_correction_immutable", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"correction of {self.payment_id} by {self.reversal_id}"


class ReportStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting match")
    MATCHED = "matched", _("Matched")
    REJECTED = "rejected", _("Rejected")


@pghistory.track()
class PaymentReport(models.Model):
    """A partner's report that the debtor paid: pending until matched to the lender's Payment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="payment_reports")
    organisation = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("receipt or transfer reference"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    matched_payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    decision_note = models.CharField(_("reason"), max_length=300, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "-reported_at"], name="payment_report_org"),
            models.Index(fields=["case", "status"], name="payment_report_case"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_report_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="matched") | Q(matched_payment__isnull=False), name="payment_report_matched_has_payment"
            ),
            # One lender payment backs at most one report (a second report of it is a duplicate).
            models.UniqueConstraint(fields=["matched_payment"], condition=Q(status="matched"), name="payment_report_one_match"),
        ]

    def __str__(self):
        return f"report {self.amount} ({self.paid_on}, {self.status})"


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "Open")
    UPHELD = "upheld", _("Upheld")  # the side that raised it was right; the correction is recorded
    DISMISSED = "dismissed", _("Dismissed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DisputeReason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Payment not received or not recorded")
    AMOUNT = "amount", _("Wrong amount")
    DATE = "date", _("Wrong date")
    ATTRIBUTION = "attribution", _("Wrong agency or outside the placement term")
    COMMISSION = "commission", _("Wrong commission")
    DUPLICATE = "duplicate", _("Duplicate")
    OTHER = "other", _("Other")


# The lender decides a dispute within this many days of it being raised: the two-party workflow with an SLA
# that landscape.md §2.4 found missing. No statute sets it; it is the product's default promise to agencies.
DISPUTE_DECISION_DAYS = 10
DISPUTE_DUE_SOON_DAYS = 2  # flagged as due soon this many days before


class Dispute(models.Model):
    """A disputed reconciliation line: a lender payment or a partner's report, raised by either side."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    report = models.ForeignKey(PaymentReport, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    # The partner on the other side of the line (the agency whose commission or report it is).
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    raised_by_org = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=DisputeReason.choices)
    status = models.CharField(_("status"), max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["partner", "status"], name="dispute_partner_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(payment__isnull=False, report__isnull=True) | Q(payment__isnull=True, report__isnull=False),
                name="dispute_one_line",
            ),
            models.UniqueConstraint(fields=["payment", "partner"], condition=Q(status="open"), name="dispute_one_open_per_payment"),
            models.UniqueConstraint(fields=["report"], condition=Q(status="open"), name="dispute_one_open_per_report"),
        ]

    def __str__(self):
        return f"dispute {self.pk} ({self.status})"

    @property
    def is_open(self):
        return self.status == DisputeStatus.OPEN

    @property
    def decide_by(self) -> datetime.date:
        """The last day for the lender's decision (lender-local date)."""
        return timezone.localdate(self.raised_at) + datetime.timedelta(days=DISPUTE_DECISION_DAYS)

    def deadline_state(self, today: datetime.date | None = None) -> str:
        """ "overdue", "due_soon" or "" for an open dispute; "" once it is closed."""
        if not self.is_open:
            return ""
        days_left = (self.decide_by - (today or timezone.localdate())).days
        if days_left < 0:
            return "overdue"
        return "due_soon" if days_left <= DISPUTE_DUE_SOON_DAYS else ""


class DisputeEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    COMMENT = "comment", _("Comment")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DisputeEvent(models.Model):
    """One entry of a dispute's history. Append-only: the database refuses changes and deletions."""

    id = models.BigAutoField(primary_key=True)
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=12, choices=DisputeEventKind.choices)
    text = models.TextField(_("comment"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        triggers = [pgtrigger.Protect(name="dispute_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


def effective_split(payment: Payment):
    """THE split of a payment as it stands (posting.Allocation): its own columns plus its corrections. Its parts
    sum to the amount; ``.applied`` (amount − unapplied) is the money applied to the case's balances, the one
    definition of "recovered" (commissions, scorecards, statements). Uses the annotation when the payment came
    from ``Payment.objects.with_effective_split()``."""
    from .posting import Allocation

    if hasattr(payment, "effective_unapplied"):
        return Allocation(**{part: getattr(payment, f"effective_{part}") for part in SPLIT_PARTS})
    totals = PaymentPostingCorrection.objects.filter(payment=payment).aggregate(**{part: models.Sum(part) for part in SPLIT_PARTS})
    return Allocation(**{part: getattr(payment, part) + (totals[part] or 0) for part in SPLIT_PARTS})
