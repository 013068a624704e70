"""The real path end to end: localstripe itself signs and delivers its events to our webhook on a live server.

A second localstripe (its own port, so its webhook registration touches no other test) posts
payment_intent.succeeded (and customer.created, …) to http://localhost:<port>/stripe/webhook/ about a second
after pay(); the task runs eagerly in the server's request thread after the commit. What localstripe sends is
its own JSON (API version 2017-08-15) signed with the secret we registered: the same verification as Stripe's.
"""

import time
import uuid

import pytest
from django.test.utils import override_settings

from billing import charges
from billing.models import ChargeStatus, StripeEvent
from billing.testing import register_webhook, start_localstripe, stop_localstripe
from config import celery_app
from tests.billing import probes
from tests.billing.committed import committed_card
from tests.billing.conftest import LOCALSTRIPE_PORT, WEBHOOK_SECRET
from tests.browser_support import live_app  # noqa: F401  (the module's live server)

WAIT = 30  # seconds: only guards against a hang; localstripe delivers after ~1 s


@pytest.fixture
def delivering_localstripe(live_app):  # noqa: F811
    process, base_url = start_localstripe(LOCALSTRIPE_PORT + 1)
    register_webhook(base_url, live_app.url("/stripe/webhook/"), WEBHOOK_SECRET)
    celery_app.conf.task_always_eager = True
    try:
        with override_settings(STRIPE_API_BASE=base_url, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET):
            yield base_url
    finally:
        celery_app.conf.task_always_eager = False
        stop_localstripe(process)


def test_localstripe_delivers_and_the_charge_is_paid(world, delivering_localstripe, django_db_blocker):
    with committed_card(world, django_db_blocker):
        with django_db_blocker.unblock():
            charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=str(uuid.uuid4()), amount="256.00")
            assert charge.status == ChargeStatus.PROCESSING
            end = time.monotonic() + WAIT
            while time.monotonic() < end:
                charge.refresh_from_db()
                if charge.status == ChargeStatus.SUCCEEDED:
                    break
                time.sleep(0.2)
            assert charge.status == ChargeStatus.SUCCEEDED, "localstripe's payment_intent.succeeded never arrived"
            assert probes.calls_for(charge) == [("succeeded", world.lenders["acme"].schema_name)]
            event = StripeEvent.objects.get(type="payment_intent.succeeded", object_id=charge.payment_intent_id)
            assert event.processed_at is not None and event.payload["data"]["object"]["metadata"]["caseport_charge"] == str(charge.pk)
            # the customer.created etc. that localstripe also sent were acknowledged and recorded
            assert StripeEvent.objects.filter(type="customer.created", outcome="ignored: unhandled type").exists()
