#!/usr/bin/env python
"""Collector queue and case list with a million cases in one lender: .venv/bin/python bench/bench_queue.py [--cases N]

Target (the workbench issue): server time p95 under 150 ms for the collector's queue and the case
list, with keyset pagination, no COUNT over the whole table, and a constant number of queries per
page (the constant query count is asserted in tests/outsourcing/workbench/test_workbench_queue.py, not here).

What it does:
  1. creates a scratch database (default caseport_bench_queue) on the server named by DATABASE_URL,
     migrates the public schema, bootstraps the platform and builds the test cast (tests/world.py);
  2. bulk-loads N cases into acme in SQL (INSERT … SELECT generate_series; triggers off for the load):
     debtors, cases, placements (70 % with agency X, 10 % with agency Y, the rest unplaced, plus
     recalled earlier placements), 40 collectors of X sharing the work, one collector (x_collector)
     with --assigned cases and another (x_collector2) with 1,000, contact attempts on two thirds of the placements, and promises to pay
     (some due today in the collector's queue);
  3. times pages server-side through Django's test client with DEBUG off, the variants interleaved
     in shuffled order: a bare view (the baseline, same middleware), the collector's queue (first page
     and a page 40 cursors deep), the workbench case page, the agency admin's assign page, and the
     case list for a collector, the agency admin and the lender's manager, and the manager's case list with each
     filter alone and combined (bucket, status, product, partner, limitation due/expired), all against the bare view;
     an EXPLAIN ANALYZE of the case-list query of any filtered list over the target (--explain-all: of every one);
  4. drops the database (--keep-db keeps it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: import from the project root, never let bench/ shadow a package
sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402
from bench.run import scratch_database, setup_world  # noqa: E402
from bench.timing import say  # noqa: E402

TARGET_MS = 150.0
SLOW_SECONDS = 1.0
SMALL_QUEUE = 1_000
HOST = "acme.localhost"
OTHER_COLLECTORS = 40


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cases", type=int, default=1_000_000, help="cases loaded into the tenant (default 1,000,000; 100000 for a quick run)"
    )
    parser.add_argument("--assigned", type=int, default=5_000, help="cases in the benchmarked collector's queue (default 5,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first (default 20)")
    parser.add_argument("--db", default="caseport_bench_queue", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--explain-all", action="store_true", help="print EXPLAIN ANALYZE of every filtered case list, not only those over the target"
    )
    return parser.parse_args(argv)


# ----------------------------------------------------------------- loading
def _fill(model, given: dict) -> tuple[str, str, list]:
    """Column list, SELECT list and parameters for an INSERT … SELECT into ``model``'s table: the given
    expressions, then each other column's model default (or NULL, or a neutral value), so the loader keeps
    working when another app adds fields."""
    neutral = {
        "CharField": "''",
        "TextField": "''",
        "BooleanField": "false",
        "JSONField": "'{}'::jsonb",
        "ArrayField": "'{}'",
        "DateTimeField": "now()",
        "DateField": "current_date",
    }
    from django.db.models import NOT_PROVIDED

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.column not in given and field.db_default is not NOT_PROVIDED:
            continue  # the database's own default (e.g. ledger posted_in = txid_current())
        columns.append(f'"{field.column}"')
        if field.column in given:
            values.append(given[field.column].replace("%", "%%"))  # SQL modulo, not a placeholder
        elif field.has_default() and not callable(field.default):
            values.append("%s")
            params.append(field.default)
        elif field.null:
            values.append("NULL")
        else:
            values.append(neutral.get(field.get_internal_type(), "0"))
    unknown = set(given) - {field.column for field in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model._meta.db_table} has no column(s) {sorted(unknown)}")
    return ", ".join(columns), ", ".join(values), params


def _insert(cursor, model, given, source, label):
    started = time.perf_counter()
    columns, values, params = _fill(model, given)
    cursor.execute(f'INSERT INTO "{model._meta.db_table}" ({columns}) SELECT {values} {source.replace("%", "%%")}', params)
    say(f"   {label:<44} {cursor.rowcount:>10,} rows  {time.perf_counter() - started:6.1f} s")


def insert_debtors(cursor, series: str) -> None:
    """One plain debtor per row of ``series`` (``FROM generate_series(…) AS g``), id md5('debtor:' || g)::uuid, for
    the benchmarks whose cases need a debtor and nothing more of it."""
    from portal.models import Debtor

    _insert(
        cursor,
        Debtor,
        {
            "id": "md5('debtor:' || g)::uuid",
            "name": "'债务人' || g",
            "id_number_ciphertext": "'bench'",
            "id_number_index": "md5('idx:' || g)",
            "id_number_masked": "'110***********0000'",
            "mobile": "'13800138000'",
        },
        series,
        "debtors",
    )


def load(world, cases: int, assigned: int) -> dict:
    """Bulk-load the tenant in SQL. Returns the ids the timed pages need."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from outsourcing.models import Placement
    from outsourcing.workbench.models import ContactAttempt, PromiseToPay
    from portal.models import Case, Debtor
    from tenants.models import Membership, Role, User

    agency_x, agency_y = world.orgs["xagency"], world.orgs["yagency"]
    collector = world.people["x_collector"].user
    others = User.objects.bulk_create(
        [User(email=f"bench-collector-{i:02d}@bench.test", full_name=f"催收员{i:02d}", password="!") for i in range(OTHER_COLLECTORS)]
    )
    Membership.objects.bulk_create([Membership(user=user, organisation=agency_x, role=Role.COLLECTOR) for user in others])
    other_ids = "ARRAY[" + ",".join(str(u.pk) for u in others) + "]::bigint[]"
    # Placed with X: g % 10 < 7. The benchmarked collector gets the first `assigned` of them; 5 % stay
    # unassigned; the rest are spread over the other collectors.
    x_rank = "((g / 10) * 7 + (g % 10))"  # 0-based rank of g among X's cases
    small = world.people["x_collector2"].user  # a second, more typical queue: SMALL_QUEUE cases
    assigned_sql = (
        f"CASE WHEN {x_rank} < {assigned} THEN {collector.pk} WHEN {x_rank} < {assigned + SMALL_QUEUE} THEN {small.pk} "
        f"WHEN g % 20 = 1 THEN NULL ELSE ({other_ids})[1 + g % {OTHER_COLLECTORS}] END"
    )
    series = f"FROM generate_series(0, {cases - 1}) AS g"
    with tenant_context(world.lenders["acme"]):
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no history/FK triggers during the load
            say(f"== loading {cases:,} cases into acme (schema {connection.schema_name})")
            _insert(
                cursor,
                Debtor,
                {
                    "id": "md5('debtor:' || g)::uuid",
                    "name": "'债务人' || g",
                    "id_number_ciphertext": "'bench'",
                    "id_number_index": "md5('idx:' || g)",
                    "id_number_masked": "'110***********' || lpad((g % 10000)::text, 4, '0')",
                    "mobile": "'139' || lpad((g % 100000000)::text, 8, '0')",
                    "home_phone": "'021' || lpad((g % 100000000)::text, 8, '0')",
                    "work_phone": "''",
                    "address": "'上海市徐汇区漕溪北路' || g || '号'",
                    "work_address": "''",
                    "employer": "''",
                    "created_at": "now() - make_interval(secs => g)",
                },
                series,
                "debtors",
            )
            _insert(
                cursor,
                Case,
                {
                    "id": "md5('case:' || g)::uuid",
                    "debtor_id": "md5('debtor:' || g)::uuid",
                    "contract_no": "'BQ-' || lpad(g::text, 8, '0')",
                    # Products independent of the partner split (g % 10): 60 / 30 / 10 %. The limitation date (诉讼时效) follows the
                    # case's age, as in a real book (older imports, older debts): from ~3 years ahead for the newest case to 120 days
                    # ago for the oldest, ±30 days; so the ~10 % expired and ~7.5 % due within 90 days are the oldest cases, the
                    # last pages of the list's created_at order (the worst case for a keyset walk).
                    "product": "CASE WHEN (g / 10) % 10 < 6 THEN '随心贷' WHEN (g / 10) % 10 < 9 THEN '消费分期' ELSE '车主贷' END",
                    "limitation_expires_on": f"current_date + 1080 - (g::bigint * 1200 / {cases})::int + (g::bigint * 7919 % 61)::int - 30",
                    "region": "'上海'",
                    "loan_amount": "30000",
                    "principal_due": "10000 + g % 20000",
                    "interest_due": "512.30",
                    "penalty_due": "0",
                    "fees_due": "0",
                    "overdue_since": "current_date - (1 + g % 240)",
                    "status": "CASE WHEN g % 10 < 8 THEN 'placed' ELSE 'internal' END",
                    "risk_flags": "'{}'",
                    "day_count_basis": "365",
                    "repayment_method": "''",
                    "created_at": "now() - make_interval(secs => g)",
                    "updated_at": "now()",
                },
                series,
                "cases",
            )
            _insert(
                cursor,
                Placement,
                {
                    "id": "md5('placement:' || g)::uuid",
                    "case_id": "md5('case:' || g)::uuid",
                    "partner_id": f"CASE WHEN g % 10 < 7 THEN '{agency_x.pk}'::uuid ELSE '{agency_y.pk}'::uuid END",
                    "assigned_to_id": f"CASE WHEN g % 10 < 7 THEN {assigned_sql} ELSE NULL END",
                    "status": "'active'",
                    "starts_at": "now() - interval '10 days'",
                    "ends_at": "now() + make_interval(days => 1 + g % 60)",
                },
                f"{series} WHERE g % 10 < 8",
                "active placements (X 70 %, Y 10 %)",
            )
            _insert(
                cursor,
                Placement,
                {
                    "id": "md5('earlier:' || g)::uuid",
                    "case_id": "md5('case:' || g)::uuid",
                    "partner_id": f"'{agency_y.pk}'::uuid",
                    "assigned_to_id": "NULL",
                    "status": "'recalled'",
                    "starts_at": "now() - interval '100 days'",
                    "ends_at": "now() - interval '20 days'",
                    "ended_at": "now() - interval '40 days'",
                },
                f"{series} WHERE g % 10 = 3",
                "recalled earlier placements (handover)",
            )
            attempt = {
                "case_id": "md5('case:' || g)::uuid",
                "debtor_id": "md5('debtor:' || g)::uuid",
                "placement_id": "md5('placement:' || g)::uuid",
                "organisation_id": f"'{agency_x.pk}'::uuid",
                "collector_id": str(collector.pk),
                "channel": "'phone'",
                "number_kind": "'mobile'",
                "number_dialled": "'139' || lpad((g % 100000000)::text, 8, '0')",
                "party_reached": "'none'",
                "identity_verified": "false",
                "identity_method": "''",
                "identity_failures": "0",
                "outcome": "'no_answer'",
                "note": "''",
            }
            _insert(
                cursor,
                ContactAttempt,
                {
                    **attempt,
                    "id": "md5('attempt:' || g)::uuid",
                    "started_at": "now() - make_interval(days => 1 + g % 30, mins => g % 600)",
                    "ended_at": "now() - make_interval(days => 1 + g % 30, mins => g % 600) + interval '2 minutes'",
                    "debtor_local_date": "((now() - make_interval(days => 1 + g % 30, mins => g % 600)) AT TIME ZONE 'Asia/Shanghai')::date",
                },
                f"{series} WHERE g % 10 < 7 AND g % 3 <> 0",
                "contact attempts (two thirds of X's cases)",
            )
            _insert(
                cursor,
                ContactAttempt,
                {
                    **attempt,
                    "id": "md5('attempt2:' || g)::uuid",
                    "outcome": "'promise_to_pay'",
                    "party_reached": "'debtor'",
                    "identity_verified": "true",
                    "identity_method": "'id_last4'",
                    "identity_verified_at": "now() - interval '3 days'",
                    "started_at": "now() - interval '3 days'",
                    "ended_at": "now() - interval '3 days' + interval '5 minutes'",
                    "debtor_local_date": "((now() - interval '3 days') AT TIME ZONE 'Asia/Shanghai')::date",
                },
                f"{series} WHERE g % 10 < 7 AND g % 50 = 1",
                "calls with a promise to pay",
            )
            today = "(now() AT TIME ZONE 'Asia/Shanghai')::date"
            _insert(
                cursor,
                PromiseToPay,
                {
                    "id": "md5('promise:' || g)::uuid",
                    "case_id": "md5('case:' || g)::uuid",
                    "placement_id": "md5('placement:' || g)::uuid",
                    "attempt_id": "md5('attempt2:' || g)::uuid",
                    "amount": "500 + g % 3000",
                    "promised_on": f"{today} - 3",
                    "due_on": f"{today} + (g / 50) % 5 - 1",
                    "status": "'pending'",
                    "paid_amount": "0",
                    "created_at": "now() - interval '3 days'",
                },
                f"{series} WHERE g % 10 < 7 AND g % 50 = 1",
                "promises (a fifth due today)",
            )
            cursor.execute("SET session_replication_role = DEFAULT")
            started = time.perf_counter()
            for table in ("portal_debtor", "portal_case", "outsourcing_placement", "workbench_contactattempt", "workbench_promisetopay"):
                cursor.execute(f'VACUUM ANALYZE "{table}"')  # statistics and the visibility map, as autovacuum would leave them
            say(f"   {'VACUUM ANALYZE':<44} {'':>10}       {time.perf_counter() - started:6.1f} s")
            cursor.execute("SELECT count(*) FROM outsourcing_placement WHERE assigned_to_id = %s AND status = 'active'", [collector.pk])
            queue_size = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM workbench_promisetopay p JOIN outsourcing_placement pl ON pl.id = p.placement_id "
                f"WHERE pl.assigned_to_id = %s AND p.due_on = {today}",
                [collector.pk],
            )
            due_today = cursor.fetchone()[0]
            cursor.execute(
                "SELECT case_id FROM outsourcing_placement WHERE assigned_to_id = %s AND status = 'active' LIMIT 1", [collector.pk]
            )
            sample_case = cursor.fetchone()[0]
    say(f"   x_collector's queue: {queue_size:,} cases, {due_today:,} promises due today")
    return {"queue_size": queue_size, "due_today": due_today, "sample_case": sample_case}


