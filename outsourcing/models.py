"""Outsourcing (委外催收): agreements, placements, allocation batches and holds.

The foundation defined the placement because access depends on it: a
partner sees a case only while an active placement with it exists, and
``PlacementQuerySet.active()`` is the one definition of "in force". An
approved hold (留案) moves the placement's ``ends_at``, so that definition
needs no exception for holds; ``term_ends_at`` keeps the end the agreement
gave.
"""

import datetime
import uuid
from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.buckets import BUCKETS
from portal.fees.models import Statement, StatementStatus  # noqa: F401 (re-exported, see below)

# A commission schedule is defined per bucket (portal.buckets) and round (PRODUCT.md glossary;
# landscape.md §3.2: PRC rules vary the rate by overdue bucket and by the number of
# prior outsourcings, 手别). Round 3 stands for "third and later".
ROUNDS = (1, 2, 3)
LAST_ROUND = ROUNDS[-1]


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


class CollectionAction(models.TextChoices):
    """What an agreement allows the agency to do (the workbench enforces it)."""

    PHONE = "phone", _("Phone calls")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letters")
    FIELD_VISIT = "field_visit", _("Field visits")  # 外访


@pghistory.track()
class Agreement(models.Model):
    """The outsourcing agreement (委外协议) with one engaged agency; its terms live in versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.OneToOneField("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("contract reference"), max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["partner__name"]

    def __str__(self):
        return f"{self.partner} ({self.reference or self.pk})"

    @property
    def current_version(self):
        """The version in force: the newest. Cached per instance."""
        if not hasattr(self, "_current_version"):
            self._current_version = self.versions.order_by("-number").first()
        return self._current_version


class AgreementVersion(models.Model):
    """One set of terms. Never changed once written: a change is a new version, which applies to
    new placements only; each placement points to the version in force when it was placed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    term_days = models.PositiveSmallIntegerField(_("term (days)"))
    capacity = models.PositiveIntegerField(_("capacity (active cases)"))
    allowed_actions = ArrayField(
        models.CharField(max_length=16, choices=CollectionAction.choices), default=list, blank=True, verbose_name=_("allowed actions")
    )
    max_hold_days = models.PositiveSmallIntegerField(_("longest hold (days)"), default=30)
    # 外访费: paid per field visit the agency reports under this version (outsourcing/field_visit_fees.py); 0 = none.
    field_visit_fee = models.DecimalField(_("field-visit fee (CNY)"), max_digits=10, decimal_places=2, default=Decimal("0.00"))
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["agreement", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "number"], name="agreement_version_unique_number"),
            models.CheckConstraint(condition=Q(term_days__gte=1) & Q(term_days__lte=366), name="agreement_version_term_range"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="agreement_version_capacity_positive"),
            models.CheckConstraint(condition=Q(max_hold_days__lte=180), name="agreement_version_hold_range"),
            models.CheckConstraint(condition=Q(field_visit_fee__gte=0), name="agreement_version_visit_fee_not_negative"),
        ]
        triggers = [pgtrigger.Protect(name="agreement_version_immutable", operation=pgtrigger.Update)]

    def __str__(self):
        return f"{self.agreement.partner} v{self.number}"

    def allowed_action_labels(self):
        return [CollectionAction(action).label for action in self.allowed_actions if action in CollectionAction.values]

    def rate_for(self, bucket: str, round_number: int):
        """The commission rate (a fraction, 0.1800 = 18%) for a placement's bucket and round (手别)."""
        round_number = min(max(int(round_number or 1), 1), LAST_ROUND)
        rate = self.rates.filter(bucket=bucket, round=round_number).values_list("rate", flat=True).first()
        return rate

    def schedule(self):
        """{bucket: {round: rate}} for every cell defined."""
        grid = {bucket: {} for bucket in BUCKETS}
        for row in self.rates.all():
            grid.setdefault(row.bucket, {})[row.round] = row.rate
        return grid


