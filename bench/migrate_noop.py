"""Benchmark 2: ``migrate_schemas`` over many tenants with nothing to migrate.

What an operator runs on every deploy: ``manage.py migrate_schemas`` in a
fresh process. Each run is a subprocess, so interpreter start-up, Django
set-up and the migration graph load are counted as the operator pays them.
The baseline, ``migrate_schemas --shared`` (the public schema only), is
measured in the same run; per-tenant cost = (full run - public-only run) / tenants.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.timing import Result, Row, clock, fmt_s, say, summary

ROOT = Path(__file__).resolve().parent.parent


def manage(*args) -> tuple[float, str]:
    """Run ``manage.py *args`` in a fresh interpreter; return (seconds, stdout)."""
    start = clock()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    elapsed = clock() - start
    if proc.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout + proc.stderr


def ensure_tenants(count: int) -> dict:
    """Top the database up to ``count`` tenant schemas (template and earlier lenders included), by cloning."""
    from django.db import connection

    from tenants import services
    from tenants.models import Lender

    connection.set_schema_to_public()
    existing = Lender.objects.exclude(schema_name="public").count()
    missing = max(0, count - existing)
    say(f"   {existing} tenant schemas exist; cloning {missing} more lenders to reach {count} ...")
    times = []
    for i in range(missing):
        start = clock()
        services.create_lender(slug=f"bench-fleet-{i:04d}", name=f"Fleet {i}", clone=True)
        times.append(clock() - start)
        if (i + 1) % 25 == 0:
            say(f"     {i + 1}/{missing}: median of the last 25 {fmt_s(summary(times[-25:])['median'])}")
    connection.set_schema_to_public()
    total = Lender.objects.exclude(schema_name="public").count()
    fleet = {
        "tenant_schemas": total,
        "created": missing,
        "clone": summary(times) if times else None,
        "clone_samples": times,
        "first_schemas": existing,
    }
    k = min(25, len(times) // 4)
    if k >= 2:  # does provisioning slow down as schemas accumulate?
        fleet["window"] = k
        fleet["clone_first"] = summary(times[:k])
        fleet["clone_last"] = summary(times[-k:])
    return fleet


def check_noop(output: str, label: str) -> int:
    """How many schemas the run visited; fail if it applied anything (then it was not a no-op)."""
    if "Applying " in output:
        raise RuntimeError(f"{label}: migrate_schemas applied migrations; the benchmark needs a no-op run:\n{output[-2000:]}")
    return output.count("=== Starting migration")


def run(opts) -> Result:
    count = opts.tenants
    say(f"\n== 2. migrate_schemas with nothing to migrate, over {count} tenant schemas (subprocess, as an operator runs it)")
    fleet = ensure_tenants(count)
    if fleet["clone"]:
        say(
            f"   cloned {fleet['created']} lenders, median {fmt_s(fleet['clone']['median'])} each "
            f"(min {fmt_s(fleet['clone']['min'])}, max {fmt_s(fleet['clone']['max'])})"
        )
    tenants = fleet["tenant_schemas"]
    result = Result(name="migrate_schemas", title=f"migrate_schemas no-op over {tenants} tenants")
    if "window" in fleet:
        k, first, last = fleet["window"], fleet["clone_first"]["median"], fleet["clone_last"]["median"]
        verdict = "PASS" if last < 1.0 else "FAIL"
        say(
            f"   provisioning at scale: median of the first {k} clones (from {fleet['first_schemas']} schemas) {fmt_s(first)}, "
            f"of the last {k} (up to {tenants} schemas) {fmt_s(last)} -> {last / first:.2f}x; under 1 s: {verdict}"
        )
        result.rows.append(
            Row(
                bench="2 migrate_schemas",
                metric=f"create_lender clone, last {k} (~{tenants} schemas)",
                value=last,
                baseline_metric=f"first {k} clones (~{fleet['first_schemas']} schemas)",
                baseline=first,
                target="< 1 s",
                verdict=verdict,
            )
        )

    public_samples = []
    for _ in range(opts.public_repeats):
        elapsed, output = manage("migrate_schemas", "--shared")
        check_noop(output, "--shared")
        public_samples.append(elapsed)
    public = summary(public_samples)
    say(
        f"   baseline  migrate_schemas --shared (public only): median {fmt_s(public['median'])} of {public['n']} "
        f"({', '.join(fmt_s(s) for s in public_samples)})"
    )

    from django.conf import settings

    processes = getattr(settings, "TENANT_MULTIPROCESSING_MAX_PROCESSES", 2)  # django-tenants' default is 2
    runs = {}
    executors = ["standard"] + (["multiprocessing"] if opts.multiprocessing else [])
    for executor in executors:
        elapsed, output = manage("migrate_schemas", f"--executor={executor}")
        visited = check_noop(output, executor)
        per_tenant = (elapsed - public["median"]) / tenants
        runs[executor] = {
            "seconds": elapsed,
            "processes": processes if executor == "multiprocessing" else 1,
            "schemas_visited": visited,
            "per_tenant_seconds": per_tenant,
            "ratio_per_tenant_over_public": per_tenant / public["median"],
            "ratio_total_over_public": elapsed / public["median"],
        }
        note = f" (TENANT_MULTIPROCESSING_MAX_PROCESSES={processes})" if executor == "multiprocessing" else ""
        say(
            f"   --executor={executor}{note}: {fmt_s(elapsed)} total for {visited} schemas "
            f"(public + {tenants} tenants); {per_tenant * 1000:.0f} ms per tenant"
        )
        say(
            f"      ratio per-tenant / public-only = {per_tenant / public['median']:.3f}x; "
            f"total / public-only = {elapsed / public['median']:.1f}x"
        )
        result.rows.append(
            Row(
                bench="2 migrate_schemas",
                metric=f"{executor}: total, {tenants} tenants",
                value=elapsed,
                baseline_metric="--shared (public only)",
                baseline=public["median"],
            )
        )
        result.rows.append(
            Row(
                bench="2 migrate_schemas",
                metric=f"{executor}: per tenant",
                value=per_tenant,
                unit="ms",
                baseline_metric="--shared (public only)",
                baseline=public["median"],
                baseline_unit="s",
            )
        )
    result.details = {"tenant_schemas": tenants, "fleet": fleet, "public_only": public, "public_only_samples": public_samples, "runs": runs}
    return result
