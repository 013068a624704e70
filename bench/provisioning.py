"""Benchmark 1: provisioning a lender with every app installed.

The production path, ``services.create_lender(clone=True)``, copies the
migrated template schema; the baseline replays every tenant migration into
an empty schema. Runs alternate (clone, replay, replay, clone, ...) so that
drift on a noisy machine hits both sides alike; medians are reported.
"""

from __future__ import annotations

import contextlib

from bench.timing import Result, Row, clock, fmt_s, say, summary

TARGET_SECONDS = 1.0


@contextlib.contextmanager
def watching_sql():
    """Record which provisioning path really ran, from the SQL it sent.

    Uses Django's connection.execute_wrapper, so it does not depend on how
    tenants.services or django-tenants call clone_schema().
    """
    from django.db import connection

    seen = {"clone_schema": 0, "create_schema": 0}

    def wrapper(execute, sql, params, many, context):
        text = sql.lstrip().upper() if isinstance(sql, str) else ""
        if "CLONE_SCHEMA(" in text and text.startswith("SELECT"):
            seen["clone_schema"] += 1
        elif text.startswith("CREATE SCHEMA"):
            seen["create_schema"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def provision(kind: str, slug: str) -> float:
    """Create one lender the given way; return wall-clock seconds."""
    from django.db import connection

    from tenants import services

    connection.set_schema_to_public()
    if kind == "spare":
        services.ensure_spare_schemas(count=1)  # a background task does this in production; not timed
        connection.set_schema_to_public()
        with watching_sql() as seen:
            start = clock()
            services.create_lender(slug=slug, name=f"Bench {slug}", clone=True)
            elapsed = clock() - start
        if seen["clone_schema"] or seen["create_schema"]:
            raise RuntimeError(f"the spare path cloned or created a schema ({seen})")
        connection.set_schema_to_public()
        return elapsed
    if kind == "clone":
        with watching_sql() as seen:
            start = clock()
            services.create_lender(slug=slug, name=f"Bench {slug}", clone=True)
            elapsed = clock() - start
        if seen["clone_schema"] != 1:
            raise RuntimeError(f"the clone path called clone_schema() {seen['clone_schema']} times, not once")
    else:
        # services.create_lender(clone=False) creates an empty schema and replays
        # every tenant migration (tenants.services.replay_migrations); checked below.
        with watching_sql() as seen:
            start = clock()
            services.create_lender(slug=slug, name=f"Bench {slug}", clone=False)
            elapsed = clock() - start
        if seen["clone_schema"] or not seen["create_schema"]:
            raise RuntimeError(f"the replay baseline did not replay migrations into a new schema ({seen})")
    connection.set_schema_to_public()
    return elapsed


def schema_shape(schema_name: str) -> dict:
    """Tables, indexes, triggers and recorded migrations in a schema (sanity check: clone == replay)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM pg_tables WHERE schemaname = %(s)s),
              (SELECT count(*) FROM pg_indexes WHERE schemaname = %(s)s),
              (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND NOT t.tgisinternal)
            """,
            {"s": schema_name},
        )
        tables, indexes, triggers = cursor.fetchone()
        cursor.execute(f'SELECT count(*) FROM "{schema_name}".django_migrations')
        migrations = cursor.fetchone()[0]
    return {"tables": tables, "indexes": indexes, "triggers": triggers, "migrations": migrations}


def run(opts) -> Result:
    from tenants.services import schema_name_for

    repeats = opts.provision_repeats
    say(f"\n== 1. Lender provisioning: clone template (production) vs replay migrations; {repeats} of each, alternating")
    # One unmeasured run of each first: the first clone installs the clone_schema()
    # SQL function and the first replay imports every migration module; a
    # long-running web process has done both long before it provisions a lender.
    cold = {"clone": provision("clone", "bench-warm-clone"), "replay": provision("replay", "bench-warm-replay")}
    say(f"   warm-up (not counted): clone {fmt_s(cold['clone'])}, replay {fmt_s(cold['replay'])}")

    times = {"clone": [], "replay": [], "spare": []}
    for i in range(repeats):
        order = ("clone", "replay", "spare") if i % 2 == 0 else ("spare", "replay", "clone")
        for kind in order:
            elapsed = provision(kind, f"bench-{kind}-{i:02d}")
            times[kind].append(elapsed)
            say(f"   run {i + 1}/{repeats} {kind:<6} {fmt_s(elapsed)}")

    shapes = {kind: schema_shape(schema_name_for(f"bench-{kind}-00")) for kind in ("clone", "replay")}
    same_shape = shapes["clone"] == shapes["replay"]
    clone, replay, spare = summary(times["clone"]), summary(times["replay"]), summary(times["spare"])
    ratio = clone["median"] / replay["median"]
    verdict = "PASS" if clone["median"] < TARGET_SECONDS else "FAIL"
    say(f"   clone  median {fmt_s(clone['median'])}  (min {fmt_s(clone['min'])}, max {fmt_s(clone['max'])})")
    say(f"   replay median {fmt_s(replay['median'])}  (min {fmt_s(replay['min'])}, max {fmt_s(replay['max'])})")
    say(f"   spare  median {fmt_s(spare['median'])}  (claiming a schema cloned ahead of time: a rename)")
    say(f"   ratio clone/replay = {ratio:.2f}x  ({1 / ratio:.1f}x faster); spare/replay = {spare['median'] / replay['median']:.3f}x")
    say(f"   target: provisioning under {TARGET_SECONDS:.0f} s -> {verdict} (clone median {fmt_s(clone['median'])})")
    say(f"   schema check: clone {shapes['clone']} / replay {shapes['replay']} -> {'identical' if same_shape else 'DIFFERENT'}")

    result = Result(name="provisioning", title="Lender provisioning (create_lender)")
    result.rows.append(
        Row(
            bench="1 provisioning",
            metric="create_lender clone (median)",
            value=clone["median"],
            baseline_metric="replay migrations (median)",
            baseline=replay["median"],
            target=f"clone < {TARGET_SECONDS:.0f} s",
            verdict=verdict,
        )
    )
    result.rows.append(
        Row(
            bench="1 provisioning",
            metric="create_lender from a spare (median)",
            value=spare["median"],
            baseline_metric="replay migrations (median)",
            baseline=replay["median"],
            target=f"< {TARGET_SECONDS:.0f} s",
            verdict="PASS" if spare["median"] < TARGET_SECONDS else "FAIL",
        )
    )
    result.details = {
        "repeats": repeats,
        "target_seconds": TARGET_SECONDS,
        "clone": clone,
        "replay": replay,
        "clone_samples": times["clone"],
        "replay_samples": times["replay"],
        "ratio_clone_over_replay": ratio,
        "spare": spare,
        "spare_samples": times["spare"],
        "warmup": cold,
        "schema_shapes": shapes,
        "schemas_identical": same_shape,
        "verdict": verdict,
    }
    return result
