"""Deployment checks of our own, run by `manage.py check --deploy`."""
from django.conf import settings
from django.core.checks import Error, Tags, register


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
