from celery import shared_task
from django.conf import settings


@shared_task(name="tenants.tasks.refill_spare_schemas", acks_late=True, reject_on_worker_lost=True)
def refill_spare_schemas():
    """Keep TENANT_SPARE_SCHEMAS cloned schemas ready, so provisioning is a rename (runs in public)."""
    from . import services

    return services.ensure_spare_schemas(count=settings.TENANT_SPARE_SCHEMAS)
