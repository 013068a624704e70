"""Caseport settings, read from the environment (twelve-factor).

Every knob a deployment turns is an environment variable; the defaults are
for a developer's machine (embedded PostgreSQL under ``var/``, a filesystem
Celery broker when no ``CELERY_BROKER_URL`` is set). See README "Configuration".
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CASEPORT_VAR_DIR", BASE_DIR / "var"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_secret(name, default=None):
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"

# The base domain lenders live under: <slug>.<CASEPORT_BASE_DOMAIN>.
BASE_DOMAIN = os.environ.get("CASEPORT_BASE_DOMAIN", "localhost")
# Scheme and port used when the public site sends a browser to a lender's host.
PUBLIC_SCHEME = os.environ.get("CASEPORT_SCHEME", "http" if DEBUG else "https")
PUBLIC_PORT = os.environ.get("CASEPORT_PORT", "8000" if DEBUG else "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", f"{BASE_DOMAIN},.{BASE_DOMAIN}")

# ---------------------------------------------------------------- tenancy
# A lender is a tenant: one PostgreSQL schema each. The public schema holds
# who (lenders, organisations, users, memberships, engagements); a lender's
# schema holds its cases. Audit, jobs and model history exist in both.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "demo",  # management commands only (seed_demo, demo_totp)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "pgtrigger",
    "pghistory",
    "portal.audit",
    "portal.jobs",
    "billing",  # Stripe: the gateway, webhook events, charges (public schema)
    "subscriptions",  # the platform bills its lenders: plans, subscriptions, read-only when unpaid
    "rest_framework",
    "drf_spectacular",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "pgtrigger",
    "pghistory",
    "portal.audit",
    "portal.jobs",
    "portal",
    "portal.intake",
    "portal.payments",
    "portal.ledger",
    "portal.fees",
    "outsourcing",
    "outsourcing.workbench",
    "litigation",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Lender"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# New lenders are cloned from a migrated template schema instead of replaying
# every migration (issue #2: provisioning under one second). migrate_schemas
# keeps the template current because it is a (hidden) Lender row too.
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_BASE_SCHEMA = "tenant_template"
# Spare schemas cloned ahead of time (refilled by a periodic task); provisioning renames one.
TENANT_SPARE_SCHEMAS = int(os.environ.get("TENANT_SPARE_SCHEMAS", "2"))
# One `SET search_path` per schema switch instead of one per cursor (halves the
# statements of a request). Safe with django-tenants 4.0.1: its rollback() and
# savepoint_rollback() forget the cached search_path (the django-tenants#1262
# bug); tests/tenants/test_tenancy.py checks exactly that scenario.
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    # `bin/services.py` (make demo / make test) starts an embedded PostgreSQL
    # and writes its socket URL here, so ad-hoc manage.py calls find it too.
    marker = VAR_DIR / "database_url"
    if marker.exists():
        return marker.read_text().strip()
    return "postgres://postgres@127.0.0.1:5432/caseport"


DATABASES = {"default": dj_database_url.parse(_database_url(), conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")))}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# test_<database>: two checkouts (or CI and a developer) on one server never share a test database.
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("DATABASE_TEST_NAME", f"test_{DATABASES['default']['NAME']}")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- apps
MIDDLEWARE = [
    "portal.middleware.CachedTenantMiddleware",
    "portal.middleware.ResetSchemaMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.TenantAccessMiddleware",
    "subscriptions.middleware.ReadOnlyTenantMiddleware",
    "portal.middleware.NoStoreMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.navigation.shell",
                "subscriptions.context.billing_banner",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

# ---------------------------------------------------------------- auth
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username *from one address* after repeated failures, so
# an attacker cannot lock a victim out from elsewhere (ASVS 6.1.1).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# How many reverse proxies stand in front of the app. Production must say so (caseport.W005): with the
# wrong count every sign-in seems to come from the proxy, so one attacker locks everybody out.
PROXY_COUNT = os.environ.get("AXES_PROXY_COUNT")  # None: not set (the deploy check asks for it); no AXES_ name (axes.W004)
AXES_IPWARE_PROXY_COUNT = int(PROXY_COUNT or "0") or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
AXES_VERBOSE = False

OTP_TOTP_ISSUER = "Caseport"
# Sessions: the database backend, so a disabled user's sessions can be deleted.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_ABSOLUTE_SECONDS = int(os.environ.get("SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
# Password reset and invitation links stay valid this long (Django's PasswordResetTokenGenerator).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(24 * 3600)))
# Handoff tickets carry a signed-in person from the public host to a lender's host.
WORKSPACE_TICKET_SECONDS = 60

# ---------------------------------------------------------------- e-mail
# SMTP in production (EMAIL_HOST…); dev.py prints mail to the console, test.py keeps it in memory.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"Caseport <no-reply@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------- i18n
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# The language of what the portal writes down for others to rely on (statement PDFs, limitation evidence):
# the lenders' and the courts' language, whatever language the screen that made it was showing.
DOCUMENT_LANGUAGE = "zh-hans"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- files
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # files are only ever served by authorising views
STORAGES = {
    # Uploads land under MEDIA_ROOT/<schema>/ (django-tenants), so one lender's
    # files never share a namespace with another's.
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 20
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Object storage is not supported (django-storages is not installed): files live under MEDIA_ROOT. The
# variable is read only so that a deployment expecting S3 is told so by the deploy check (caseport.E007).
S3_BUCKET = os.environ.get("S3_BUCKET", "")
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
# Original import and payment files are kept (sealed with the field keys) only while they are imported; any left
# over (a batch abandoned at the mapping step, a checked payment file never recorded) is deleted after this many days.
IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("IMPORT_FILE_RETENTION_DAYS", "7"))

# ---------------------------------------------------------------- cache
REDIS_URL = os.environ.get("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache" if REDIS_URL else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": REDIS_URL or "caseport",
        # Tenant-aware keys: <schema>:<prefix>:<version>:<key> (django-tenants#1052).
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Platform-level facts (which tenant a host is, who may act where) keyed
    # explicitly by user and schema; invalidated by portal.signals on change.
    "platform": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache" if REDIS_URL else "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": REDIS_URL or "caseport-platform",
        "KEY_PREFIX": "platform",
        "TIMEOUT": 60,
    },
}
# Model history context is attached to writes only; GETs do not write.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# ---------------------------------------------------------------- celery
# Without CELERY_BROKER_URL tasks go to a folder under var/ that only this machine's workers read: fine for
# a developer, never for production (caseport.E006).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):  # the transport expects them to exist
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Longer than the longest task (time limit below) so a running task is
    # never handed to a second worker (celery#7918).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TIME_LIMIT = 3600
CELERY_TASK_SOFT_TIME_LIMIT = 3300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "default")
CELERY_TASK_TENANT_CACHE_SECONDS = 30
# Periodic work runs per tenant through a dispatcher task that enqueues one
# task per lender schema (beat itself knows no tenants; tenant-schemas-celery#27).
CELERY_BEAT_SCHEDULE = {
    "refill-spare-schemas": {"task": "tenants.tasks.refill_spare_schemas", "schedule": 60.0},
    "expire-placements": {"task": "outsourcing.tasks.expire_placements_everywhere", "schedule": 300.0},
    "evaluate-due-promises": {"task": "outsourcing.tasks.evaluate_due_promises_everywhere", "schedule": 3600.0},
    "purge-expired-files": {"task": "portal.tasks.purge_expired_files_everywhere", "schedule": 3600.0},
    # Litigation deadlines: reminders once a day per person (idempotent within a day), limitation dates refreshed.
    "deadline-reminders": {"task": "litigation.tasks.send_deadline_reminders_everywhere", "schedule": 3600.0},
    # Stripe: re-fetch charges stuck in processing (lost webhooks), process unprocessed events, retry unsent transfers.
    "billing-reconcile": {"task": "billing.tasks.reconcile", "schedule": 300.0},
    # Subscriptions: the plan follows the active-case count; Stripe re-read in case a webhook was missed.
    "review-subscription-plans": {"task": "subscriptions.tasks.review_plans_everywhere", "schedule": 3600.0},
    "sync-subscriptions": {"task": "subscriptions.tasks.sync_all", "schedule": 3600.0},
}

# ---------------------------------------------------------------- API
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_RATES": {"integration": "600/minute"},
    "UNAUTHENTICATED_USER": None,
    # A business rule's refusal (portal.errors.RuleError, any Django ValidationError) escaping a view: 400 {"errors": [...]}.
    "EXCEPTION_HANDLER": "portal.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Caseport lender integration API",
    "DESCRIPTION": "Push cases and payments, pull outcomes. One token per lender integration.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# ---------------------------------------------------------------- Stripe
# Statements are paid and lenders billed through Stripe (billing/gateway.py is the only module that calls it).
# STRIPE_API_BASE points the real `stripe` library at another server: localstripe on 127.0.0.1 in tests and the
# demo (bin/localstripe_server.py); unset in production (api.stripe.com).
STRIPE_SECRET_KEY = env_secret("STRIPE_SECRET_KEY", "sk_test_caseport")
STRIPE_WEBHOOK_SECRET = env_secret("STRIPE_WEBHOOK_SECRET", "whsec_caseport_test")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
STRIPE_CURRENCY = os.environ.get("STRIPE_CURRENCY", "cny")

# ---------------------------------------------------------------- security
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")  # Fernet keys, newest first
BLIND_INDEX_KEY = env_secret("BLIND_INDEX_KEY", "")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", f"*.{BASE_DOMAIN}:*", f"{BASE_DOMAIN}:*"]
        if DEBUG
        else ["'self'", f"https://*.{BASE_DOMAIN}", f"https://{BASE_DOMAIN}"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every rendering step at INFO: one line each per packet page is noise.
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},  # one INFO line per API request and response
    },
}
LOGIN_URL_PATH = "/accounts/login/"
