"""Integration tokens: how a lender's own system proves it may push cases (ASVS 13.3).

A token lives in the lender's schema, so the host a request arrives on
decides where it is looked up: a token of lender A shown to lender B's host
finds nothing. Only the SHA-256 of the key is stored; the key itself is
shown once, when it is issued.
"""
import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from portal.audit.log import Action, record

from .models import IntegrationToken

KEY_PREFIX = "cpk_"
SHOWN_PREFIX = 12  # characters of the key kept in clear to tell tokens apart
TOUCH_EVERY = datetime.timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_token(*, name: str, created_by, request=None) -> tuple[IntegrationToken, str]:
    """A new token and its key (to be shown once and never again)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = IntegrationToken.objects.create(name=name, prefix=key[:SHOWN_PREFIX], key_hash=key_hash(key), created_by_id=getattr(created_by, "pk", None))
    record(Action.CREATE, request=request, obj=token, name=name, prefix=token.prefix)
    return token, key


@transaction.atomic
def revoke_token(*, token: IntegrationToken, request=None) -> bool:
    revoked = IntegrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        record(Action.CHANGE, request=request, obj=token, revoked=True, prefix=token.prefix)
    return bool(revoked)


def authenticate_key(key: str) -> IntegrationToken | None:
    """The active token with this key in the current lender's schema, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    token = IntegrationToken.objects.filter(key_hash=key_hash(key), revoked_at__isnull=True).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
