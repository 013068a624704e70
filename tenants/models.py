"""The public schema: who is who.

Lenders (tenants) and their domains; partner organisations (collection
agencies, law firms) with their licences; people, memberships and roles;
engagements between a lender and a partner. Debtor data never lives here.
"""

import uuid

import pghistory
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class OrganisationKind(models.TextChoices):
    PLATFORM = "platform", _("Platform")
    LENDER = "lender", _("Lender")
    AGENCY = "agency", _("Collection agency")  # 催收机构
    LAW_FIRM = "law_firm", _("Law firm")  # 律师事务所


PARTNER_KINDS = (OrganisationKind.AGENCY, OrganisationKind.LAW_FIRM)


@pghistory.track()
class Organisation(models.Model):
    """Any organisation a person can belong to: the platform, a lender, a partner."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=OrganisationKind.choices)
    unified_social_credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)  # 统一社会信用代码
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_partner(self):
        return self.kind in PARTNER_KINDS


class LenderQuerySet(models.QuerySet):
    def serving(self):
        """Real lenders: not the public schema's row, the template, or a spare schema."""
        return self.filter(is_template=False, is_spare=False).exclude(schema_name="public")


class Lender(TenantMixin):
    """A lender is a tenant: one PostgreSQL schema holds all of its cases.

    Two kinds of hidden rows exist so that ``migrate_schemas`` keeps their
    schemas current: the template new schemas are cloned from, and spare
    schemas cloned ahead of time, which provisioning claims by renaming.
    """

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="lender")
    is_template = models.BooleanField(default=False, editable=False)
    is_spare = models.BooleanField(default=False, editable=False)

    objects = LenderQuerySet.as_manager()
    created_at = models.DateTimeField(default=timezone.now)
    auto_create_schema = True
    auto_drop_schema = False

    class Meta:
        ordering = ["organisation__name"]

    def __str__(self):
        return self.organisation.name

    @property
    def name(self):
        return self.organisation.name

    @property
    def slug(self):
        return self.organisation.slug