# ----------------------------------------------------------------- timing
def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def deep_queue_cursor(world, pages=40):
    """The cursor a collector holds after paging 40 times through the queue (2,000 cases in)."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from outsourcing.workbench import conduct, queue
    from outsourcing.workbench.models import ContactPolicy

    with tenant_context(world.lenders["acme"]):
        now = timezone.now()
        today = conduct.debtor_local(now, ContactPolicy.current()).date()
        cursor = None
        for _ in range(pages):
            page = queue.collector_queue(
                agency=world.orgs["xagency"], collector=world.people["x_collector"].user, today=today, now=now, cursor=cursor
            )
            cursor = page.next_cursor or cursor
    return cursor


def deep_case_list_cursor(client, pages=20):
    import re
    from urllib.parse import unquote

    cursor = None
    for _ in range(pages):
        extra = {"HTTP_HX_REQUEST": "true"} if cursor else {}
        body = client.get("/cases/" + (f"?cursor={cursor}" if cursor else ""), **extra).content.decode()
        found = re.search(r"cursor=([^\"&]+)", body)
        if not found:
            break
        cursor = unquote(found.group(1))
    return cursor


FILTER_PREFIX = "case list: lender manager, filter"


def filter_variants(world):
    """The case list's filters for the lender's manager, each alone and combined (config.views.cases.apply_case_filters).
    Shares in the loaded data: bucket M3 1/8, status placed 80 %, product 车主贷 10 %, agency Y's active placements 10 %,
    limitation due within 90 days ~7.5 %, expired ~10 % (both among the oldest cases); the combination ~0.3 %."""
    from urllib.parse import urlencode

    agency_y = world.orgs["yagency"].pk
    filters = [
        ("bucket M3", [("bucket", "M3")]),
        ("status placed", [("status", "placed")]),
        ("product 车主贷", [("product", "车主贷")]),
        ("partner agency Y", [("partner", agency_y)]),
        ("limitation due within 90 days", [("limitation", "90")]),
        ("limitation expired", [("limitation", "expired")]),
        (
            "M3 + placed + agency Y + due within a year",
            [("bucket", "M3"), ("status", "placed"), ("partner", agency_y), ("limitation", "365")],
        ),
    ]
    return [(f"{FILTER_PREFIX} {name}", "acme_manager", "/cases/?" + urlencode(query), "BQ-") for name, query in filters]


def explain_slowest(world, stats, labels):
    """EXPLAIN (ANALYZE, BUFFERS) of the case list's query (its page of 50 + 1 cases) of each labelled page, in acme's schema."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    for label in labels:
        sql = stats[label].get("list_sql")
        if not sql:
            continue
        say(f"\n== EXPLAIN ANALYZE, the case list query of: {label}\n   {sql}")
        with tenant_context(world.lenders["acme"]), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%", "%%"))
            for (line,) in cursor.fetchall():
                say("   " + line)
        connection.set_schema_to_public()


