#!/usr/bin/env python
"""Stripe webhook throughput: .venv/bin/python bench/bench_webhooks.py [--count 1000] [--duplicates 0.1]

Target (issue 10): 1,000 signed events posted back to back, all processed exactly once; events per second.

What it does:
  1. creates a scratch database (default caseport_bench_webhooks) on DATABASE_URL's server, migrates the public
     schema, bootstraps the platform, provisions one lender; starts its own localstripe (bin/localstripe_server.py,
     127.0.0.1, --port, default 8513) and points the real ``stripe`` library at it;
  2. makes 2 × count + 1 real charges through billing.charges.pay (each a Customer's card, a PaymentIntent created and
     confirmed in localstripe), so every event refers to a real charge whose processing re-fetches its intent;
  3. baselines, measured in the same run:
     - "verify only": the signature check and JSON parse of each event, called directly (the floor of the view);
     - "direct": the first ``count`` events recorded and processed in this process (billing.events.record + process:
       the same handler work, with no HTTP and no Celery);
  4. the measured path: one real Celery worker (``celery -P solo``, a subprocess, on the configured broker:
     CELERY_BROKER_URL, else the filesystem broker) is started and warmed up; the other ``count`` events, signed with
     the webhook secret, are POSTed back to back to /stripe/webhook/ through Django's test client (the full
     middleware stack, in this process; not a network server), plus a share of exact re-deliveries
     (``--duplicates``); the clock stops when the worker has processed the last one;
  5. asserts exactly once: every event row processed, one row per event id, every charge succeeded, and the probe
     handler (which appends a line per call to a file, across processes) called once per charge; prints events per
     second and the ratios against the baselines; drops the database (--keep-db keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: import from the project root, never let bench/ shadow a package
sys.path.insert(0, str(ROOT))

from billing import hooks  # noqa: E402  (no Django needed to register a handler)

PURPOSE = "bench"
SECRET = "whsec_bench_webhooks"
PROBE_ENV = "BENCH_WEBHOOK_PROBE_FILE"
WAIT = 900  # seconds: only guards against a hung worker


def _probe(charge, *, outcome, now):
    """The bench purpose's handler: one line per call, in whichever process runs it (the worker, or this one)."""
    path = os.environ.get(PROBE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{charge.pk} {outcome}\n")


hooks.register_charge_handler(PURPOSE, _probe)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="events posted to the webhook (default 1,000)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of events delivered a second time (default 0.1)")
    parser.add_argument("--port", type=int, default=8513, help="localstripe's port (default 8513)")
    parser.add_argument("--db", default="caseport_bench_webhooks", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def signed(payload: bytes):
    from billing.testing import sign_payload

    return sign_payload(payload, SECRET)


def make_charges(n: int, lender) -> list:
    from billing import charges

    made = []
    for i in range(n):
        made.append(charges.pay(lender=lender, purpose=PURPOSE, reference=f"bench-{i:06d}", amount="100.00"))
    return made


def start_worker(queue: str, probe_file: str) -> subprocess.Popen:
    env = dict(os.environ, CELERY_QUEUE=queue, **{PROBE_ENV: probe_file})
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue, "-I", "bench.bench_webhooks"]
    command += ["-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"]
    return subprocess.Popen(command, env=env, cwd=ROOT)


def wait_processed(event_ids: list[str], deadline: float) -> None:
    from billing.models import StripeEvent

    while StripeEvent.objects.filter(event_id__in=event_ids, processed_at__isnull=False).count() < len(event_ids):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not process every event in time")
        time.sleep(0.05)


def main(argv=None) -> int:
    opts = parse_args(argv)
    from bench.run import scratch_database, setup_database
    from bench.timing import say

    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-webhooks-"):
        from billing.testing import start_localstripe, stop_localstripe

        localstripe, base_url = start_localstripe(opts.port)
        os.environ.update(STRIPE_API_BASE=base_url, STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_SECRET_KEY="sk_test_caseport")
        probe_file = tempfile.NamedTemporaryFile(prefix="bench-webhooks-", suffix=".log", delete=False).name
        os.environ[PROBE_ENV] = probe_file
        worker = None
        try:
            setup_database()
            worker = run(opts, probe_file, say)
        finally:
            if worker is not None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
            stop_localstripe(localstripe)
            os.unlink(probe_file)
    return 0


