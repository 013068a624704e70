#!/usr/bin/env python
"""Run every Caseport benchmark: .venv/bin/python bench/run.py [--quick] [--json] [--db NAME]

Creates a scratch database (default caseport_bench) on the server named by
DATABASE_URL, migrates the public schema and bootstraps the platform in it,
runs the benchmarks and drops it again. Each benchmark prints absolute
figures and a ratio against a baseline measured in the same run. See
bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/ itself; import from the project root instead
# (and never let a bench module shadow a top-level package).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))

from bench import database, timing  # noqa: E402
from bench.timing import say  # noqa: E402

BENCHMARKS = ("provisioning", "migrate", "requests")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute): fewer repeats, 20 tenants, fewer requests")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on stdout (progress goes to stderr)")
    parser.add_argument("--db", default="caseport_bench", help="scratch database name (default: caseport_bench); created and dropped")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database at the end")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--tenants", type=int, help="tenant schemas for migrate_schemas (default 200; --quick 20)")
    parser.add_argument("--repeats", type=int, help="provisioning runs of each kind (default 5; --quick 2)")
    parser.add_argument("--iterations", type=int, help="timed requests per variant (default 300; --quick 100)")
    parser.add_argument("--warmup", type=int, help="warm-up requests per variant (default 30; --quick 10)")
    parser.add_argument("--cases", type=int, help="cases seeded in acme for the dashboard (default 400; --quick 200)")
    parser.add_argument(
        "--no-multiprocessing", dest="multiprocessing", action="store_false", help="skip migrate_schemas --executor=multiprocessing"
    )
    parser.add_argument(
        "--debug-requests", action="store_true", help="keep DEBUG=True while timing requests (default: DEBUG=False, as in production)"
    )
    opts = parser.parse_args(argv)
    quick = opts.quick
    opts.tenants = opts.tenants or (20 if quick else 200)
    opts.provision_repeats = opts.repeats or (2 if quick else 5)
    opts.public_repeats = 2 if quick else 3
    opts.iterations = opts.iterations or (100 if quick else 300)
    opts.warmup = opts.warmup or (10 if quick else 30)
    opts.cases = opts.cases or (200 if quick else 400)
    opts.only = [name.strip() for name in opts.only.split(",") if name.strip()]
    unknown = set(opts.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return opts


def configure_environment(bench_url: str, var_dir: str) -> None:
    """Point Django at the scratch database before anything imports settings."""
    os.environ["DATABASE_URL"] = bench_url  # config/settings/base.py reads it at import
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["DJANGO_DEBUG"] = "1"  # dev settings; benchmark 3 turns DEBUG off while it times requests
    os.environ["CASEPORT_VAR_DIR"] = var_dir  # media, celery queue, static root: nothing lands in var/
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


@contextlib.contextmanager
def scratch_database(name: str, *, keep: bool, prefix: str):
    """A benchmark's own database on DATABASE_URL's server (created here, refused if it exists without the
    bench marker, see bench/database.py) and a scratch var dir, with Django pointed at both; yields the server URL.
    Afterwards, whatever happened: connections closed, the database dropped (unless ``keep``), the dir removed."""
    server_url = os.environ.get("DATABASE_URL") or database.DEFAULT_ADMIN_URL
    var_dir = tempfile.mkdtemp(prefix=prefix)
    configure_environment(database.with_database(server_url, name), var_dir)
    database.create(server_url, name)
    try:
        yield server_url
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if keep:
            say(f"\nkept database {name!r} (--keep-db)")
        else:
            database.drop(server_url, name)
        shutil.rmtree(var_dir, ignore_errors=True)


def setup_database() -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    start = timing.clock()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    migrated = timing.clock() - start
    start = timing.clock()
    call_command("bootstrap_platform", verbosity=0, stdout=io.StringIO())
    bootstrapped = timing.clock() - start
    say(
        f"setup: migrate_schemas --shared {timing.fmt_s(migrated)}; bootstrap_platform {timing.fmt_s(bootstrapped)} "
        f"(public tenant + template schema, migrations replayed once)"
    )
    return {"migrate_shared_seconds": migrated, "bootstrap_seconds": bootstrapped}


def setup_world():
    """setup_database() plus the test suite's cast (tests/world.py): the lenders, agencies and people the page benchmarks act as."""
    setup_database()
    start = timing.clock()
    from tests.world import build_world

    world = build_world()
    say(f"setup: test cast built in {timing.fmt_s(timing.clock() - start)}")
    return world


def main(argv=None) -> int:
    opts = parse_args(argv)
    json_out = sys.stdout
    if opts.json:
        # stdout carries only the JSON document; progress, and anything a library prints, goes to stderr.
        timing.OUT = sys.stderr
        sys.stdout = sys.stderr
    results, failed = [], []
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-") as server_url:
        say(
            f"Caseport benchmarks{' (quick)' if opts.quick else ''}: database {opts.db!r} on "
            f"{database.admin_url(server_url).rsplit('/', 1)[0]} (PostgreSQL {database.server_version(server_url)}), "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )
        meta = {
            "quick": opts.quick,
            "database": opts.db,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "postgresql": database.server_version(server_url),
            "settings": "config.settings.dev",
        }
        meta["setup"] = setup_database()
        from bench import migrate_noop, provisioning, request_overhead

        runners = {"provisioning": provisioning.run, "migrate": migrate_noop.run, "requests": request_overhead.run}
        for name in BENCHMARKS:
            if name not in opts.only:
                continue
            try:
                results.append(runners[name](opts))
            except Exception:  # report it, run the others, exit non-zero
                failed.append(name)
                say(f"!! benchmark {name} failed:\n{traceback.format_exc()}")

    say("\n== Summary (ratio = value / baseline, both measured in this run)")
    timing.print_summary(results)
    if failed:
        say(f"\nFAILED to run: {', '.join(failed)}")
    if opts.json:
        sys.stdout = json_out
        print(json.dumps({"meta": meta, "failed": failed, "results": [r.as_dict() for r in results]}, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
