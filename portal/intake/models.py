"""Imports of cases (lender schema): each uploaded file, the column layouts lenders saved, integration tokens."""

import datetime
import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import IntakeError, RowError


class BatchStatus(models.TextChoices):
    MAPPING = "mapping", _("Columns to map")
    VALIDATING = "validating", _("Checking")
    VALIDATED = "validated", _("Checked")
    COMMITTING = "committing", _("Importing")
    COMMITTED = "committed", _("Imported")
    FAILED = "failed", _("Failed")


class BatchSource(models.TextChoices):
    WEB = "web", _("Upload")
    API = "api", _("API")
    COMMAND = "command", _("Command line")


def batch_file_path(instance, filename):
    # Server-chosen name under the batch's folder (OWASP: never the uploader's file name).
    return f"intake/{instance.pk}/original.{instance.format or 'bin'}"


class ImportBatch(models.Model):
    """One file handed over for import: checked as a whole, then committed in one transaction, once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Sealed with the field keys (portal.lib.filecrypt) while the batch is worked on; deleted once it is
    # committed or has failed, or by the retention task (PIPL art. 19: kept no longer than needed).
    file = models.FileField(upload_to=batch_file_path, max_length=200, blank=True)
    file_deleted_at = models.DateTimeField(null=True, blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    format = models.CharField(max_length=8, blank=True)  # csv, xlsx, json
    encoding = models.CharField(max_length=16, blank=True)  # utf-8, utf-8-sig, gb18030
    source = models.CharField(max_length=8, choices=BatchSource.choices, default=BatchSource.WEB)
    headers = models.JSONField(default=list, blank=True)  # the file's header row, for the mapping step
    mapping = models.JSONField(default=dict, blank=True)  # {canonical: source header} used
    mapping_name = models.CharField(max_length=100, blank=True)  # the saved mapping applied, if any
    status = models.CharField(_("status"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.MAPPING)
    error = models.JSONField(default=dict, blank=True)  # file-level problem: {"code", "params"}
    rows = models.PositiveIntegerField(default=0)
    valid = models.PositiveIntegerField(default=0)
    would_create = models.PositiveIntegerField(default=0)
    would_update = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.JSONField(default=list, blank=True)  # RowError.as_dict(), the first MAX_STORED_ERRORS
    rejected_total = models.PositiveIntegerField(default=0)  # every refused cell, stored or not
    commit_after_validation = models.BooleanField(default=False)  # API: one request, validate then commit
    job_id = models.UUIDField(null=True, blank=True)  # the job working on it now (portal.jobs.Job, same schema)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    token_id = models.UUIDField(null=True, blank=True)  # IntegrationToken, for API imports
    created_at = models.DateTimeField(default=timezone.now)
    validated_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    MAX_STORED_ERRORS = 50_000

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid__lte=models.F("rows")), name="intake_batch_valid_within_rows"),
        ]

    def __str__(self):
        return f"{self.original_name} ({self.status})"

    @property
    def rejected_rows(self) -> int:
        return self.rows - self.valid

    @property
    def file_error(self) -> IntakeError | None:
        return IntakeError.from_dict(self.error) if self.error else None

    def row_errors(self):
        return [RowError.from_dict(item) for item in self.rejected]

    @property
    def encoding_label(self) -> str:
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "gb18030": "GB18030"}.get(self.encoding, self.encoding)

    @property
    def ignored_headers(self) -> list:
        """The file's columns that were not read as any field."""
        used = set(self.mapping.values())
        return [header for header in self.headers if header.strip() and header not in used]

    @property
    def is_busy(self) -> bool:
        return self.status in (BatchStatus.VALIDATING, BatchStatus.COMMITTING)

    @property
    def has_file(self) -> bool:
        return bool(self.file.name) and self.file_deleted_at is None


class ColumnMapping(models.Model):
    """A lender's own export layout, saved once: {canonical field: the header in their file}."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    mapping = models.JSONField(default=dict)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TokenScope(models.TextChoices):
    """What an integration token may do: each API endpoint requires one (least privilege, ASVS 13.3)."""

    CASES = "cases", _("Push cases")
    PAYMENTS = "payments", _("Push payments")
    REVERSALS = "reversals", _("Reverse payments")


# A token lives a year unless revoked or rotated sooner (the key then has to be replaced on purpose).
TOKEN_LIFETIME = datetime.timedelta(days=365)


def default_token_expiry():
    return timezone.now() + TOKEN_LIFETIME


class IntegrationToken(models.Model):
    """A key a lender's own system uses to push cases. Only its SHA-256 is kept; the key is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16)  # the key's first characters, to tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=16, choices=TokenScope.choices), default=list, blank=True, verbose_name=_("scopes"))
    expires_at = models.DateTimeField(_("expires"), default=default_token_expiry)
    # Set when the token was rotated: the token that replaces it (this one then works until the grace period ends).
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired()

    @property
    def state(self) -> str:
        """For the tokens page: "revoked", "expired", "rotating" (replaced, accepted until expires_at) or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired():
            return "expired"
        return "rotating" if self.replaced_by_id else "active"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def scope_labels(self) -> list[str]:
        return [str(TokenScope(scope).label) for scope in TokenScope.values if scope in self.scopes]