def run(opts, probe_file: str, say):
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from billing import accounts, events, gateway
    from billing.models import Charge, ChargeStatus, StripeEvent
    from billing.testing import event_payload
    from config import celery_app
    from tenants import services

    settings.DEBUG = False  # no query log growing over thousands of requests
    n = opts.count
    started = time.perf_counter()
    lender = services.create_lender(slug="acme", name="Acme 基准")
    connection.set_schema_to_public()
    accounts.attach_test_card(lender, "4242424242424242")
    made = make_charges(2 * n + 1, lender)
    say(f"setup: lender, card and {len(made):,} charges in localstripe in {time.perf_counter() - started:.1f} s")

    def body_for(charge) -> bytes:
        return event_payload("payment_intent.succeeded", {"id": charge.payment_intent_id, "object": "payment_intent"})

    direct_set, posted_set, warmup = made[:n], made[n : 2 * n], made[2 * n]

    # Baseline 1: signature check + parse only, called directly.
    bodies = [body_for(c) for c in direct_set]
    headers = [signed(b) for b in bodies]
    t0 = time.perf_counter()
    for body, header in zip(bodies, headers, strict=True):
        gateway.construct_event(body, header, SECRET)
        json.loads(body)
    verify_s = time.perf_counter() - t0

    # Baseline 2: the same handler work, in process: record + process each event (no HTTP, no Celery).
    t0 = time.perf_counter()
    for body in bodies:
        pk, _pending = events.record(json.loads(body))
        events.process(pk)
    direct_s = time.perf_counter() - t0

    # The measured path: POST → verify → record → on_commit enqueue → real worker → process.
    queue = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    worker = start_worker(queue, probe_file)
    client = Client(HTTP_HOST="localhost")
    warm_body = body_for(warmup)
    assert (
        client.post(
            "/stripe/webhook/", data=warm_body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signed(warm_body)
        ).status_code
        == 200
    )
    wait_processed([json.loads(warm_body)["id"]], time.monotonic() + 120)
    say("worker: started and warmed up")

    posted = [body_for(c) for c in posted_set]
    repeats = posted[: int(n * opts.duplicates)]
    deliveries = [(b, signed(b)) for b in posted + repeats]
    event_ids = [json.loads(b)["id"] for b in posted]
    t0 = time.perf_counter()
    for body, header in deliveries:
        response = client.post("/stripe/webhook/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code}: {response.content[:200]!r}")
    post_s = time.perf_counter() - t0
    wait_processed(event_ids, time.monotonic() + WAIT)
    total_s = time.perf_counter() - t0

    # Exactly once, checked.
    all_ids = event_ids + [json.loads(b)["id"] for b in bodies] + [json.loads(warm_body)["id"]]
    assert StripeEvent.objects.filter(event_id__in=all_ids).count() == len(all_ids), "an event row is missing or doubled"
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0, "an event was left unprocessed"
    assert Charge.objects.filter(purpose=PURPOSE, status=ChargeStatus.SUCCEEDED, notified="succeeded").count() == len(made)
    calls = Path(probe_file).read_text().split("\n")
    calls = [line for line in calls if line]
    assert len(calls) == len(made) and len(set(calls)) == len(made), f"handler calls {len(calls)} for {len(made)} charges"

    say(f"\n== webhook throughput: {n:,} events (+{len(repeats):,} re-deliveries), one real Celery worker (-P solo)")
    say(f"   posting (test client, full middleware)  {len(deliveries) / post_s:8.1f} requests/s   ({post_s:.2f} s)")
    say(f"   end to end (posted → all processed)     {n / total_s:8.1f} events/s     ({total_s:.2f} s)")
    say(f"   baseline: direct record+process          {n / direct_s:8.1f} events/s     ({direct_s:.2f} s)")
    say(f"   baseline: verify signature + parse only  {n / verify_s:8.1f} events/s     ({verify_s * 1e6 / n:.0f} µs/event)")
    say(f"   ratio end-to-end / direct                {(n / total_s) / (n / direct_s):8.2f}")
    say(f"   exactly once: {len(all_ids):,} event rows, all processed; {len(calls):,} handler calls for {len(made):,} charges")
    return worker


if __name__ == "__main__":
    sys.exit(main())
