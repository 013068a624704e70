"""Webhook events processed by a real Celery worker (a separate process) over the configured broker.

The worker uses this test database and the same localstripe; the data is committed, so the test removes
what it made. The probe purpose is loaded into the worker (``-I tests.billing.probes``) and writes each
outcome it is told to a file, so the effects can be counted across processes.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.test import Client

from billing import charges
from billing.models import ChargeStatus, StripeEvent
from billing.testing import event_payload
from config import celery_app
from tests.billing import probes
from tests.billing.committed import committed_card
from tests.billing.conftest import WEBHOOK_SECRET, post_event
from tests.portal.test_jobs_worker import database_url

pytestmark = [pytest.mark.worker]
WAIT = 90  # seconds: only guards against a hung worker


@pytest.fixture
def worker(world, localstripe, tmp_path, django_db_blocker):
    queue = f"test-billing-{uuid.uuid4().hex[:8]}"
    probe_file = tmp_path / "probe.log"
    probe_file.touch()
    celery_app.conf.task_default_queue = queue
    with django_db_blocker.unblock():
        url = database_url()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CELERY_QUEUE=queue,
        STRIPE_API_BASE=localstripe,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_SECRET_KEY="sk_test_caseport",
        BILLING_PROBE_FILE=str(probe_file),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue, "-I", "tests.billing.probes", "-l", "WARNING"]
        + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
        env=env,
        cwd=settings.BASE_DIR,
    )
    try:
        yield probe_file
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        celery_app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE


def wait_processed(event_id):
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        event = StripeEvent.objects.filter(event_id=event_id).first()
        if event is not None and event.processed_at is not None:
            return event
        time.sleep(0.2)
    raise AssertionError(f"event {event_id} was not processed; is the worker running?")


def test_the_worker_processes_each_event_once(world, worker, django_db_blocker):
    acme = world.lenders["acme"]
    with committed_card(world, django_db_blocker):
        with django_db_blocker.unblock():
            charge = charges.pay(lender=acme, purpose=probes.PURPOSE, reference=str(uuid.uuid4()), amount="640.00")
            body = event_payload("payment_intent.succeeded", {"id": charge.payment_intent_id})
            event_id = json.loads(body)["id"]
            client = Client(HTTP_HOST="localhost")
            assert post_event(client, body).status_code == 200
            assert post_event(client, body).status_code == 200  # a redelivery, perhaps before the worker got to the first
            event = wait_processed(event_id)
            assert event.outcome.startswith(f"charge {charge.pk}: succeeded")
            charge.refresh_from_db()
            assert charge.status == ChargeStatus.SUCCEEDED
            assert post_event(client, body).status_code == 200  # after processing: recorded already, nothing enqueued
            unknown = event_payload("payment_intent.succeeded", {"id": "pi_unknownToAnyone"})
            assert post_event(client, unknown).status_code == 200
            assert wait_processed(json.loads(unknown)["id"]).outcome == "ignored: unknown object"
            lines = worker.read_text().split()
            assert lines == [str(charge.pk), "succeeded", acme.schema_name]  # one effect, in acme's schema, on the worker
            assert StripeEvent.objects.filter(event_id=event_id).count() == 1