class CommissionRate(models.Model):
    """One cell of a version's commission schedule: rate by bucket and round. Only recoveries
    inside the placement's term (including an approved hold) earn it."""

    id = models.BigAutoField(primary_key=True)
    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT, related_name="rates")
    bucket = models.CharField(max_length=4, choices=[(b, b) for b in BUCKETS])
    round = models.PositiveSmallIntegerField(choices=[(r, str(r)) for r in ROUNDS])
    rate = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["version", "bucket", "round"]
        constraints = [
            models.UniqueConstraint(fields=["version", "bucket", "round"], name="commission_rate_unique_cell"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="commission_rate_between_0_and_1"),
        ]
        triggers = [pgtrigger.Protect(name="commission_rate_immutable", operation=pgtrigger.Update)]


class Arm(models.TextChoices):
    """Champion/challenger: which strategy of a batch a placement came from."""

    CHAMPION = "champion", _("Champion")
    CHALLENGER = "challenger", _("Challenger")


class BatchStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Previewed")
    COMMITTING = "committing", _("Placing")
    COMMITTED = "committed", _("Placed")
    REFUSED = "refused", _("Refused")
    DISCARDED = "discarded", _("Discarded")


class AllocationBatch(models.Model):
    """A rule-based allocation (分案): the rules, the seed that made it reproducible, the preview
    the manager approved, and the outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rules = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    preview = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.PREVIEWED)
    error = models.JSONField(default=dict, blank=True)  # a refusal: {"code": ..., "params": {...}}
    placed_count = models.PositiveIntegerField(default=0)
    job_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    committed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"batch {self.pk} ({self.status})"


def _unindexed_history_fk(to, *, null=True):
    """A placement history column that is only ever read with its row (see Placement's indexes)."""
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=null,
        blank=null,
        related_name="+",
        related_query_name="+",
    )


# Statement-level: allocation writes 100,000 placements in one INSERT, and one trigger call per
# statement writes the same history rows as one per row did, without a subtransaction per row.
@pghistory.track(
    level=pghistory.Statement,
    attrs={
        "partner": _unindexed_history_fk("tenants.Organisation", null=False),
        "assigned_to": _unindexed_history_fk(settings.AUTH_USER_MODEL),
        "placed_by": _unindexed_history_fk(settings.AUTH_USER_MODEL),
        "ended_by": _unindexed_history_fk(settings.AUTH_USER_MODEL),
        "agreement_version": _unindexed_history_fk("outsourcing.AgreementVersion"),
        "batch": _unindexed_history_fk("outsourcing.AllocationBatch"),
    },
)
class Placement(models.Model):
    # Indexes are few on purpose: allocation writes 100,000 rows at a time. The partner column is
    # covered by the composite index below; who placed or ended a placement and its agreement version
    # are read through the placement, never searched by. (The case column keeps its index: switching
    # db_index off there makes Django's migration drop every single-column index on case_id — the
    # partial unique index "one active placement per case" included.)
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="placements")
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )  # indexed below where set: new placements are unassigned
    status = models.CharField(_("status"), max_length=16, choices=PlacementStatus.choices, default=PlacementStatus.ACTIVE)
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    # When access ends: the term's end, or the date of an approved hold (留案).
    ends_at = models.DateTimeField(_("ends"))
    ended_at = models.DateTimeField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The terms it was placed under (null for placements made before agreements existed).
    agreement_version = models.ForeignKey(
        AgreementVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="placements", db_index=False
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)  # 手别: 1 = first outsourcing of this case
    bucket = models.CharField(_("bucket at placement"), max_length=4, blank=True)
    balance_at_placement = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    term_ends_at = models.DateTimeField(_("term ends"), null=True, blank=True)  # the agreement's term, before any hold
    held_until = models.DateTimeField(_("held until"), null=True, blank=True)
    batch = models.ForeignKey(AllocationBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="placements")
    arm = models.CharField(max_length=12, choices=Arm.choices, blank=True)
    recall_reason = models.CharField(_("recall reason"), max_length=300, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    objects = PlacementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["partner", "status", "ends_at"], name="placement_partner_active"),
            models.Index(fields=["ends_at"], condition=Q(status="active"), name="placement_active_ends"),  # expiry
            models.Index(fields=["assigned_to"], condition=Q(assigned_to__isnull=False), name="placement_assigned"),  # collectors' queues
            # The agency admin's assign page lists unassigned placements first, by the end of their term
            # (workbench.queue.agency_placements): 362 → 79 ms p95 at 1,000,000 cases (bench/bench_queue.py).
            models.Index(
                fields=["partner", "ends_at", "id"], condition=Q(status="active", assigned_to__isnull=True), name="placement_unassigned"
            ),
        ]
        constraints = [
            # One active placement per case, guarded by the database.
            models.UniqueConstraint(fields=["case"], condition=Q(status="active"), name="placement_one_active_per_case"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="placement_term_positive"),
            models.CheckConstraint(condition=Q(round__gte=1), name="placement_round_positive"),
        ]

    def __str__(self):
        return f"{self.case_id} → {self.partner_id} ({self.status})"

    @property
    def is_held(self):
        return self.held_until is not None

    def in_force(self, at=None):
        at = at or timezone.now()
        return self.status == PlacementStatus.ACTIVE and self.starts_at <= at < self.ends_at

    # Terms end at a local midnight (outsourcing/placement.py): the last day covered is the day before.
    @property
    def last_day(self):
        return last_local_day(self.ends_at)

    @property
    def term_last_day(self):
        return last_local_day(self.term_ends_at or self.ends_at)

    @property
    def held_through(self):
        return last_local_day(self.held_until)