class Domain(DomainMixin):
    pass


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractBaseUser, PermissionsMixin):
    """One global account per person; what they may do comes from memberships."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    preferred_language = models.CharField(max_length=10, blank=True)
    # Set when someone other than the person chose the password (a command, a seed): they change it at first sign-in.
    must_change_password = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.full_name or self.email

    @property
    def is_staff(self):  # Django admin is not used; keep the attribute for libraries.
        return False


class Role(models.TextChoices):
    PLATFORM_STAFF = "platform_staff", _("Platform staff")
    LENDER_ADMIN = "lender_admin", _("Lender admin")
    COLLECTIONS_MANAGER = "collections_manager", _("Collections manager")
    LEGAL_MANAGER = "legal_manager", _("Legal manager")
    FINANCE = "finance", _("Finance")
    AGENCY_ADMIN = "agency_admin", _("Agency admin")
    COLLECTOR = "collector", _("Collector")  # 催收员
    LAWYER = "lawyer", _("Lawyer")  # 律师
    PARALEGAL = "paralegal", _("Paralegal")  # 律师助理


# Which roles an organisation of each kind can give. In-house legal teams are
# lawyers and paralegals of the lender itself.
ROLES_BY_KIND = {
    OrganisationKind.PLATFORM: {Role.PLATFORM_STAFF},
    OrganisationKind.LENDER: {Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER, Role.LEGAL_MANAGER, Role.FINANCE, Role.LAWYER, Role.PARALEGAL},
    OrganisationKind.AGENCY: {Role.AGENCY_ADMIN, Role.COLLECTOR},
    OrganisationKind.LAW_FIRM: {Role.LAWYER, Role.PARALEGAL},
}
# People whose individual qualification is recorded (the seed asks for qualified collectors).
PRACTITIONER_ROLES = {Role.COLLECTOR, Role.LAWYER, Role.PARALEGAL}
# Two-factor authentication is required for these roles (issue #2 item 5; issue item 9: also finance,
# who record and reverse money, and agency admins, who hand cases to collectors). Offered to everyone else.
ROLES_REQUIRING_2FA = {Role.PLATFORM_STAFF, Role.LENDER_ADMIN, Role.FINANCE, Role.AGENCY_ADMIN}


@pghistory.track()
class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation", "role"], name="membership_unique_role")]
        ordering = ["organisation__name", "role"]

    def __str__(self):
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"


class LicenceKind(models.TextChoices):
    COLLECTION = "collection", _("Debt collection business licence")
    LAW_FIRM = "law_firm", _("Law firm practice licence")  # 律师事务所执业许可证


class LicenceStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


def licence_upload_to(instance, filename):
    # The server chooses the stored name; the user's filename is kept only as metadata.
    return f"licences/{instance.organisation_id}/{uuid.uuid4().hex}"


@pghistory.track()
class Licence(models.Model):
    """A partner's licence (资质), verified by platform staff before any case is placed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="licences")
    kind = models.CharField(_("kind"), max_length=16, choices=LicenceKind.choices)
    number = models.CharField(_("licence number"), max_length=64)
    issuing_authority = models.CharField(_("issuing authority"), max_length=200)
    scope = models.CharField(_("scope"), max_length=300, blank=True)
    regions = models.CharField(_("regions"), max_length=300, blank=True, help_text=_("Comma-separated provinces or cities"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    document = models.FileField(_("document"), upload_to=licence_upload_to, blank=True)
    document_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.PENDING)
    verified_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-valid_to"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="licence_valid_range"),
            models.UniqueConstraint(fields=["organisation", "kind", "number"], name="licence_unique_number"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day):
        return self.status == LicenceStatus.VERIFIED and self.valid_from <= day <= self.valid_to


@pghistory.track()
class PractitionerCertificate(models.Model):
    """An individual collector's or lawyer's certificate (从业资格 / 律师执业证)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="certificates")
    number = models.CharField(_("certificate number"), max_length=64)
    issuing_authority = models.CharField(_("issuing authority"), max_length=200)
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=16, choices=LicenceStatus.choices, default=LicenceStatus.PENDING)
    verified_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_to"]

    def __str__(self):
        return f"{self.number} ({self.membership.user})"

    def is_valid_on(self, day):
        return self.status == LicenceStatus.VERIFIED and day <= self.valid_to


class EngagementStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    ENDED = "ended", _("Ended")


@pghistory.track()
class Engagement(models.Model):
    """A lender ↔ partner relationship. Only an active one opens the lender's door."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lender = models.ForeignKey(Lender, on_delete=models.CASCADE, related_name="engagements")
    partner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="engagements")
    status = models.CharField(_("status"), max_length=16, choices=EngagementStatus.choices, default=EngagementStatus.PENDING)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["partner__name"]
        constraints = [models.UniqueConstraint(fields=["lender", "partner"], name="engagement_unique_pair")]

    def __str__(self):
        return f"{self.lender} ↔ {self.partner} ({self.get_status_display()})"


class WorkspaceTicket(models.Model):
    """A one-use, short-lived pass from the public host to a lender's host.

    Session cookies are per host, so entering a lender's workspace hands the
    signed-in person over with a ticket claimed exactly once (compare-and-swap).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    lender = models.ForeignKey(Lender, on_delete=models.CASCADE)
    otp_device_id = models.CharField(max_length=100, blank=True)
    next_path = models.CharField(max_length=300, default="/")
    # SHA-256 of the one-time value shown only to the browser that asked: the hand-off POST must carry it.
    nonce_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)


class Invitation(models.Model):
    """An invitation to join an organisation: the only way people are added from a screen.

    The link carries a random token of which only the SHA-256 is stored; it
    works once (compare-and-swap on ``accepted_at``) until ``expires_at``.
    An existing account is never attached by the inviter: its owner accepts,
    signed in as themselves. A new person chooses their own password.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    roles = ArrayField(models.CharField(max_length=32, choices=Role.choices))
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.organisation}"

    @property
    def role_labels(self):
        return [str(Role(role).label) for role in self.roles]

    def is_open(self, now=None):
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class UserSession(models.Model):
    """Which session keys belong to whom, so disabling a person ends them all at once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
