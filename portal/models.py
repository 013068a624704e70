"""A lender's core data (tenant schema): debtors and their cases.

The foundation holds what access rules and isolation tests need; the
outsourcing issue extends cases with contacts, balances history, activity.
"""

import uuid

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.buckets import bucket_for  # noqa: F401  (the one definition lives in portal.buckets; re-exported)
from portal.lib import crypto, idnumber, phones


@pghistory.track(exclude=["id_number_ciphertext"], level=pghistory.Statement)
class Debtor(models.Model):
    """The borrower (借款人). The national ID number is stored encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    id_number_ciphertext = models.TextField()
    id_number_index = models.CharField(max_length=64)  # blind index for lookups (exact match: Meta.indexes)
    id_number_masked = models.CharField(_("ID number"), max_length=18)
    # Phones by type, dialled in this order: mobile → home → work → contacts (seed §1).
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    home_phone = models.CharField(_("home phone"), max_length=20, blank=True)
    work_phone = models.CharField(_("work phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    work_address = models.CharField(_("work address"), max_length=300, blank=True)
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        # A plain btree only: the blind index is looked up by equality, never by prefix (no varchar_pattern_ops copy).
        indexes = [models.Index(fields=["id_number_index"], name="debtor_id_number_index")]

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
        """The mobile number as the case page shows it (portal.lib.phones.mask, the one definition)."""
        return phones.mask(self.mobile)


class ContactRelation(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Sibling")
    RELATIVE = "relative", _("Other relative")
    COLLEAGUE = "colleague", _("Colleague")
    FRIEND = "friend", _("Friend")
    REFERENCE = "reference", _("Reference")
    OTHER = "other", _("Other")


@pghistory.track(level=pghistory.Statement)
class Contact(models.Model):
    """A relative or reference (联系人) the debtor named. Never told about the debt (NIFA convention)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by contact_position_unique (debtor, position): no second index on debtor alone.
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=16, choices=ContactRelation.choices)
    phone = models.CharField(_("phone"), max_length=20)
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["debtor", "position"], name="contact_position_unique")]

    def __str__(self):
        return f"{self.name} ({self.get_relation_display()})"


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    INTERNAL = "internal", _("Internal collection")
    PLACED = "placed", _("Placed with agency")
    LITIGATION = "litigation", _("In litigation")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off")
    CLOSED = "closed", _("Closed")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALMENTS = "equal_instalments", _("Equal instalments")  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")  # 等额本金
    INTEREST_ONLY = "interest_only", _("Interest first, principal at maturity")  # 先息后本
    BULLET = "bullet", _("Principal and interest at maturity")  # 到期一次还本付息


class RiskFlag(models.TextChoices):
    FRAUD = "fraud", _("Suspected fraud")
    DECEASED = "deceased", _("Deceased")
    ARRESTED = "arrested", _("Arrested")
    DISPUTE = "dispute", _("Disputes the debt")
    COMPLAINT = "complaint", _("Complaint")


# The four parts of what a debtor owes on a case; its balance is their sum (Case.balance, Case.balance_expression).
BALANCE_PARTS = ("principal_due", "interest_due", "penalty_due", "fees_due")


