"""Field encryption for personal data (PIPL art. 51).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a list of keys,
newest first, so keys rotate without downtime (MultiFernet). Equality search
uses a separate keyed HMAC "blind index" so ciphertext never needs decrypting
to find a debtor. A wrong key raises; it never yields silent garbage.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=1)
def _fernet(keys):
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def blind_index_key() -> bytes:
    if not settings.BLIND_INDEX_KEY:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is not set")
    return settings.BLIND_INDEX_KEY.encode()


def blind_index_input(value: str) -> bytes:
    """What is indexed: the trimmed, upper-cased text (an ID number's x and X are the same number)."""
    return value.strip().upper().encode()


def blind_index(value: str) -> str:
    return hmac.new(blind_index_key(), blind_index_input(value), hashlib.sha256).hexdigest()
