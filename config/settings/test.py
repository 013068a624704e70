"""Test settings: the real PostgreSQL (and Redis/broker when configured), a fast hasher."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS1jYXNlcG9ydC0wMDA=")
os.environ.setdefault("BLIND_INDEX_KEY", "test-only-blind-index-key")

from .base import *  # noqa: E402,F401,F403
from .base import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # mail.outbox
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise warns about a missing root)