@pghistory.track(level=pghistory.Statement)
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
    annual_rate = models.DecimalField(_("annual rate (%)"), max_digits=7, decimal_places=4, null=True, blank=True)
    day_count_basis = models.PositiveSmallIntegerField(_("day-count basis"), choices=[(360, "360"), (365, "365")], default=365)
    term_months = models.PositiveSmallIntegerField(_("term (months)"), null=True, blank=True)
    repayment_method = models.CharField(_("repayment method"), max_length=24, choices=RepaymentMethod.choices, blank=True)
    overdue_since = models.DateField(_("overdue since"))
    last_payment_on = models.DateField(_("last payment"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.NEW)
    risk_flags = ArrayField(models.CharField(max_length=16, choices=RiskFlag.choices), default=list, blank=True)
    # 民法典 art. 189: a lender's acceleration (宣布提前到期) makes the whole debt due that day; the period runs from it.
    accelerated_on = models.DateField(_("accelerated on"), null=True, blank=True)
    # 诉讼时效: recomputed from LimitationEvent rows by portal.limitation (民法典 arts. 188, 195).
    limitation_expires_on = models.DateField(_("limitation expires"), null=True, blank=True)
    # The debtor agreed to pay or paid after the period expired (SPC 诉讼时效规定 art. 19): he may have waived the
    # defence for what he agreed or paid; a lawyer decides before litigation relies on it. Set by portal.limitation.
    limitation_review = models.BooleanField(_("limitation needs legal review"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(loan_amount__gte=0)
                & Q(principal_due__gte=0)
                & Q(interest_due__gte=0)
                & Q(penalty_due__gte=0)
                & Q(fees_due__gte=0),
                name="case_amounts_not_negative",
            ),
            models.CheckConstraint(condition=Q(annual_rate__isnull=True) | Q(annual_rate__gte=0), name="case_rate_not_negative"),
        ]
        indexes = [
            models.Index(fields=["overdue_since"], name="case_overdue_since"),
            models.Index(fields=["status"], name="case_status"),
            # The case list's filters (limitation due, product) on a million cases: ranges and equality on an index.
            # Limitation due/expired, then the list's keyset order (bench/bench_queue.py: the filter's own index,
            # used through keyset.paginate(ids_first=True); a plain date index alone was never chosen).
            models.Index(fields=["limitation_expires_on", "-created_at", "id"], name="case_limitation_keyset"),
            models.Index(fields=["product"], name="case_product"),
            # The case list's keyset order (portal.lib.keyset: created_at DESC, id).
            models.Index(fields=["-created_at", "id"], name="case_created_keyset"),
        ]

    def __str__(self):
        return self.contract_no

    @property
    def balance(self):
        """What the debtor owes: principal + interest + penalty interest + fees (BALANCE_PARTS)."""
        return sum((getattr(self, part) for part in BALANCE_PARTS[1:]), getattr(self, BALANCE_PARTS[0]))

    @staticmethod
    def balance_expression(prefix: str = ""):
        """``balance`` in SQL, for annotations and sums; ``prefix`` reaches a related case ("case__")."""
        first, *rest = (F(prefix + part) for part in BALANCE_PARTS)
        for part in rest:
            first = first + part
        return first

    def dpd(self, today=None):
        today = today or timezone.localdate()
        return max(0, (today - self.overdue_since).days)

    @property
    def bucket(self):
        return bucket_for(self.dpd())

    @property
    def limitation_summary(self):
        """The limitation card's explanation (portal.limitation.case_summary), for templates."""
        from portal import limitation  # limitation imports this module

        return limitation.case_summary(self)


class LimitationEventKind(models.TextChoices):
    """What starts or restarts the three-year limitation period (民法典 arts. 188, 195)."""

    DUE = "due", _("Debt fell due")
    DEMAND = "demand", _("Demand for payment reached the debtor")  # art. 195(一)
    ACKNOWLEDGMENT = "acknowledgment", _("Debtor agreed to pay")  # art. 195(二), e.g. a promise to pay
    PARTIAL_PAYMENT = "partial_payment", _("Partial payment")  # 部分履行 counts as agreement to perform
    LEGAL_ACTION = "legal_action", _("Suit, payment order or preservation filed")  # art. 195(三)(四)


class LimitationEffect(models.TextChoices):
    """What an event did to the period, walking the events in date order (portal.limitation.walk)."""

    COUNTED = "counted", _("Counted")  # started or interrupted a running period (arts. 188, 195)
    AFTER_EXPIRY = "after_expiry", _("After expiry: no effect")  # only a running period can be interrupted (art. 195)
    # SPC 诉讼时效规定 art. 19: the debtor's agreement or payment after expiry; the date stays, a lawyer reviews.
    REVIEW = "after_expiry_review", _("After expiry: debtor's later agreement, legal review")


class LimitationEvent(models.Model):
    """Evidence behind a case's limitation date: each row names what happened, when, and where it is recorded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by limitation_event_once (case, ...): no second index on case alone.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="limitation_events", db_index=False)
    kind = models.CharField(_("event"), max_length=20, choices=LimitationEventKind.choices)
    occurred_on = models.DateField(_("date"))
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    source_type = models.CharField(max_length=64, blank=True)  # e.g. outsourcing.contactattempt, portal.payment
    source_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Evidence that turned out not to be any (a payment reversed: no money, no performance under art. 195)
    # is withdrawn, never deleted: it no longer counts towards the date, and the case shows why.
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_note = models.CharField(_("why withdrawn"), max_length=300, blank=True)
    # Stored by portal.limitation.recompute (and the import's SQL twin) for litigation to read.
    effect = models.CharField(_("effect"), max_length=24, choices=LimitationEffect.choices, default=LimitationEffect.COUNTED)

    class Meta:
        ordering = ["-occurred_on", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "occurred_on", "source_type", "source_id"], name="limitation_event_once")
        ]


class BalanceSnapshot(models.Model):
    """The balances a case had as of a date, from an import or a posting: the history behind the figures."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by balance_case_asof (case, -as_of): no second index on case alone.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="balance_history", db_index=False)
    as_of = models.DateField()
    principal_due = models.DecimalField(max_digits=14, decimal_places=2)
    interest_due = models.DecimalField(max_digits=14, decimal_places=2)
    penalty_due = models.DecimalField(max_digits=14, decimal_places=2)
    fees_due = models.DecimalField(max_digits=14, decimal_places=2)
    source = models.CharField(max_length=64)  # "import:<batch id>", "payment:<id>", "reversal:<id>", "adjustment"
    recorded_at = models.DateTimeField(default=timezone.now)

    SOURCE_LABELS = {"import": _("Import"), "payment": _("Payment"), "reversal": _("Payment reversed"), "demo": _("Demo data")}

    @property
    def source_label(self):
        """What wrote the snapshot, in words ("import:<id>" → Import)."""
        kind = self.source.split(":", 1)[0]
        return self.SOURCE_LABELS.get(kind, self.source)

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["case", "-as_of"], name="balance_case_asof")]
