"""The same Stripe event delivered twice at the same moment, on two connections: one effect.

Real concurrency needs committed data on separate connections, so these tests run outside the
rolled-back test transaction and remove what they made (tests/billing/committed.py). The webhook's
task runs eagerly here (in the posting thread, after its commit), so each delivery goes the whole way:
verify → record → enqueue → process. The real worker is in test_worker.py.
"""

import threading
import uuid

import pytest
from django.db import connections
from django.test import Client

from billing import charges, events
from billing.models import Charge, ChargeStatus, StripeEvent
from billing.testing import event_payload
from config import celery_app
from tests.billing import probes
from tests.billing.committed import committed_card
from tests.billing.conftest import post_event

WAIT = 60  # seconds: only guards against a hang


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def run_together(n, fn):
    """Run fn(i) on n threads released at once; each thread closes its own connection. Returns their errors."""
    barrier = threading.Barrier(n)
    errors = []

    def worker(i):
        try:
            barrier.wait(timeout=WAIT)
            fn(i)
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return errors


def test_same_event_posted_twice_concurrently_has_one_effect(world, localstripe, django_db_blocker, eager):
    with committed_card(world, django_db_blocker):
        with django_db_blocker.unblock():
            charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=str(uuid.uuid4()), amount="999.99")
            body = event_payload("payment_intent.succeeded", {"id": charge.payment_intent_id})
            statuses = []
            errors = run_together(2, lambda i: statuses.append(post_event(Client(HTTP_HOST="localhost"), body).status_code))
            assert errors == [] and statuses == [200, 200]
            assert StripeEvent.objects.filter(payload__id=__import__("json").loads(body)["id"]).count() == 1
            charge.refresh_from_db()
            assert charge.status == ChargeStatus.SUCCEEDED
            assert probes.calls_for(charge) == [("succeeded", world.lenders["acme"].schema_name)]


def test_two_events_about_one_intent_processed_concurrently(world, localstripe, django_db_blocker):
    """payment_intent.succeeded and its duplicate-in-meaning charge.succeeded, processed on four connections at once."""
    with committed_card(world, django_db_blocker):
        with django_db_blocker.unblock():
            charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=str(uuid.uuid4()), amount="12.30")
            pks = []
            for event_type, obj in [
                ("payment_intent.succeeded", {"id": charge.payment_intent_id}),
                ("charge.succeeded", {"id": "ch_x", "payment_intent": charge.payment_intent_id}),
            ]:
                pk, pending = events.record(__import__("json").loads(event_payload(event_type, obj)))
                assert pending
                pks.append(pk)
            errors = run_together(4, lambda i: events.process(pks[i % 2]))
            assert errors == []
            assert StripeEvent.objects.filter(pk__in=pks, processed_at__isnull=False).count() == 2
            assert Charge.objects.get(pk=charge.pk).status == ChargeStatus.SUCCEEDED
            assert [outcome for outcome, _ in probes.calls_for(charge)] == ["succeeded"]
