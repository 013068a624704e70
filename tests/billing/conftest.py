"""Billing tests run the real ``stripe`` library against a real localstripe process (127.0.0.1, port 8511),
started once per session; webhook events are signed with the test secret below."""

import json
import os
import uuid

import pytest
from django.test import Client
from django.test.utils import override_settings

from billing import accounts, events, gateway
from billing.testing import event_payload, sign_payload, start_localstripe, stop_localstripe
from tests.billing import probes

WEBHOOK_SECRET = "whsec_billing_tests"
LOCALSTRIPE_PORT = int(os.environ.get("BILLING_LOCALSTRIPE_PORT", "8511"))
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, declines when charged (Stripe's test card; localstripe too)


@pytest.fixture(scope="session")
def localstripe():
    process, base_url = start_localstripe(LOCALSTRIPE_PORT)
    with override_settings(STRIPE_API_BASE=base_url, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_SECRET_KEY="sk_test_caseport"):
        try:
            yield base_url
        finally:
            stop_localstripe(process)


@pytest.fixture
def stripe_on(localstripe, world, db):
    """localstripe is up, the test purpose is registered and its calls are cleared."""
    probes.CALLS.clear()
    probes.PAYEES.clear()
    gateway.FAKE_CONNECT.transfers.clear()
    gateway.FAKE_CONNECT.reversals.clear()
    gateway.FAKE_CONNECT._by_key.clear()
    return localstripe


@pytest.fixture
def acme_with_card(stripe_on, world):
    """acme with a Stripe customer and a good test card on file."""
    return accounts.attach_test_card(world.lenders["acme"], GOOD_CARD)


def reference() -> str:
    return str(uuid.uuid4())


def post_event(client: Client, body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp=None, signature=None):
    header = signature if signature is not None else sign_payload(body, secret, timestamp)
    return client.post("/stripe/webhook/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


def deliver(client: Client, event_type: str, obj: dict, *, event_id=None) -> str:
    """Post a signed event and process it as the worker would (the task's body, called directly); returns the event id."""
    body = event_payload(event_type, obj, event_id=event_id)
    response = post_event(client, body)
    assert response.status_code == 200, response.content
    event_id = json.loads(body)["id"]
    from billing.models import StripeEvent

    events.process(StripeEvent.objects.get(event_id=event_id).pk)
    return event_id


@pytest.fixture
def public_client():
    return Client(HTTP_HOST="localhost")