def clients_for(world):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    clients = {}
    for key in ("x_collector", "x_collector2", "x_admin", "acme_manager"):
        persona = world.people[key]
        client = Client(HTTP_HOST=HOST)
        client.force_login(persona.user, backend="django.contrib.auth.backends.ModelBackend")
        if persona.device is not None:  # 2FA verified where the role requires it (as tests/conftest.py client_for)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = persona.device.persistent_id
            session.save()
        clients[key] = client
    return clients


def time_pages(variants, clients, requests, warmup):
    """p50/p95 per page. A page already far over the target (first request over SLOW_SECONDS) gets
    fewer warm-up and timed requests, so that a missing index does not make the run take an hour."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    stats, rounds = {}, {}
    for label, persona, path, expect in variants:
        started = time.perf_counter()
        response = clients[persona].get(path)
        slow = time.perf_counter() - started > SLOW_SECONDS
        for _ in range(2 if slow else warmup):
            response = clients[persona].get(path)
        assert response.status_code == 200, f"{label}: {response.status_code}"
        assert expect in response.content.decode(), f"{label}: the page does not show {expect!r}"
        with CaptureQueriesContext(connection) as captured:
            clients[persona].get(path)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        stats[label] = {
            "samples": [],
            "queries": len(captured.captured_queries),
            "slowest_sql_ms": float(slowest["time"]) * 1000,
            "list_sql": next(
                (
                    q["sql"]
                    for q in captured.captured_queries  # the case list's own query, for EXPLAIN
                    if q["sql"].startswith("SELECT") and 'FROM "portal_case"' in q["sql"] and "LIMIT 51" in q["sql"]
                ),
                None,
            ),
        }
        rounds[label] = max(10, requests // 20) if slow else requests
        if slow:
            say(f"   ({label}: over {SLOW_SECONDS:.0f} s per request; timing {rounds[label]} requests instead of {requests})")
    rng = random.Random(2026)
    for round_number in range(requests):
        order = [v for v in variants if round_number < rounds[v[0]]]
        rng.shuffle(order)
        for label, persona, path, _expect in order:
            started = time.perf_counter()
            response = clients[persona].get(path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200
            stats[label]["samples"].append(elapsed * 1000)
    return stats


def report(stats, baseline_label, targeted):
    base_p95 = percentile(stats[baseline_label]["samples"], 0.95)
    say(f"   {'page':<60} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9} {'p95/bare':>8} {'SQL':>4} {'slowest SQL':>11}  verdict")
    verdicts = {}
    for label, data in stats.items():
        samples = data["samples"]
        p50, p95 = statistics.median(samples), percentile(samples, 0.95)
        verdict = ("PASS" if p95 < TARGET_MS else "FAIL") if label in targeted else ""
        verdicts[label] = verdict
        say(
            f"   {label:<60} {len(samples):>4} {p50:7.1f}ms {p95:7.1f}ms {max(samples):7.1f}ms {p95 / base_p95:7.1f}x {data['queries']:>4} "
            f"{data['slowest_sql_ms']:9.1f}ms  {verdict}"
        )
    return verdicts


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-queue-") as server_url:
        say(
            f"Collector queue and case list benchmark: {opts.cases:,} cases, database {opts.db!r} "
            f"(PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs"
        )
        failed = False
        try:
            from django.db import connection
            from django.test.utils import override_settings

            world = setup_world()
            started = time.perf_counter()
            loaded = load(world, opts.cases, opts.assigned)
            say(f"   loaded in {time.perf_counter() - started:.1f} s")
            connection.set_schema_to_public()

            clients = clients_for(world)
            queue_cursor = deep_queue_cursor(world)
            connection.set_schema_to_public()
            with override_settings(ROOT_URLCONF="bench.urls_bare", DEBUG=False):
                list_cursor = deep_case_list_cursor(clients["acme_manager"])
                variants = [
                    ("baseline: bare view, full middleware (collector)", "x_collector", "/bench/bare/", "ok"),
                    (
                        f"collector queue ({opts.assigned:,} cases), first page",
                        "x_collector",
                        "/workbench/",
                        'class="badge warn"',
                    ),  # a promise due today leads
                    (f"collector queue ({SMALL_QUEUE:,} cases), first page", "x_collector2", "/workbench/", "/workbench/cases/"),
                    (
                        f"collector queue ({opts.assigned:,} cases), 40 pages deep",
                        "x_collector",
                        f"/workbench/?cursor={queue_cursor}",
                        "/workbench/cases/",
                    ),
                    ("workbench case page (collector)", "x_collector", f"/workbench/cases/{loaded['sample_case']}/", 'id="call"'),
                    ("agency admin: assign page", "x_admin", "/workbench/assign/", 'name="placement"'),
                    ("case list: collector", "x_collector", "/cases/", "BQ-"),
                    ("case list: agency admin", "x_admin", "/cases/", "BQ-"),
                    ("case list: lender manager", "acme_manager", "/cases/", "BQ-"),
                    ("case list: lender manager, 20 pages deep", "acme_manager", f"/cases/?cursor={list_cursor}", "BQ-"),
                    *filter_variants(world),
                ]
                targeted = {label for label, *_ in variants if label.startswith(("collector queue", "case list"))}
                say(
                    f"\n== timing ({opts.requests} requests per page after {opts.warmup} warm-up, interleaved; DEBUG off; server time "
                    f"through django.test.Client)"
                )
                stats = time_pages(variants, clients, opts.requests, opts.warmup)
                verdicts = report(stats, variants[0][0], targeted)
            failed_pages = [label for label, verdict in verdicts.items() if verdict == "FAIL"]
            explain_slowest(
                world,
                stats,
                [label for label in failed_pages if label.startswith(FILTER_PREFIX)]
                if not opts.explain_all
                else [label for label in stats if label.startswith(FILTER_PREFIX)],
            )
            say(f"\nTarget p95 < {TARGET_MS:.0f} ms: " + ("all pages PASS" if not failed_pages else "FAIL: " + "; ".join(failed_pages)))
        except Exception:
            import traceback

            failed = True
            say(traceback.format_exc())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