def last_local_day(moment):
    """The last local day a term (or hold) ending at ``moment`` covers: the day before a midnight end."""
    if moment is None:
        return None
    return timezone.localdate(moment - datetime.timedelta(microseconds=1))


class HoldStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    LAPSED = "lapsed", _("Lapsed")  # the placement ended before anyone decided


@pghistory.track()
class HoldRequest(models.Model):
    """An agency's request to keep a case past the term (留案), decided by the lender."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="hold_requests")
    reason = models.CharField(_("reason"), max_length=500)
    until = models.DateTimeField(_("hold until"))
    status = models.CharField(_("status"), max_length=16, choices=HoldStatus.choices, default=HoldStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["placement"], condition=Q(status="pending"), name="hold_one_pending_per_placement"),
        ]

    def __str__(self):
        return f"hold {self.placement_id} until {self.last_day} ({self.status})"

    @property
    def last_day(self):
        return last_local_day(self.until)


# ---------------------------------------------------------------- commissions and statements
# Statements live in the core (portal.fees: agencies' commission statements and law firms' fee invoices share one
# lifecycle); ``Statement`` and ``StatementStatus`` stay importable from here for the callers that settle commissions.


class CommissionLine(models.Model):
    """What one lender payment earned an agency (佣金): attributed to the placement in force on the
    payment's date, at the rate the placement's agreement version gives its bucket and round (手别).
    Only recoveries inside the placement term earn commission (landscape.md §2.5 [N5]); a payment
    with no placement in force on its date gets no line at all. One line per payment, ever.

    A reversed payment (payments.PaymentReversal) adds one clawback line: the same placement, rate
    and payment, the recovery and commission negated, dated the day of the reversal. The earned line
    stays as it was (it may already be on an approved statement); the clawback lands on the statement
    of the reversal's month, or on the same one if neither is stated yet, so every statement still
    equals the sum of its lines.

    ``recovered`` is the money the payment *applied* to the balances (amount − unapplied,
    payments.models.effective_split): an overpayment's unapplied part earns nothing, and a payment that
    applied nothing gets no line. When a reversal re-applies a later payment and the money it applies
    changes (payments.PaymentPostingCorrection), an adjustment line (``correction`` set) carries the
    difference in recovery and commission, dated the reversal like a clawback; the earned line is never
    edited. A payment's commission is the sum of its lines."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, related_name="commission_lines")
    reversal = models.OneToOneField("payments.PaymentReversal", null=True, blank=True, on_delete=models.PROTECT, related_name="clawback")
    correction = models.OneToOneField(
        "payments.PaymentPostingCorrection", null=True, blank=True, on_delete=models.PROTECT, related_name="commission_adjustment"
    )
    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="commission_lines")
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False)
    agreement_version = models.ForeignKey(AgreementVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Copied from the payment and the placement so that a statement reads one table.
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+", db_index=False)
    paid_on = models.DateField(_("paid on"))
    bucket = models.CharField(_("bucket"), max_length=4, blank=True)
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    recovered = models.DecimalField(_("recovered"), max_digits=14, decimal_places=2)
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4)
    commission = models.DecimalField(_("commission"), max_digits=14, decimal_places=2)
    # The statement that settles the line (portal.fees: one lifecycle for agencies' and law firms' statements).
    statement = models.ForeignKey("fees.Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="commission_lines")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paid_on", "created_at", "id"]
        indexes = [
            models.Index(fields=["partner", "paid_on"], condition=Q(statement__isnull=True), name="commission_unstated"),
            models.Index(fields=["partner", "paid_on"], name="commission_partner_paid_on"),
        ]
        constraints = [
            # One earned line per payment; a clawback is one per reversal and an adjustment one per correction (the
            # OneToOnes above). A line is earned, a clawback or an adjustment, never two of them.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(reversal__isnull=True, correction__isnull=True), name="commission_one_line_per_payment"
            ),
            models.CheckConstraint(condition=Q(reversal__isnull=True) | Q(correction__isnull=True), name="commission_line_one_kind"),
            models.CheckConstraint(
                condition=Q(reversal__isnull=True, correction__isnull=True, recovered__gt=0)
                | Q(reversal__isnull=False, recovered__lt=0)
                | (Q(correction__isnull=False) & ~Q(recovered=0)),
                name="commission_recovered_sign",
            ),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="commission_rate_fraction"),
            # Between 0 and the recovery, of the recovery's sign: earned 0 ≤ commission ≤ recovered, clawback
            # recovered ≤ commission ≤ 0, an adjustment either way.
            models.CheckConstraint(
                condition=Q(recovered__gt=0, commission__gte=0, commission__lte=models.F("recovered"))
                | Q(recovered__lt=0, commission__lte=0, commission__gte=models.F("recovered")),
                name="commission_within_recovery",
            ),
        ]
        triggers = [
            # A line never changes: what it is for, whose it is, its date and its money. Only its statement is set
            # (or cleared while a draft).
            pgtrigger.Protect(
                name="commission_line_amounts_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__commission__df=pgtrigger.F("new__commission"))
                | pgtrigger.Q(old__recovered__df=pgtrigger.F("new__recovered"))
                | pgtrigger.Q(old__rate__df=pgtrigger.F("new__rate"))
                | pgtrigger.Q(old__placement_id__df=pgtrigger.F("new__placement_id"))
                | pgtrigger.Q(old__partner_id__df=pgtrigger.F("new__partner_id"))
                | pgtrigger.Q(old__payment_id__df=pgtrigger.F("new__payment_id"))
                | pgtrigger.Q(old__reversal_id__df=pgtrigger.F("new__reversal_id"))
                | pgtrigger.Q(old__correction_id__df=pgtrigger.F("new__correction_id"))
                | pgtrigger.Q(old__paid_on__df=pgtrigger.F("new__paid_on")),
            ),
            pgtrigger.Protect(name="commission_line_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.commission} on {self.recovered} ({self.paid_on})"
