"""Developer and demo settings: DEBUG on, dev-only keys. Never used in production."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "ZGV2LW9ubHktZmllbGQta2V5LWNhc2Vwb3J0LTAwMDA=")
os.environ.setdefault("BLIND_INDEX_KEY", "dev-only-blind-index-key")

from .base import *  # noqa: E402,F401,F403

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")  # mail is printed
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 (whitenoise warns about a missing root)
