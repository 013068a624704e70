"""Statements and invoices (结算单): one lifecycle for every partner's fees.

A ``Statement`` settles one partner's lines for one month: an agency's commission lines (佣金结算单,
outsourcing.CommissionLine) or a law firm's fee lines (律师费结算单, litigation). The lines stay in the table of
the app that computes them, each with a ``statement`` foreign key to this model; the app registers a *kind*
(``portal/fees/kinds.py``) that tells the core how to take, sum, list and release its lines, so the core never
imports the apps (tenants ← portal ← outsourcing | litigation).

Lifecycle (issue 10 item 3)::

    draft ──send──▶ in_review ──approve──▶ approved ──issue──▶ issued ──paid (charge succeeded)──▶ paid
      ▲                 │ (partner: accept, or dispute lines)                   ▲                      │
      └─────────────────┘ (a line released by an upheld dispute)                └─refund (recorded)────┘

Totals (``line_count``, ``base_total`` = money recovered, ``amount_total`` = commission or fee) are stored, and
are always the sums of the lines (``services.store_totals``, summed in the database by the kind). Once issued a
statement is final in the database: a trigger refuses every change except the payment fields (issued → paid by
the charge, paid → issued by a refund) and refuses deleting anything but a draft.
"""

import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy

MONEY = {"max_digits": 16, "decimal_places": 2}


class StatementKindCode(models.TextChoices):
    COMMISSION = "commission", _("Commission statement")  # 佣金结算单 (agency)
    LEGAL_FEE = "legal_fee", _("Legal fee invoice")  # 律师费结算单 (law firm)
    FIELD_VISIT = "field_visit", _("Field-visit fee statement")  # 外访费结算单 (agency)


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿 (internal to the lender)
    IN_REVIEW = "in_review", _("With the partner for review")  # 合作机构核对中
    APPROVED = "approved", _("Approved")  # 已审批
    ISSUED = "issued", pgettext_lazy("statement status", "Issued")  # 已出具; "Issued" alone is the issue date's label
    PAID = "paid", pgettext_lazy("statement status", "Paid")  # 已付款


# What the partner may see: drafts are the lender's working papers.
PARTNER_VISIBLE = (StatementStatus.IN_REVIEW, StatementStatus.APPROVED, StatementStatus.ISSUED, StatementStatus.PAID)
# Final: the document and everything it shows are fixed.
FINAL = (StatementStatus.ISSUED, StatementStatus.PAID)

# The columns a payment may change on a final statement (issued ⇄ paid); every other column is frozen.
PAYMENT_FIELDS = ("status", "paid_at", "charge_reference", "payment_failure", "payment_failed_at", "refunded_at", "refund_count")
FROZEN_FIELDS = (
    "id",
    "kind",
    "number",
    "partner_id",
    "period",
    "period_end",
    "line_count",
    "base_total",
    "amount_total",
    "document",
    "document_sha256",
    "created_by_id",
    "created_at",
    "sent_by_id",
    "sent_at",
    "accepted_by_id",
    "accepted_at",
    "approved_by_id",
    "approved_at",
    "issued_by_id",
    "issued_at",
)


def _frozen_changed():
    condition = ~pgtrigger.Q(new__status__in=["issued", "paid"])  # leaving the final states
    for field in FROZEN_FIELDS:
        condition |= pgtrigger.Q(**{f"old__{field}__df": pgtrigger.F(f"new__{field}")})
    return condition


@pghistory.track()
class Statement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=StatementKindCode.choices)
    number = models.CharField(_("statement no."), max_length=32, unique=True)
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("month"))  # the first day of the month
    period_end = models.DateField(_("up to"))
    status = models.CharField(_("status"), max_length=12, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    base_total = models.DecimalField(_("recovered"), default=0, **MONEY)  # the money the fees are computed on
    amount_total = models.DecimalField(_("amount"), default=0, **MONEY)  # commission or fee owed to the partner
    # The PDF as issued: served as stored afterwards, so it never changes with a later rename or a new renderer.
    document = models.FileField(upload_to="statements/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    # Settlement (issue 10 item 4): set by the charge's outcome, never by a person.
    paid_at = models.DateTimeField(null=True, blank=True)
    charge_reference = models.CharField(max_length=64, blank=True)
    payment_failure = models.CharField(max_length=300, blank=True)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-period", "kind", "number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "partner", "period"], name="fees_statement_one_per_kind_partner_month"),
            models.CheckConstraint(
                condition=Q(status="paid", paid_at__isnull=False) | ~Q(status="paid"), name="fees_statement_paid_has_date"
            ),
        ]
        indexes = [models.Index(fields=["partner", "status"], name="fees_statement_partner_status")]
        triggers = [
            pgtrigger.Protect(
                name="fees_statement_final",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__status__in=["issued", "paid"]) & _frozen_changed(),
            ),
            pgtrigger.Protect(
                name="fees_statement_delete_draft_only", operation=pgtrigger.Delete, condition=~pgtrigger.Q(old__status="draft")
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    # A commission statement's names for its totals (the recovery and the commission), kept for its callers.
    @property
    def recovered_total(self):
        return self.base_total

    @property
    def commission_total(self):
        return self.amount_total

    @property
    def lines(self):
        """The app's lines on this statement (a QuerySet of CommissionLine, law-firm fee lines…), by its kind."""
        from . import kinds

        return kinds.get(self.kind).lines(self)


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld: line taken off")
    DISMISSED = "dismissed", _("Dismissed: line stays")


@pghistory.track()
class LineDispute(models.Model):
    """A partner's objection to one line of a statement under review (对账异议), decided by the lender.

    Upheld: the line leaves the statement and waits in its app's pool for a later one (the kind's ``release``).
    Dismissed: the line stays, with the lender's reasons. Approval is refused while any is open."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="disputes")
    line_id = models.UUIDField(_("line"))  # the app's line (CommissionLine, law-firm fee line)
    reason = models.TextField(_("reason"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(_("status"), max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "line_id"], condition=Q(status="open"), name="fees_one_open_dispute_per_line"),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_at__isnull=False) & ~Q(resolution="")),
                name="fees_dispute_resolved_with_reasons",
            ),
        ]
        triggers = [
            # A decided dispute is final; a dispute is never deleted.
            pgtrigger.Protect(name="fees_dispute_decided_final", operation=pgtrigger.Update, condition=~pgtrigger.Q(old__status="open")),
            pgtrigger.Protect(name="fees_dispute_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.statement} / {self.line_id}"
