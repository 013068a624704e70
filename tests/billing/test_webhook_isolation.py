"""The webhook is open by nature (tests/matrix_billing.py): prove it opens nothing to anyone without the signature.

Every persona of the cast, signed in on the public host, and an anonymous caller: GET → 405; POST with no
signature, a forged one, or one made with another secret → 400; not one row written anywhere (public and
acme's schema fingerprinted); no canary of any lender in any answer.
"""

from django.test import Client
from django.urls import reverse

from billing.models import StripeEvent
from billing.testing import event_payload, sign_payload
from tests.isolation_support import changed_tables, fingerprint
from tests.world import CAST


def attempts(body):
    yield "no signature", {}
    yield "forged", {"HTTP_STRIPE_SIGNATURE": "t=1700000000,v1=" + "0" * 64}
    yield "another secret", {"HTTP_STRIPE_SIGNATURE": sign_payload(body, "whsec_someone_else")}


def test_the_webhook_url_is_where_the_matrix_expects_it():
    assert reverse("stripe-webhook", urlconf="config.urls_public") == "/stripe/webhook/"


def test_unsigned_requests_get_400_and_leak_nothing(stripe_on, world, client_for):
    body = event_payload("payment_intent.succeeded", {"id": "pi_isolation", "metadata": {"caseport_charge": "x"}})
    clients = [("anonymous", Client(HTTP_HOST="localhost"))] + [(key, client_for(key)) for key, _org, _role in CAST]
    canaries = [canary for markers in world.canaries.values() for canary in markers]
    before = fingerprint("public", world.lenders["acme"].schema_name)
    for who, client in clients:
        get = client.get("/stripe/webhook/")
        assert get.status_code == 405, f"{who}: GET {get.status_code}"
        for label, headers in attempts(body):
            response = client.post("/stripe/webhook/", data=body, content_type="application/json", **headers)
            assert response.status_code == 400, f"{who}, {label}: {response.status_code}"
            text = response.content.decode("utf-8", "replace")
            assert not any(canary in text for canary in canaries), f"{who}, {label}: a canary leaked"
    after = fingerprint("public", world.lenders["acme"].schema_name)
    assert StripeEvent.objects.count() == 0
    assert changed_tables(before, after) in ([], ["public.django_session"])
