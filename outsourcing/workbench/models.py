"""The agency workbench (催收作业台): who works which placement, every contact attempt, promises to pay,
call recordings, field visits, and the lender's contact policy that governs them.

All of it lives in the lender's schema, next to the cases it is about. Agencies reach it only
through their active placements (portal.access / outsourcing.access), so a recall closes it at once.
"""

import datetime
import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The widest contact window any lender may set: 08:00–21:00 debtor-local. The NIFA convention's
# window is reported as 08:00–21:00 by some sources and 08:00–22:00 by others; we take the stricter
# reading (domain/litigation-and-compliance-cn.md §6.1, §6.2). A lender may only narrow it.
EARLIEST_CONTACT = datetime.time(8, 0)
LATEST_CONTACT = datetime.time(21, 0)
# A daily cap per debtor, counted across every agency (and the lender's own staff). The NIFA
# convention (互联网金融逾期债务催收自律公约, 2018) and 《银行保险机构消费者权益保护管理办法》
# (2022年第9号令) prohibit harassing debtors, of which repeated calls are the commonest form, but fix
# no number; the number is the lender's setting. Three a day is a conservative default.
DEFAULT_DAILY_CAP = 3
MAX_DAILY_CAP = 10
DEFAULT_DEBTOR_TIME_ZONE = "Asia/Shanghai"
# A payment made on a promise's due date often reaches the lender's account the next bank day (T+1):
# a promise due on D counts payments dated up to D + grace, and breaks only after that day.
DEFAULT_PROMISE_GRACE_DAYS = 1
MAX_PROMISE_GRACE_DAYS = 5


# The server names stored files; the uploader's file name is kept only as metadata.
def recording_upload_to(instance, filename):
    return f"workbench/recordings/{uuid.uuid4().hex}"


def visit_photo_upload_to(instance, filename):
    return f"workbench/visits/{uuid.uuid4().hex}"


@pghistory.track()
class ContactPolicy(models.Model):
    """The lender's contact rules for everyone who collects its cases. One row per lender schema
    (id 1); without it the defaults apply. The database refuses a window wider than 08:00–21:00."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    window_start = models.TimeField(_("earliest contact"), default=EARLIEST_CONTACT)
    window_end = models.TimeField(_("latest contact"), default=LATEST_CONTACT)
    daily_cap_per_debtor = models.PositiveSmallIntegerField(_("contact attempts per debtor per day"), default=DEFAULT_DAILY_CAP)
    debtor_time_zone = models.CharField(_("debtor time zone"), max_length=64, default=DEFAULT_DEBTOR_TIME_ZONE)
    promise_grace_days = models.PositiveSmallIntegerField(_("grace days for promises to pay"), default=DEFAULT_PROMISE_GRACE_DAYS)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="contact_policy_single_row"),
            models.CheckConstraint(
                condition=Q(window_start__gte=EARLIEST_CONTACT)
                & Q(window_end__lte=LATEST_CONTACT)
                & Q(window_start__lt=models.F("window_end")),
                name="contact_policy_window_within_0800_2100",
            ),
            models.CheckConstraint(
                condition=Q(daily_cap_per_debtor__gte=1) & Q(daily_cap_per_debtor__lte=MAX_DAILY_CAP), name="contact_policy_cap_range"
            ),
            models.CheckConstraint(condition=Q(promise_grace_days__lte=MAX_PROMISE_GRACE_DAYS), name="contact_policy_grace_range"),
        ]

    def __str__(self):
        return f"{self.window_start:%H:%M}–{self.window_end:%H:%M}, {self.daily_cap_per_debtor}/day ({self.debtor_time_zone})"

    @classmethod
    def current(cls):
        """The lender's policy, or the defaults (unsaved) when none was set."""
        return cls.objects.filter(pk=1).first() or cls()


