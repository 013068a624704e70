#!/usr/bin/env python
"""Batch generation of filing packets (批量立案) on real Celery workers:
.venv/bin/python bench/bench_batch.py [--count N] [--batches N] [--concurrency N] [--baseline N] [--db NAME] [--keep-db]

What it does:
  1. creates a scratch database (default caseport_bench_batch), migrates, bootstraps, builds the test cast;
  2. makes --count packet-ready matters in acme (tests.litigation.support.complete_matter: one loan, four exhibits,
     escalated to law firm L), committed;
  3. baseline, in this process, one at a time and without the job machinery: the pre-flight, the claim, the document
     model and WeasyPrint + exhibit merge of --baseline of those matters (litigation.packets.render_pdf), nothing
     stored. This is the packet work itself on one core;
  4. starts one Celery worker (prefork, --concurrency processes, default 2) on its own queue and --batches jobs
     (default 2: a batch is one task on one worker, so the matters are split the way a legal team splits a book by
     court or firm), each through litigation.batch.start_batch, and times until every job is done. Meanwhile it
     samples the resident memory (RSS) of each worker process every 0.5 s, and reports it at 10 %, 50 % and 100 %
     of the packets built, with the peak;
  5. prints packets per second of the batch and of the baseline, and their ratio (2 workers on 2 cores: at best
     about 2x the baseline, less the job's own work: storing each packet sealed, the ZIP and the summary).

The broker is CELERY_BROKER_URL if set (Redis), else the filesystem broker in the scratch var dir.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: import from the project root, never let bench/ shadow a package
sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402
from bench.run import scratch_database, setup_world  # noqa: E402
from bench.timing import say  # noqa: E402

MB = 1024 * 1024


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="packets in the batch (default 1000)")
    parser.add_argument("--batches", type=int, default=2, help="jobs the matters are split into (default 2, one per worker)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (celery -c, prefork; default 2)")
    parser.add_argument("--baseline", type=int, default=20, help="packets rendered in-process for the baseline (default 20)")
    parser.add_argument("--db", default="caseport_bench_batch", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def make_matters(world, count):
    from tests.litigation.support import complete_matter

    started = time.perf_counter()
    matters = []
    for i in range(count):
        matters.append(complete_matter(world, debtor_name=f"批量{i:04d}", contract_no=f"BENCH-{i:06d}").pk)
        if (i + 1) % 100 == 0:
            say(f"   {i + 1} matters made ({time.perf_counter() - started:.0f} s)")
    say(f"setup: {count} packet-ready matters in {time.perf_counter() - started:.1f} s")
    return matters


def baseline(matter_ids):
    """Seconds per packet: pre-flight + claim + document model + render and merge, in this process, nothing stored."""
    from django.conf import settings
    from django.utils import translation

    from litigation import claims, packet_documents, preflight
    from litigation.models import Matter
    from litigation.packets import render_pdf

    def one(pk):
        matter = Matter.objects.select_related("debtor").get(pk=pk)
        assert not preflight.blocking(matter)
        with translation.override(settings.DOCUMENT_LANGUAGE):
            claim = claims.claim_for(matter)
        return len(render_pdf(packet_documents.build(matter, claim=claim)))

    one(matter_ids[0])  # warm-up: fonts, templates (a worker pays this once too)
    started = time.perf_counter()
    for pk in matter_ids:
        one(pk)
    return (time.perf_counter() - started) / len(matter_ids)


WORKER = """
import sys
from config import celery_app
celery_app.worker_main(["worker", "-P", "prefork", "-c", sys.argv[2], "-Q", sys.argv[1], "-I", "litigation.batch",
                        "-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"])
