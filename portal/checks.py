"""Deployment checks of our own, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning as CheckWarning, register


@register(Tags.security, deploy=True)
def personal_data_keys(app_configs, **kwargs):
    errors = []
    if not settings.FIELD_ENCRYPTION_KEYS:
        errors.append(Error("FIELD_ENCRYPTION_KEYS is not set: national ID numbers cannot be encrypted.", id="caseport.E001"))
    if not settings.BLIND_INDEX_KEY:
        errors.append(Error("BLIND_INDEX_KEY is not set: ID numbers cannot be looked up.", id="caseport.E002"))
    if settings.BLIND_INDEX_KEY and settings.BLIND_INDEX_KEY == settings.SECRET_KEY:
        errors.append(Error("BLIND_INDEX_KEY must differ from DJANGO_SECRET_KEY.", id="caseport.E003"))
    return errors


@register(Tags.caches, deploy=True)
def shared_cache(app_configs, **kwargs):
    """Access decisions are cached; every process must see the same invalidations."""
    backend = settings.CACHES["platform"]["BACKEND"]
    if "locmem" in backend.lower():
        return [Error("REDIS_URL is not set: cached access decisions would not be invalidated across processes.", id="caseport.E004")]
    return []


@register(Tags.security, deploy=True)
def proxy_count(app_configs, **kwargs):
    """Sign-in lockouts are keyed by username *and* client address (ASVS 6.1.1); the address is only right
    when the number of proxies in front of the app is known."""
    if settings.PROXY_COUNT is None:
        return [
            CheckWarning(
                "AXES_PROXY_COUNT is not set.",
                hint="Set it to the number of reverse proxies in front of the app (1 behind one nginx, 0 when exposed "
                "directly). With the wrong count every sign-in seems to come from the proxy, so a few failed "
                "attempts lock everybody out, or an attacker forges X-Forwarded-For to escape the lockout.",
                id="caseport.W005",
            )
        ]
    return []


@register(deploy=True)
def shared_broker(app_configs, **kwargs):
    """Jobs (imports, exports, allocation) are queued for workers that may run on other machines."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return [
            Error(
                "CELERY_BROKER_URL is not set: tasks would go to a folder under var/ that only workers on this machine read.",
                hint="Set CELERY_BROKER_URL to redis://… or amqp://….",
                id="caseport.E006",
            )
        ]
    return []


@register(deploy=True)
def object_storage(app_configs, **kwargs):
    if settings.S3_BUCKET:
        return [
            Error(
                "S3_BUCKET is set, but Caseport stores files on local disk (MEDIA_ROOT); object storage is not supported.",
                hint="Unset S3_BUCKET and put MEDIA_ROOT on a persistent, backed-up volume.",
                id="caseport.E007",
            )
        ]
    return []


@register(deploy=True)
def stripe_keys(app_configs, **kwargs):
    """Statements are paid and lenders billed through Stripe: production needs its own keys, and no local fake."""
    errors = []
    if not settings.STRIPE_SECRET_KEY or settings.STRIPE_SECRET_KEY == "sk_test_caseport":
        errors.append(Error("STRIPE_SECRET_KEY is not set: statements cannot be paid nor lenders billed.", id="caseport.E008"))
    if not settings.STRIPE_WEBHOOK_SECRET or settings.STRIPE_WEBHOOK_SECRET == "whsec_caseport_test":
        errors.append(Error("STRIPE_WEBHOOK_SECRET is not set: Stripe's events could not be told from forgeries.", id="caseport.E009"))
    if settings.STRIPE_API_BASE:
        errors.append(
            Error(
                "STRIPE_API_BASE is set: payments would go to a local fake Stripe (localstripe), not to Stripe.",
                hint="Unset STRIPE_API_BASE in production.",
                id="caseport.E010",
            )
        )
    return errors