class CollectorAssignment(models.Model):
    """History of who was given a placement to work. The current assignee is Placement.assigned_to,
    written only by services.assign_cases together with a row here."""

    id = models.BigAutoField(primary_key=True)
    placement = models.ForeignKey("outsourcing.Placement", on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    previous_collector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-assigned_at", "-id"]
        indexes = [models.Index(fields=["placement", "-assigned_at"], name="wb_assignment_placement")]
        triggers = [pgtrigger.Protect(name="wb_assignment_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")
    VISIT = "visit", _("Visit")


class NumberKind(models.TextChoices):
    """Dialled in this order (seed §1): mobile → home → company → the debtor's contacts."""

    MOBILE = "mobile", _("Mobile")
    HOME = "home", _("Home phone")
    WORK = "work", _("Company phone")
    CONTACT = "contact", _("Contact person")


NUMBER_ORDER = [NumberKind.MOBILE, NumberKind.HOME, NumberKind.WORK, NumberKind.CONTACT]


class Party(models.TextChoices):
    NONE = "none", _("Nobody")
    DEBTOR = "debtor", _("Debtor (identity verified)")
    THIRD_PARTY = "third_party", _("Third party")


class IdentityMethod(models.TextChoices):
    """How the person on the line proved to be the debtor; the answer is checked against the ID number."""

    ID_LAST4 = "id_last4", _("Name and last four characters of the ID number")
    BIRTH_DATE = "birth_date", _("Name and date of birth")


class Outcome(models.TextChoices):
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    SWITCHED_OFF = "switched_off", _("Switched off or out of service")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    MESSAGE_SENT = "message_sent", _("Message sent")
    THIRD_PARTY = "third_party", _("Third party reached, message left")
    DEBTOR_REACHED = "debtor_reached", _("Debtor reached, no commitment")
    REFUSES = "refuses", _("Refuses to pay")
    PROMISE_TO_PAY = "promise_to_pay", _("Promise to pay")
    DISPUTE = "dispute", _("Disputes the debt")
    CLAIMS_PAID = "claims_paid", _("Claims to have paid")
    COMPLAINT = "complaint", _("Complaint")
    DECEASED = "deceased", _("Reported deceased")
    ARRESTED = "arrested", _("Reported arrested")
    # Never chosen by a collector: services.close_orphaned_attempts closes with it an attempt still open
    # when its placement ended (recall, expiry, return), because nothing may be recorded once access ended.
    PLACEMENT_ENDED = "placement_ended", _("Closed unlogged: the placement ended")


class ContactAttempt(models.Model):
    """One attempt to reach a debtor (催记): opened when the collector dials (the conduct rules are
    checked then), closed with an outcome. Records are the next collector's briefing and the
    lender's evidence, so a closed attempt can never be changed or deleted (seed §1: no false records).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by the composite indexes in Meta (each starts with the foreign key), not one index each.
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+", db_index=False)
    debtor = models.ForeignKey("portal.Debtor", on_delete=models.PROTECT, related_name="+", db_index=False)  # the cap counts per debtor
    # Null for the lender's own collection (before placement, or imported history).
    placement = models.ForeignKey(
        "outsourcing.Placement", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    organisation = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    number_kind = models.CharField(_("number"), max_length=8, choices=NumberKind.choices, blank=True)
    contact = models.ForeignKey("portal.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    number_dialled = models.CharField(_("number dialled"), max_length=20, blank=True)
    party_reached = models.CharField(_("party reached"), max_length=12, choices=Party.choices, default=Party.NONE)
    identity_verified = models.BooleanField(_("identity verified"), default=False)
    identity_method = models.CharField(_("verification method"), max_length=12, choices=IdentityMethod.choices, blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    identity_failures = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)  # blank while the call is open
    note = models.TextField(_("note"), blank=True)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    debtor_local_date = models.DateField(_("debtor-local date"))

    class Meta:
        ordering = ["-started_at", "id"]
        indexes = [
            models.Index(fields=["debtor", "debtor_local_date"], name="wb_attempt_debtor_day"),  # the daily cap
            models.Index(fields=["placement", "-started_at"], name="wb_attempt_placement_recent"),  # the queue
            models.Index(fields=["case", "-started_at"], name="wb_attempt_case_recent"),  # the history
            # The scorecards' contact rate (outsourcing.scorecards): "has this placement's agency reached the debtor?"
            # answered from the index alone. Partial, so it holds only the one attempt in five or so that reached the debtor.
            models.Index(fields=["placement", "organisation"], condition=Q(party_reached="debtor"), name="wb_attempt_placement_contact"),
            # Open calls only (a handful at any time): the queue and case page look for calls left open when a
            # placement ended (services.close_orphaned_attempts) without reading a collector's whole history.
            models.Index(fields=["collector"], condition=Q(outcome=""), name="wb_attempt_open_by_collector"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="", ended_at__isnull=True) | (~Q(outcome="") & Q(ended_at__isnull=False)),
                name="wb_attempt_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(identity_verified=False) | ~Q(identity_method=""), name="wb_attempt_verification_has_method"
            ),
            models.CheckConstraint(condition=~Q(party_reached="debtor") | Q(identity_verified=True), name="wb_attempt_debtor_is_verified"),
            models.CheckConstraint(condition=~Q(number_kind="contact") | Q(contact__isnull=False), name="wb_attempt_contact_named"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="wb_attempt_closed_is_final", operation=pgtrigger.Update, condition=pgtrigger.Condition("OLD.outcome <> ''")
            ),
            pgtrigger.Protect(name="wb_attempt_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.started_at:%Y-%m-%d %H:%M} {self.outcome or 'open'}"

    @property
    def is_open(self):
        return not self.outcome


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    PARTLY_KEPT = "partly_kept", _("Partly kept")
    BROKEN = "broken", _("Broken")


@pghistory.track()
class PromiseToPay(models.Model):
    """A debtor's promise (承诺还款): an amount by a date, made in a verified call. Its status is
    computed from the payments on the case (services.evaluate_promise)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+", db_index=False)
    placement = models.ForeignKey("outsourcing.Placement", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    attempt = models.OneToOneField(ContactAttempt, on_delete=models.PROTECT, related_name="promise")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    promised_on = models.DateField(_("promised on"))  # debtor-local date of the call
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.PENDING)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_on", "-created_at"]
        indexes = [
            # The queue's "promises due today": only pending promises, looked up by date.
            models.Index(fields=["due_on", "placement"], condition=Q(status="pending"), name="wb_promise_pending_due"),
            models.Index(fields=["case", "-due_on"], name="wb_promise_case"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="wb_promise_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="wb_promise_paid_not_negative"),
            models.CheckConstraint(condition=Q(due_on__gte=models.F("promised_on")), name="wb_promise_due_after_promise"),
        ]

    def __str__(self):
        return f"{self.amount} by {self.due_on} ({self.status})"


class CallRecording(models.Model):
    """The recording of a call (录音): evidence if a debtor accuses a collector of misconduct (seed §1).
    Kept as long as the case; there is no delete."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    attempt = models.ForeignKey(ContactAttempt, on_delete=models.PROTECT, related_name="recordings")
    file = models.FileField(upload_to=recording_upload_to)
    original_name = models.CharField(max_length=200, blank=True)
    mime = models.CharField(max_length=32)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]
        triggers = [pgtrigger.Protect(name="wb_recording_kept", operation=pgtrigger.Update | pgtrigger.Delete)]


class VisitReason(models.TextChoices):
    """Why phone collection asks for a field visit (外访): major risk, or repeated broken promises (seed §2)."""

    FRAUD = "fraud", _("Suspected fraud")
    DECEASED = "deceased", _("Reported deceased")
    ARRESTED = "arrested", _("Reported arrested")
    BROKEN_PROMISES = "broken_promises", _("Repeated broken promises")
    UNREACHABLE = "unreachable", _("Unreachable by phone")


class VisitStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting the lender")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


@pghistory.track()
class FieldVisitRequest(models.Model):
    """An agency's request to visit the debtor, decided by the lender."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+", db_index=False)
    placement = models.ForeignKey("outsourcing.Placement", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=16, choices=VisitReason.choices)
    note = models.TextField(_("note"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(_("status"), max_length=12, choices=VisitStatus.choices, default=VisitStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    # An approval is a contact decision: outside the contact window it needs a recorded reason (conduct.py).
    decision_window_justification = models.TextField(_("why approved outside the contact window"), blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["status", "-requested_at"], name="wb_visit_status"),
            models.Index(fields=["case", "-requested_at"], name="wb_visit_case"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"), name="wb_visit_one_pending_per_case"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True) | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="wb_visit_decided_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} ({self.status})"


class FieldVisitReport(models.Model):
    """What the visitor found, with photos; it lands on the case's history."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(FieldVisitRequest, on_delete=models.PROTECT, related_name="report")
    findings = models.TextField(_("findings"))
    visited_at = models.DateTimeField(_("visited at"))
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # A visit outside the contact window must say why (conduct.py); shown to the lender with the report.
    window_justification = models.TextField(_("why the visit was outside the contact window"), blank=True)

    class Meta:
        ordering = ["-visited_at"]
        indexes = [models.Index(fields=["visited_at"], name="wb_visit_report_visited")]
        triggers = [pgtrigger.Protect(name="wb_visit_report_final", operation=pgtrigger.Update | pgtrigger.Delete)]


class FieldVisitCharge(models.Model):
    """The fee a reported field visit earns the agency (外访费), at the agreement version its placement was made under
    (outsourcing/field_visit_fees.py). One per report, never edited or deleted: only its statement is set (or cleared
    while a draft) — the "field_visit" kind of the core's statements (portal.fees) settles it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.OneToOneField(FieldVisitReport, on_delete=models.PROTECT, related_name="charge")
    placement = models.ForeignKey("outsourcing.Placement", on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("tenants.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False)
    case = models.ForeignKey("portal.Case", on_delete=models.PROTECT, related_name="+", db_index=False)
    visited_on = models.DateField(_("visited on"))  # lender-local (Asia/Shanghai) date of the visit
    amount = models.DecimalField(_("fee"), max_digits=10, decimal_places=2)
    statement = models.ForeignKey("fees.Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="field_visit_charges")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["visited_on", "created_at", "id"]
        indexes = [models.Index(fields=["partner", "visited_on"], condition=Q(statement__isnull=True), name="wb_visit_charge_unstated")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="wb_visit_charge_positive")]
        triggers = [
            pgtrigger.Protect(
                name="wb_visit_charge_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__amount__df=pgtrigger.F("new__amount"))
                | pgtrigger.Q(old__report_id__df=pgtrigger.F("new__report_id"))
                | pgtrigger.Q(old__placement_id__df=pgtrigger.F("new__placement_id"))
                | pgtrigger.Q(old__partner_id__df=pgtrigger.F("new__partner_id"))
                | pgtrigger.Q(old__case_id__df=pgtrigger.F("new__case_id"))
                | pgtrigger.Q(old__visited_on__df=pgtrigger.F("new__visited_on")),
            ),
            pgtrigger.Protect(name="wb_visit_charge_never_deleted", operation=pgtrigger.Delete),
        ]


class FieldVisitPhoto(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(FieldVisitReport, on_delete=models.PROTECT, related_name="photos")
    position = models.PositiveSmallIntegerField(default=1)
    file = models.FileField(upload_to=visit_photo_upload_to)
    original_name = models.CharField(max_length=200, blank=True)
    mime = models.CharField(max_length=16)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["report", "position"]
        triggers = [pgtrigger.Protect(name="wb_visit_photo_kept", operation=pgtrigger.Update | pgtrigger.Delete)]
