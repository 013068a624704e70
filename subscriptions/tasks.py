"""Every lender's plan follows its active-case count (plans priced by active cases, issue 10 item 5).

Beat runs ``review_plans_everywhere`` on the public schema; it enqueues ``review_plan`` from inside each
lender's schema so tenant-schemas-celery stamps the message with it (the pattern of portal.tasks). The count is
taken in the lender's schema; the Subscription row is in public, which the search path also holds.
"""

from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.models import Lender


@shared_task(name="subscriptions.tasks.review_plan", acks_late=True, reject_on_worker_lost=True)
def review_plan():
    """Count the current lender's active cases and move its subscription to the tier that holds them."""
    if connection.schema_name == "public":
        return None
    from subscriptions import services

    lender = Lender.objects.get(schema_name=connection.schema_name)
    count = services.count_active_cases()
    subscription = services.review_plan(lender=lender, active_cases=count)
    return {"active_cases": count, "plan": subscription.plan.code if subscription else None}


@shared_task(name="subscriptions.tasks.review_plans_everywhere", acks_late=True, reject_on_worker_lost=True)
def review_plans_everywhere():
    schemas = []
    for lender in Lender.objects.serving().filter(subscription__isnull=False).order_by("schema_name"):
        with tenant_context(lender):
            review_plan.delay()
        schemas.append(lender.schema_name)
    connection.set_schema_to_public()
    return schemas


@shared_task(name="subscriptions.tasks.sync_all", acks_late=True, reject_on_worker_lost=True)
def sync_all():
    """Re-fetch every live subscription from Stripe: the safety net for a webhook event that never arrived
    (Stripe stops retrying after three days; a missed "invoice.paid" must not leave a lender read-only)."""
    from subscriptions import services
    from subscriptions.models import Subscription

    synced = []
    for subscription in Subscription.objects.exclude(stripe_subscription_id="").order_by("pk"):
        synced.append(services.sync_from_stripe(subscription=subscription).stripe_subscription_id)
    return synced
