"""Writes to the public schema: provisioning, organisations, licences, engagements, people.

Keyword-only functions that own their transactions (HackSoft style); views,
management commands and tests all call these.
"""

import hashlib
import re
import secrets
import time
import uuid

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.clone import CLONE_SCHEMA_FUNCTION
from django_tenants.utils import schema_exists

from . import hooks
from .models import (
    ROLES_BY_KIND,
    Domain,
    Engagement,
    EngagementStatus,
    Invitation,
    Lender,
    Licence,
    LicenceStatus,
    Membership,
    Organisation,
    OrganisationKind,
    User,
    UserSession,
    WorkspaceTicket,
)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# Host names that must never become a lender's address.
RESERVED_SLUGS = {"www", "api", "admin", "static", "media", "mail", "platform", "public", "template", "status"}
TEMPLATE_SCHEMA = settings.TENANT_BASE_SCHEMA


def schema_name_for(slug: str) -> str:
    # Generated, never chosen by a user (django-tenant-users#709).
    return "l_" + slug.replace("-", "_")


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise ValidationError(_("Use 3–32 lowercase letters, digits or hyphens, starting with a letter."))
    if slug in RESERVED_SLUGS or Organisation.objects.filter(slug=slug).exists():
        raise ValidationError(_("This short name is already taken."))
    return slug


def ensure_public_tenant() -> Lender:
    """The public schema's own tenant row and the bare base domain (idempotent)."""
    org, _created = Organisation.objects.get_or_create(slug="platform", defaults={"name": "Caseport", "kind": OrganisationKind.PLATFORM})
    lender = Lender.objects.filter(schema_name="public").first()
    if lender is None:
        lender = Lender(schema_name="public", organisation=org)
        lender.auto_create_schema = False
        lender.save()
    Domain.objects.get_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": lender, "is_primary": True})
    return lender


def ensure_template() -> Lender:
    """The migrated template schema new lenders are cloned from (idempotent).

    It is a hidden Lender row so that ``migrate_schemas`` keeps it current.
    """
    template = Lender.objects.filter(is_template=True).first()
    if template is not None and schema_exists(template.schema_name):
        return template
    org, _created = Organisation.objects.get_or_create(slug="_template", defaults={"name": "(template)", "kind": OrganisationKind.LENDER})
    if template is None:
        template = Lender(schema_name=TEMPLATE_SCHEMA, organisation=org, is_template=True)
    template.auto_create_schema = False
    template.save()
    template.create_schema(check_if_exists=True, verbosity=0)  # replays migrations, once
    ensure_clone_function()
    return template


def ensure_clone_function(*, refresh: bool = False):
    """Install django-tenants' clone_schema() PL/pgSQL function once (idempotent).

    Installed through the raw driver cursor: the function body is full of '%'
    signs, which a parameterised execute (e.g. one wrapped by pghistory's
    context injection inside a request) would read as placeholders.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        if cursor.fetchone() and not refresh:
            return
    db_user = settings.DATABASES["default"].get("USER") or "postgres"
    connection.ensure_connection()
    with connection.connection.cursor() as raw:
        raw.execute(CLONE_SCHEMA_FUNCTION.format(db_user=db_user))


def replay_migrations(schema_name: str):
    """Create an empty schema and run every tenant migration in it (the slow path)."""
    from django.core.management import call_command
    from django_tenants.postgresql_backend.base import _check_schema_name

    _check_schema_name(schema_name)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(schema_name)}")
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)


def clone_schema(source: str, target: str):
    """Copy the template schema (tables, constraints, triggers, django_migrations rows) to a new one."""
    ensure_clone_function()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clone_schema(%s, %s, %s)", [source, target, "DATA"])
    complete_clone(source, target)


CONSTRAINTS_SQL = """
    SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = con.connamespace
    WHERE n.nspname = %s ORDER BY con.contype = 'f', con.conname
