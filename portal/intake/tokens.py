"""Integration tokens: how a lender's own system proves it may push cases (ASVS 13.3).

A token lives in the lender's schema, so the host a request arrives on
decides where it is looked up: a token of lender A shown to lender B's host
finds nothing. Only the SHA-256 of the key is stored; the key itself is
shown once, when it is issued.

Each token has scopes (cases, payments, reversals: each API endpoint needs
one), an expiry (a year by default) and can be rotated: the new key is
issued and the old one keeps working for ROTATION_GRACE, then is refused.
"""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from portal.audit.log import Action, record

from .models import IntegrationToken, TokenScope, default_token_expiry

KEY_PREFIX = "cpk_"
SHOWN_PREFIX = 12  # characters of the key kept in clear to tell tokens apart
TOUCH_EVERY = datetime.timedelta(minutes=1)
ALL_SCOPES = tuple(TokenScope.values)
# After a rotation the old key keeps working this long, so the lender's system can switch without an outage.
ROTATION_GRACE = datetime.timedelta(hours=24)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(*, name: str, created_by, scopes=ALL_SCOPES, expires_at=None, request=None) -> tuple[IntegrationToken, str]:
    """A new token and its key (to be shown once and never again), allowed ``scopes``, valid until
    ``expires_at`` (a year from now by default)."""
    scopes = clean_scopes(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = IntegrationToken.objects.create(
        name=name,
        prefix=key[:SHOWN_PREFIX],
        key_hash=key_hash(key),
        created_by_id=getattr(created_by, "pk", None),
        scopes=scopes,
        expires_at=expires_at or default_token_expiry(),
    )
    record(
        Action.CREATE, request=request, obj=token, name=name, prefix=token.prefix, scopes=scopes, expires_at=token.expires_at.isoformat()
    )
    return token, key


def clean_scopes(scopes) -> list[str]:
    """The scopes in their canonical order; an unknown one is a bug in the caller (fail closed)."""
    unknown = set(scopes) - set(TokenScope.values)
    if unknown:
        raise ValueError(f"unknown token scopes {sorted(unknown)}")
    return [scope for scope in TokenScope.values if scope in set(scopes)]


@transaction.atomic
def revoke_token(*, token: IntegrationToken, request=None) -> bool:
    revoked = IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        record(Action.CHANGE, request=request, obj=token, revoked=True, prefix=token.prefix)
    return bool(revoked)


@transaction.atomic
def rotate_token(
    *, token: IntegrationToken, created_by, grace: datetime.timedelta = ROTATION_GRACE, request=None
) -> tuple[IntegrationToken, str]:
    """A new key for the same integration (same name and scopes, a fresh year). The old key keeps working
    for ``grace`` (a day: time to deploy the new key without an outage), then is refused as expired."""
    old = IntegrationToken.objects.select_for_update().get(pk=token.pk)
    if old.revoked_at is not None or old.replaced_by_id is not None or old.is_expired():
        raise ValueError("only an active token that was not rotated before can be rotated")
    new, key = issue_token(name=old.name, created_by=created_by, scopes=old.scopes, request=request)
    old.expires_at = min(old.expires_at, timezone.now() + grace)
    old.replaced_by = new
    old.save(update_fields=["expires_at", "replaced_by"])
    record(Action.CHANGE, request=request, obj=old, rotated_to=new.prefix, expires_at=old.expires_at.isoformat())
    return new, key


def check_key(key: str, *, now=None) -> tuple[IntegrationToken | None, str]:
    """The token with this key in the current lender's schema and, when it may not be used, why:
    "invalid" (no such key here: another lender's, mistyped), "revoked" or "expired"; "" when it may."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None, "invalid"
    token = IntegrationToken.objects.filter(key_hash=key_hash(key)).first()
    if token is None:
        return None, "invalid"
    if token.revoked_at is not None:
        return token, "revoked"
    now = now or timezone.now()
    if token.is_expired(now):
        return token, "expired"
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token, ""


def authenticate_key(key: str, *, now=None) -> IntegrationToken | None:
    """The usable (not revoked, not expired) token with this key in the current lender's schema, or None."""
    token, refusal = check_key(key, now=now)
    return None if refusal else token