"""


def start_worker(queue, concurrency):
    # DEBUG off in the worker, as in production (with DEBUG on, Django keeps the last 9,000 SQL statements per
    # connection: memory that would read as growth). DEBUG off needs a secret key; the bench has no other use for it.
    env = dict(
        os.environ, CELERY_QUEUE=queue, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or "bench-" + "x" * 50
    )
    return subprocess.Popen([sys.executable, "-c", WORKER, queue, str(concurrency)], env=env, cwd=ROOT)


class MemorySampler(threading.Thread):
    """RSS of each worker process (the pool's children), sampled with the share of packets built at that moment."""

    def __init__(self, parent_pid, progress):
        super().__init__(daemon=True)
        self.parent_pid, self.progress = parent_pid, progress
        self.samples = []  # (fraction built, {pid: rss})
        self.stopping = threading.Event()

    def run(self):
        import psutil

        parent = psutil.Process(self.parent_pid)
        while not self.stopping.is_set():
            try:
                rss = {child.pid: child.memory_info().rss for child in parent.children(recursive=True)}
            except psutil.Error:
                rss = {}
            if rss:
                self.samples.append((self.progress(), rss))
            self.stopping.wait(0.5)

    def at(self, fraction):
        """The first sample at or after ``fraction`` of the batch (the last one if none)."""
        for built, rss in self.samples:
            if built >= fraction:
                return rss
        return self.samples[-1][1] if self.samples else {}

    def peak(self):
        peaks = {}
        for _built, rss in self.samples:
            for pid, value in rss.items():
                peaks[pid] = max(peaks.get(pid, 0), value)
        return peaks


def run_batches(world, matter_ids, *, batches, concurrency):
    from django_tenants.utils import tenant_context

    from config import celery_app
    from litigation import batch
    from litigation.models import Packet
    from portal.jobs.models import Job, JobStatus

    acme = world.lenders["acme"]
    legal = world.people["acme_legal"]
    queue = f"bench-batch-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = queue
    worker = start_worker(queue, concurrency)
    count = len(matter_ids)
    built = {"n": 0}
    sampler = MemorySampler(worker.pid, lambda: built["n"] / count)
    try:
        time.sleep(5)  # let the pool start: its start-up is not the batch's time
        if worker.poll() is not None:
            raise RuntimeError("the worker did not start")
        sampler.start()
        started = time.perf_counter()
        jobs = []
        with tenant_context(acme):
            size = -(-count // batches)
            for i in range(batches):
                part = matter_ids[i * size : (i + 1) * size]
                if part:
                    jobs.append(batch.start_batch(matter_ids=part, user=legal.user, organisation=world.orgs["acme"], language="en").pk)
        last_report = 0
        while True:
            with tenant_context(acme):
                built["n"] = Packet.objects.filter(job_id__in=jobs).count()
                states = list(Job.objects.filter(pk__in=jobs).values_list("status", flat=True))
            if all(state in (JobStatus.DONE, JobStatus.FAILED) for state in states):
                break
            if worker.poll() is not None:
                raise RuntimeError("the worker stopped")
            if time.perf_counter() - last_report > 30:
                say(f"   {built['n']} / {count} packets built ({time.perf_counter() - started:.0f} s)")
                last_report = time.perf_counter()
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        time.sleep(1)  # one more memory sample at 100 %
        sampler.stopping.set()
        sampler.join()
        with tenant_context(acme):
            finished = list(Job.objects.filter(pk__in=jobs))
            failed = [job.error for job in finished if job.status != JobStatus.DONE]
            if failed:
                raise RuntimeError(f"batch failed: {failed[0]}")
            packets = Packet.objects.filter(job_id__in=jobs).count()
            pages = sum(Packet.objects.filter(job_id__in=jobs).values_list("pages", flat=True))
            zip_bytes = sum(job.result.size for job in finished)
        return {"elapsed": elapsed, "packets": packets, "pages": pages, "zip_bytes": zip_bytes, "sampler": sampler}
    finally:
        sampler.stopping.set()
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-batch-") as server_url:
        say(
            f"Batch benchmark: {opts.count} packets in {opts.batches} batches, {opts.concurrency} worker processes, database "
            f"{opts.db!r} (PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs, broker "
            f"{'redis' if os.environ.get('CELERY_BROKER_URL', '').startswith('redis') else 'filesystem'}"
        )
        try:
            from django.db import connection
            from django.test.utils import override_settings
            from django_tenants.utils import tenant_context

            world = setup_world()
            with tenant_context(world.lenders["acme"]):
                matter_ids = make_matters(world, opts.count)
            connection.set_schema_to_public()
            with override_settings(DEBUG=False), tenant_context(world.lenders["acme"]):
                per_packet = baseline(matter_ids[: max(1, min(opts.baseline, opts.count))])
            connection.set_schema_to_public()
            say(
                f"\n   baseline: one packet rendered in-process, nothing stored: {per_packet:.3f} s ({1 / per_packet:.2f} packets/s, 1 process)"
            )

            result = run_batches(world, matter_ids, batches=opts.batches, concurrency=opts.concurrency)
            rate = result["packets"] / result["elapsed"]
            say(
                f"   batch: {result['packets']} packets ({result['pages']} pages, ZIPs {result['zip_bytes'] / MB:.1f} MB) in "
                f"{result['elapsed']:.1f} s = {rate:.2f} packets/s ({opts.concurrency} worker processes)"
            )
            say(f"   ratio batch / baseline = {rate * per_packet:.2f}x (packets per second; {opts.concurrency} processes vs 1)")
            sampler = result["sampler"]
            pids = sorted(sampler.peak())
            say("   worker RSS (MB) by share of the batch built:")
            say("     " + "process".ljust(12) + "".join(f"{label:>10}" for label in ("10%", "50%", "100%", "peak")))
            marks = [sampler.at(0.1), sampler.at(0.5), sampler.at(1.0), sampler.peak()]
            for pid in pids:
                say("     " + str(pid).ljust(12) + "".join(f"{mark.get(pid, 0) / MB:>10.1f}" for mark in marks))
            connection.set_schema_to_public()
        except Exception:
            import traceback

            say(traceback.format_exc())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