"""
INDEXES_SQL = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s"


def complete_clone(source: str, target: str) -> list[str]:
    """Make the copy carry the template's every constraint and index, under the template's names.

    django-tenants' clone function renames some unique constraints (e.g.
    ``*_key`` for Django's ``*_uniq``) and skips others that Django adds with
    ALTER TABLE (multi-column UniqueConstraint). Names matter (a later
    migration drops or alters a constraint by name) and so does enforcement,
    so each difference is repaired from the template's own definitions: a
    same-definition object under another name is renamed, a missing one is
    created. Returns the statements it ran; tests check the result is exact.
    """
    quote = connection.ops.quote_name
    ran = []

    def run(cursor, statement):
        cursor.execute(statement)
        ran.append(statement)

    with connection.cursor() as cursor:
        cursor.execute(CONSTRAINTS_SQL, [target])
        have = {name: (table, definition) for table, name, definition in cursor.fetchall()}
        by_definition = {(table, definition.replace(target + ".", "<schema>.")): name for name, (table, definition) in have.items()}
        cursor.execute(CONSTRAINTS_SQL, [source])
        wanted = cursor.fetchall()
        wanted_names = {name for _table, name, _definition in wanted}
        for table, name, definition in wanted:
            if name in have:
                continue
            twin = by_definition.pop((table, definition.replace(source + ".", "<schema>.")), None)
            if twin is not None and twin not in wanted_names:  # the clone's own name for the same constraint
                run(cursor, f"ALTER TABLE {quote(target)}.{quote(table)} RENAME CONSTRAINT {quote(twin)} TO {quote(name)}")
            else:
                run(
                    cursor,
                    f"ALTER TABLE {quote(target)}.{quote(table)} ADD CONSTRAINT {quote(name)} "
                    f"{definition.replace(source + '.', quote(target) + '.')}",
                )

        def normalise(definition, schema):
            head, _, rest = definition.partition(" ON ")
            return head.split(" INDEX ")[0] + " INDEX ON " + rest.replace(f"{schema}.", "<schema>.", 1)

        cursor.execute(INDEXES_SQL, [target])
        have = dict(cursor.fetchall())
        by_definition = {normalise(definition, target): name for name, definition in have.items()}
        cursor.execute(INDEXES_SQL, [source])
        wanted = cursor.fetchall()
        wanted_names = {name for name, _definition in wanted}
        for name, definition in wanted:
            if name in have:
                continue
            twin = by_definition.pop(normalise(definition, source), None)
            if twin is not None and twin not in wanted_names:
                run(cursor, f"ALTER INDEX {quote(target)}.{quote(twin)} RENAME TO {quote(name)}")
            else:
                run(cursor, definition.replace(f" ON {source}.", f" ON {quote(target)}.", 1))
    return ran


SPARE_PREFIX = "spare_"


@transaction.atomic
def ensure_spare_schemas(*, count: int) -> int:
    """Clone spare schemas ahead of time so provisioning is a rename (O(1) however many schemas exist).

    clone_schema() slows as the catalogue grows (about 1 s at 200 schemas, bench/),
    so a background task keeps a few ready. Returns how many were added.
    """
    template = ensure_template()
    added = 0
    while Lender.objects.filter(is_spare=True).count() < count:
        token = uuid.uuid4().hex[:12]
        org = Organisation.objects.create(slug=f"_{SPARE_PREFIX}{token}", name="(spare)", kind=OrganisationKind.LENDER)
        spare = Lender(schema_name=f"{SPARE_PREFIX}{token}", organisation=org, is_spare=True)
        spare.auto_create_schema = False
        spare.save()
        clone_schema(template.schema_name, spare.schema_name)
        added += 1
    connection.set_schema_to_public()
    return added


def claim_spare_schema(*, schema_name: str, slug: str, name: str) -> Lender | None:
    """Turn a spare into the new lender (inside the caller's transaction): rename its schema, and
    reuse its row and placeholder organisation. None when no spare is ready."""
    spare = Lender.objects.select_for_update(skip_locked=True).filter(is_spare=True).order_by("created_at").first()
    if spare is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {connection.ops.quote_name(spare.schema_name)} RENAME TO {connection.ops.quote_name(schema_name)}")
    now = timezone.now()
    organisation = spare.organisation
    organisation.slug, organisation.name, organisation.created_at = slug, name, now
    organisation.save()
    Lender.objects.filter(pk=spare.pk).update(schema_name=schema_name, is_spare=False, created_at=now)
    return Lender.objects.select_related("organisation").get(pk=spare.pk)


@transaction.atomic
def create_lender(
    *, slug: str, name: str, domain: str | None = None, clone: bool = True, actor: User | None = None, request=None
) -> Lender:
    """Provision a lender: organisation, schema, domain. One transaction: all or nothing.

    ``clone=True`` takes a spare schema if one is ready (a rename), else copies
    the migrated template schema; ``clone=False`` replays every migration (the
    slow path, kept for the benchmark and the schema-equality test).
    """
    started = time.perf_counter()
    slug = validate_slug(slug)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("A name is required."))
    domain = (domain or f"{slug}.{settings.BASE_DOMAIN}").strip().lower()
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError(_("This domain is already in use."))
    lender = claim_spare_schema(schema_name=schema_name_for(slug), slug=slug, name=name) if clone else None
    if lender is None:
        org = Organisation.objects.create(slug=slug, name=name, kind=OrganisationKind.LENDER)
        lender = Lender(schema_name=schema_name_for(slug), organisation=org)
        lender.auto_create_schema = False
        lender.save()
        if clone:
            clone_schema(ensure_template().schema_name, lender.schema_name)
        else:
            replay_migrations(lender.schema_name)
    connection.set_schema_to_public()
    Domain.objects.create(domain=domain, tenant=lender, is_primary=True)
    hooks.audit(hooks.CREATE, request=request, actor=actor, obj=lender, seconds=round(time.perf_counter() - started, 3))
    return lender


@transaction.atomic
def create_organisation(*, slug: str, name: str, kind: str, credit_code: str = "", actor: User | None = None, request=None) -> Organisation:
    if kind not in (OrganisationKind.AGENCY, OrganisationKind.LAW_FIRM):
        raise ValidationError(_("Only collection agencies and law firms are created here; lenders are provisioned."))
    organisation = Organisation.objects.create(
        slug=validate_slug(slug), name=name.strip(), kind=kind, unified_social_credit_code=credit_code
    )
    hooks.audit(hooks.CREATE, request=request, actor=actor, obj=organisation)
    return organisation


def add_licence(*, organisation: Organisation, **fields) -> Licence:
    if not organisation.is_partner:
        raise ValidationError(_("Only partners hold licences here."))
    licence = Licence(organisation=organisation, **fields)
    licence.full_clean()
    licence.save()
    return licence


@transaction.atomic
def verify_licence(*, licence: Licence, by: User, approve: bool = True, request=None) -> Licence:
    licence = Licence.objects.select_for_update().get(pk=licence.pk)
    licence.status = LicenceStatus.VERIFIED if approve else LicenceStatus.REJECTED
    licence.verified_by = by
    licence.verified_at = timezone.now()
    licence.save(update_fields=["status", "verified_by", "verified_at"])
    hooks.audit(hooks.CHANGE, request=request, actor=by, obj=licence, status=licence.status)
    return licence


@transaction.atomic
def verify_certificate(*, certificate, by: User, approve: bool = True, request=None):
    from .models import PractitionerCertificate

    certificate = PractitionerCertificate.objects.select_for_update().get(pk=certificate.pk)
    certificate.status = LicenceStatus.VERIFIED if approve else LicenceStatus.REJECTED
    certificate.verified_by = by
    certificate.verified_at = timezone.now()
    certificate.save(update_fields=["status", "verified_by", "verified_at"])
    hooks.audit(hooks.CHANGE, request=request, actor=by, obj=certificate, status=certificate.status)
    return certificate


ENGAGEMENT_TRANSITIONS = {
    EngagementStatus.PENDING: {EngagementStatus.ACTIVE, EngagementStatus.ENDED},
    EngagementStatus.ACTIVE: {EngagementStatus.SUSPENDED, EngagementStatus.ENDED},
    EngagementStatus.SUSPENDED: {EngagementStatus.ACTIVE, EngagementStatus.ENDED},
    EngagementStatus.ENDED: set(),
}


@transaction.atomic
def engage_partner(*, lender: Lender, partner: Organisation, note: str = "", actor: User | None = None, request=None) -> Engagement:
    if not partner.is_partner:
        raise ValidationError(_("Only collection agencies and law firms can be engaged."))
    engagement, created = Engagement.objects.get_or_create(lender=lender, partner=partner, defaults={"note": note})
    if not created and engagement.status == EngagementStatus.ENDED:
        raise ValidationError(_("This engagement has ended; ended engagements are not reopened."))
    if created:
        hooks.audit(hooks.CREATE, request=request, actor=actor, obj=engagement, partner=partner.slug, status=engagement.status)
    return engagement


@transaction.atomic
def set_engagement_status(*, engagement: Engagement, status: str, actor: User | None = None, request=None) -> Engagement:
    engagement = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if status not in ENGAGEMENT_TRANSITIONS[engagement.status]:
        raise ValidationError(
            _("An engagement cannot go from %(old)s to %(new)s.")
            % {"old": engagement.get_status_display(), "new": EngagementStatus(status).label}
        )
    previous = engagement.status
    engagement.status = status
    today = timezone.localdate()
    if status == EngagementStatus.ACTIVE and engagement.started_on is None:
        engagement.started_on = today
    if status == EngagementStatus.ENDED:
        engagement.ended_on = today
    engagement.save()
    hooks.audit(hooks.CHANGE, request=request, actor=actor, obj=engagement, partner=engagement.partner.slug, old=previous, new=status)
    return engagement


@transaction.atomic
def add_member(
    *, organisation: Organisation, email: str, full_name: str, role: str, password: str | None = None, must_change_password: bool = False
) -> Membership:
    """Give a person a role directly: provisioning only (seeding, commands, tests), never a screen.

    Screens send an invitation (``invite_member``) instead, so that no one
    attaches another person's existing account or chooses their password.
    A command that sets a password for someone passes ``must_change_password``.
    """
    if role not in ROLES_BY_KIND[organisation.kind]:
        raise ValidationError(_("This role does not exist in this kind of organisation."))
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name.strip(), must_change_password=must_change_password and password is not None
        )
    membership, _created = Membership.objects.get_or_create(user=user, organisation=organisation, role=role)
    if not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    return membership


# ------------------------------------------------------------------ invitations
INVITATION_DAYS = 7


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return public_url(f"/accounts/invitation/{token}/")


@transaction.atomic
def invite_member(
    *,
    organisation: Organisation,
    email: str,
    role: str | None = None,
    roles=None,
    full_name: str = "",
    invited_by: User | None = None,
    days: int = INVITATION_DAYS,
    request=None,
) -> tuple[Invitation, str]:
    """Invite a person by email; returns the invitation and the token (only ever in the mailed link).

    Whether an account with this email exists changes nothing the inviter
    sees: the same invitation is sent either way, and no membership exists
    until the owner of the address accepts.
    """
    roles = sorted(set(roles or []) | ({role} if role else set()))
    if not roles or any(r not in ROLES_BY_KIND[organisation.kind] for r in roles):
        raise ValidationError(_("This role does not exist in this kind of organisation."))
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        full_name=full_name.strip(),
        roles=roles,
        token_hash=token_digest(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timezone.timedelta(days=days),
    )
    context = {
        "invitation": invitation,
        "url": invitation_url(token),
        "organisation": organisation,
        "inviter": invited_by,
        "days": days,
        "roles": invitation.role_labels,
    }
    send_mail(
        subject=render_to_string("emails/invitation_subject.txt", context).strip(),
        message=render_to_string("emails/invitation.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    hooks.audit(hooks.CREATE, request=request, actor=invited_by, obj=invitation, organisation_slug=organisation.slug, roles=roles)
    return invitation, token


def open_invitation(*, token: str) -> Invitation | None:
    """The invitation this token opens, if it is still unused, unrevoked and unexpired (reads only)."""
    if not token or len(token) > 100:
        return None
    invitation = Invitation.objects.select_related("organisation").filter(token_hash=token_digest(token)).first()
    return invitation if invitation is not None and invitation.is_open() else None


@transaction.atomic
def revoke_invitation(*, invitation: Invitation) -> Invitation:
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(revoked_at=timezone.now())
    invitation.refresh_from_db()
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, user: User | None = None, password: str | None = None, full_name: str = "") -> User:
    """Use an invitation once and give its roles.

    ``user``: the signed-in person accepting (their email must be the one
    invited). Without one, a new account is created with the password the
    invitee chose (Django's validators), refused if the email already has
    an account: its owner signs in first. Second use, expiry, revocation and
    a tampered token all fail the same way.
    """
    refused = ValidationError(_("This invitation link is not valid any more. Ask for a new one."))
    if not token or len(token) > 100:
        raise refused
    now = timezone.now()
    digest = token_digest(token)
    claimed = Invitation.objects.filter(token_hash=digest, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now).update(
        accepted_at=now
    )
    if claimed != 1:
        raise refused
    invitation = Invitation.objects.select_related("organisation").get(token_hash=digest)
    if user is not None:
        if not user.is_active or user.email.lower() != invitation.email:
            raise ValidationError(_("This invitation was sent to another email address. Sign in with that address to accept it."))
    else:
        if User.objects.filter(email=invitation.email).exists():
            raise ValidationError(_("An account with this email already exists. Sign in to accept the invitation."))
        full_name = (full_name or invitation.full_name).strip()
        candidate = User(email=invitation.email, full_name=full_name)
        validate_password(password or "", user=candidate)
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    for role in invitation.roles:
        membership, _created = Membership.objects.get_or_create(user=user, organisation=invitation.organisation, role=role)
        if not membership.is_active:
            membership.is_active = True
            membership.save(update_fields=["is_active"])
    return user


def end_sessions(user: User) -> int:
    """Delete every session of the user, on every host (ASVS 7.4.2)."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def disable_user(*, user: User, actor: User | None = None, request=None) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])  # the post_save signal ends the sessions
    hooks.audit(hooks.CHANGE, request=request, actor=actor, obj=user, is_active=False)
    return user


@transaction.atomic
def deactivate_membership(*, membership: Membership, actor: User | None = None, request=None) -> Membership:
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    hooks.audit(
        hooks.CHANGE, request=request, actor=actor, obj=membership, user=membership.user.email, role=membership.role, is_active=False
    )
    return membership


# ----------------------------------------------------------- workspace hand-off
def issue_ticket(*, user: User, lender: Lender, otp_device=None, next_path: str = "/") -> tuple[WorkspaceTicket, str]:
    """A ticket and its one-time value; the value goes only to the browser that asked (in a page, never a URL)."""
    if not next_path.startswith("/") or next_path.startswith("//"):
        next_path = "/"
    nonce = secrets.token_urlsafe(32)
    ticket = WorkspaceTicket.objects.create(
        user=user,
        lender=lender,
        next_path=next_path[:300],
        nonce_hash=token_digest(nonce),
        otp_device_id=otp_device.persistent_id if otp_device is not None else "",
    )
    return ticket, nonce


def claim_ticket(*, ticket_id, nonce: str, lender: Lender) -> WorkspaceTicket | None:
    """Claim a ticket exactly once, for this lender, with its one-time value, within its lifetime (compare-and-swap)."""
    if not nonce or len(nonce) > 100:
        return None
    try:
        ticket_id = uuid.UUID(str(ticket_id))
    except ValueError:
        return None
    now = timezone.now()
    fresh_after = now - timezone.timedelta(seconds=settings.WORKSPACE_TICKET_SECONDS)
    claimed = WorkspaceTicket.objects.filter(
        pk=ticket_id, lender=lender, nonce_hash=token_digest(nonce), used_at__isnull=True, created_at__gte=fresh_after
    ).update(used_at=now)
    if claimed != 1:
        return None
    return WorkspaceTicket.objects.select_related("user").get(pk=ticket_id)


def lender_url(lender: Lender, path: str = "/") -> str:
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{lender.get_primary_domain().domain}{port}{path}"


def public_url(path: str = "/") -> str:
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"
