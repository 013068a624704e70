#!/usr/bin/env python
"""Agency scorecards over many placements: .venv/bin/python bench/bench_scorecards.py [--placements N]

What it does:
  1. creates a scratch database (default caseport_bench_scorecards) on the server named by DATABASE_URL,
     migrates the public schema, bootstraps the platform and builds the test cast (tests/world.py);
  2. bulk-loads into acme in SQL (INSERT … SELECT generate_series; triggers off for the load) N placements
     (default 100,000) spread over the last 12 placement months and the six buckets, 60 % with agency X
     (shared by 20 collectors, each placement with one assignment record) and 40 % with agency Y;
     three contact attempts per placement (one in five reaching the debtor, one in a thousand a
     complaint), a promise to pay on every tenth placement, and a payment with its commission line on
     every fifth;
  3. checks that the two ways outsourcing/scorecards.py reads a cohort (placement by placement through the
     indexes, or a hash join over each table; PER_PLACEMENT_LIMIT chooses) give the same numbers at this size;
  4. times, interleaved in shuffled order after a warm-up, the scorecard functions of
     outsourcing/scorecards.py and the lender's scorecard page (server time through django.test.Client,
     DEBUG off), against a baseline in the same run: a bare ``SELECT partner_id, COUNT(*) … GROUP BY``
     over the whole placement table, the least any per-agency report has to read;
  5. drops the database (--keep-db keeps it).

Nothing asserts on timing; the ratio to the baseline is what carries over between machines.
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
from portal.lib import months  # noqa: E402 (after the sys.path set-up above)

HOST = "acme.localhost"
COLLECTORS = 20


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--placements", type=int, default=100_000, help="placements loaded into the tenant (default 100,000)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each variant (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each variant first (default 2)")
    parser.add_argument("--db", default="caseport_bench_scorecards", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def load(world, n: int) -> None:
    """Bulk-load the tenant in SQL (the column-filling loader of bench_queue.py)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from bench.bench_queue import _insert, insert_debtors
    from outsourcing.models import CommissionLine, Placement
    from outsourcing.workbench.models import CollectorAssignment, ContactAttempt, PromiseToPay
    from portal.models import Case
    from portal.payments.models import Payment
    from tenants.models import Membership, Role, User

    x, y = world.orgs["xagency"], world.orgs["yagency"]
    admin = world.people["x_admin"].user
    people = User.objects.bulk_create(
        [User(email=f"bench-sc-{i:02d}@bench.test", full_name=f"催收员{i:02d}", password="!") for i in range(COLLECTORS)]
    )
    Membership.objects.bulk_create([Membership(user=user, organisation=x, role=Role.COLLECTOR) for user in people])
    collectors = "ARRAY[" + ",".join(str(u.pk) for u in people) + "]::bigint[]"
    series = f"FROM generate_series(0, {n - 1}) AS g"
    is_x = "g % 10 < 6"
    starts = "(date_trunc('day', now()) - make_interval(days => g % 365, hours => g % 24))"
    partner = f"CASE WHEN {is_x} THEN '{x.pk}'::uuid ELSE '{y.pk}'::uuid END"
    with tenant_context(world.lenders["acme"]), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no history/FK triggers during the load
        say(f"== loading {n:,} placements into acme (schema {connection.schema_name})")
        insert_debtors(cursor, series)  # debtor g has id md5('debtor:' || g)
        _insert(
            cursor,
            Case,
            {
                "id": "md5('case:' || g)::uuid",
                "debtor_id": "md5('debtor:' || g)::uuid",
                "contract_no": "'SC-' || lpad(g::text, 8, '0')",
                "product": "'随心贷'",
                "region": "'上海'",
                "loan_amount": "30000",
                "principal_due": "10000 + g % 20000",
                "interest_due": "0",
                "penalty_due": "0",
                "fees_due": "0",
                "overdue_since": "current_date - 200",
                "status": "'internal'",
                "risk_flags": "'{}'",
                "day_count_basis": "365",
                "repayment_method": "''",
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
                "partner_id": partner,
                "assigned_to_id": f"CASE WHEN {is_x} THEN ({collectors})[1 + g % {COLLECTORS}] ELSE NULL END",
                "status": "'expired'",
                "starts_at": starts,
                "ends_at": f"{starts} + interval '60 days'",
                "ended_at": f"{starts} + interval '60 days'",
                "bucket": "(ARRAY['M1','M2','M3','M4','M5','M6+'])[1 + (g / 7) % 6]",
                "balance_at_placement": "10000 + g % 20000",
                "round": "1",
            },
            series,
            "placements (X 60 %, Y 40 %; 12 months × 6 buckets)",
        )
        _insert(
            cursor,
            CollectorAssignment,
            {
                "id": f"nextval(pg_get_serial_sequence('{CollectorAssignment._meta.db_table}', 'id'))",
                "placement_id": "md5('placement:' || g)::uuid",
                "case_id": "md5('case:' || g)::uuid",
                "collector_id": f"({collectors})[1 + g % {COLLECTORS}]",
                "assigned_by_id": str(admin.pk),
                "assigned_at": f"{starts} + interval '1 hour'",
            },
            f"{series} WHERE {is_x}",
            "collector assignments (X)",
        )
        attempt_starts = f"({starts} + make_interval(days => 1 + a))"
        _insert(
            cursor,
            ContactAttempt,
            {
                "id": "md5('attempt:' || g || ':' || a)::uuid",
                "case_id": "md5('case:' || g)::uuid",
                "debtor_id": "md5('debtor:' || g)::uuid",
                "placement_id": "md5('placement:' || g)::uuid",
                "organisation_id": partner,
                "collector_id": f"CASE WHEN {is_x} THEN ({collectors})[1 + (g + a) % {COLLECTORS}] ELSE {world.people['y_collector'].user.pk} END",
                "channel": "'phone'",
                "number_kind": "'mobile'",
                "number_dialled": "'13800138000'",
                "party_reached": "CASE WHEN (g + a) % 5 = 0 THEN 'debtor' ELSE 'none' END",
                "identity_verified": "(g + a) % 5 = 0",
                "identity_method": "CASE WHEN (g + a) % 5 = 0 THEN 'id_last4' ELSE '' END",
                "outcome": "CASE WHEN (g * 3 + a) % 1000 = 0 THEN 'complaint' WHEN (g + a) % 5 = 0 THEN 'promise_to_pay' ELSE 'no_answer' END",
                "started_at": attempt_starts,
                "ended_at": f"{attempt_starts} + interval '3 minutes'",
                "debtor_local_date": f"({attempt_starts} AT TIME ZONE 'Asia/Shanghai')::date",
                "identity_failures": "0",
                "note": "''",
            },
            f"{series}, generate_series(0, 2) AS a",
            "contact attempts (3 per placement)",
        )
        _insert(
            cursor,
            PromiseToPay,
            {
                "id": "md5('promise:' || g)::uuid",
                "case_id": "md5('case:' || g)::uuid",
                "placement_id": "md5('placement:' || g)::uuid",
                "attempt_id": "md5('attempt:' || g || ':0')::uuid",
                "amount": "1000",
                "promised_on": f"({starts})::date + 1",
                "due_on": f"({starts})::date + 8",
                "status": "(ARRAY['kept','partly_kept','broken','pending'])[1 + (g / 10) % 4]",
                "paid_amount": "0",
            },
            f"{series} WHERE g % 10 = 0",
            "promises (every tenth placement)",
        )
        _insert(
            cursor,
            Payment,
            {
                "id": "md5('payment:' || g)::uuid",
                "case_id": "md5('case:' || g)::uuid",
                "amount": "500 + g % 1000",
                "to_principal": "500 + g % 1000",
                "to_fees": "0",
                "to_penalty": "0",
                "to_interest": "0",
                "unapplied": "0",
                "paid_on": f"({starts})::date + 5",
                "reference": "'SC-PAY-' || g",
                "source": "'import'",
            },
            f"{series} WHERE g % 5 = 1",
            "payments (every fifth placement)",
        )
        _insert(
            cursor,
            CommissionLine,
            {
                "id": "md5('line:' || g)::uuid",
                "payment_id": "md5('payment:' || g)::uuid",
                "placement_id": "md5('placement:' || g)::uuid",
                "partner_id": partner,
                "case_id": "md5('case:' || g)::uuid",
                "paid_on": f"({starts})::date + 5",
                "bucket": "(ARRAY['M1','M2','M3','M4','M5','M6+'])[1 + (g / 7) % 6]",
                "round": "1",
                "recovered": "500 + g % 1000",
                "rate": "0.1600",
                "commission": "round((500 + g % 1000) * 0.16, 2)",
            },
            f"{series} WHERE g % 5 = 1",
            "commission lines",
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        for model in (Placement, CollectorAssignment, ContactAttempt, PromiseToPay, Payment, CommissionLine):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')  # statistics, as autovacuum would leave them
        say(f"   {'VACUUM ANALYZE':<44} {'':>10}       {time.perf_counter() - started:6.1f} s")


def check_both_ways(world) -> None:
    """The tests cover both reading methods on a handful of placements; this compares them on the loaded tenant."""
    from django.utils import timezone

    from outsourcing import scorecards

    this_month = months.month_start(timezone.localdate())
    month = months.add_months(this_month, -3)
    cohorts = [
        (month, month, "M2", None),
        (months.add_months(month, -2), month, None, None),
        (months.add_months(this_month, -5), this_month, None, world.orgs["xagency"]),
    ]
    limit = scorecards.PER_PLACEMENT_LIMIT
    try:
        for month_from, month_to, bucket, partner in cohorts:
            found = []
            for forced in (10**9, 0):  # placement by placement, then table by table
                scorecards.PER_PLACEMENT_LIMIT = forced
                found.append(scorecards.agency_scorecards(month_from, month_to, bucket=bucket, partner=partner, by_bucket=True))
            assert found[0] == found[1], f"the two methods disagree on {month_from:%Y-%m}..{month_to:%Y-%m} {bucket or 'every bucket'}"
            placed = sum(row.placed for row in found[0])
            say(
                f"   same numbers both ways: {month_from:%Y-%m}..{month_to:%Y-%m}, {bucket or 'every bucket'}"
                f"{', agency X' if partner else ''} ({placed:,} placements)"
            )
    finally:
        scorecards.PER_PLACEMENT_LIMIT = limit


def variants(world, clients):
    from django.db.models import Count
    from django.utils import timezone

    from outsourcing import scorecards
    from outsourcing.models import Placement

    this_month = months.month_start(timezone.localdate())
    year_ago, half_year_ago, month = (
        months.add_months(this_month, -11),
        months.add_months(this_month, -5),
        months.add_months(this_month, -3),
    )
    x = world.orgs["xagency"]
    page = f"/outsourcing/scorecards/?month_from={year_ago:%Y-%m}&month_to={this_month:%Y-%m}"

    def get(path):
        response = clients["acme_manager"].get(path)
        assert response.status_code == 200, response.status_code
        return response

    return [
        (
            "baseline: SELECT partner, COUNT(*) GROUP BY partner (whole table)",
            lambda: list(Placement.objects.values("partner_id").annotate(n=Count("pk")).order_by()),
        ),
        ("agency_scorecards: 12 months, every agency (lender table)", lambda: scorecards.agency_scorecards(year_ago, this_month)),
        ("agency_scorecards: 12 months × bucket rows", lambda: scorecards.agency_scorecards(year_ago, this_month, by_bucket=True)),
        ("agency_scorecards: 6 months, agency X only", lambda: scorecards.agency_scorecards(half_year_ago, this_month, partner=x)),
        ("cohort_comparison: one month, M2", lambda: scorecards.cohort_comparison(month, "M2")),
        ("collector_scorecards: agency X, 6 months", lambda: scorecards.collector_scorecards(x, half_year_ago, this_month)),
        ("lender scorecard page, 12 months (HTTP, server time)", lambda: get(page)),
    ]


def time_variants(items, repeats, warmup, context):
    samples = {label: [] for label, _ in items}
    with context():
        for _label, run in items:
            for _ in range(warmup):
                run()
        rng = random.Random(2026)
        for _ in range(repeats):
            order = list(items)
            rng.shuffle(order)
            for label, run in order:
                started = time.perf_counter()
                run()
                samples[label].append((time.perf_counter() - started) * 1000)
    return samples


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-scorecards-") as server_url:
        say(
            f"Scorecards benchmark: {opts.placements:,} placements, database {opts.db!r} "
            f"(PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs"
        )
        failed = False
        try:
            import contextlib

            from django.db import connection
            from django.test import Client
            from django.test.utils import override_settings
            from django_tenants.utils import tenant_context

            world = setup_world()
            started = time.perf_counter()
            load(world, opts.placements)
            say(f"   loaded in {time.perf_counter() - started:.1f} s")
            connection.set_schema_to_public()
            client = Client(HTTP_HOST=HOST)
            client.force_login(world.people["acme_manager"].user, backend="django.contrib.auth.backends.ModelBackend")

            @contextlib.contextmanager
            def context():
                # The functions run in acme's schema; the page request routes itself (and resets to public afterwards).
                with override_settings(DEBUG=False), tenant_context(world.lenders["acme"]):
                    yield

            def page_in_public_schema(run):
                def wrapped():
                    connection.set_schema_to_public()
                    try:
                        return run()
                    finally:
                        connection.set_tenant(world.lenders["acme"])

                return wrapped

            say("\n== checking the two ways of reading a cohort")
            with tenant_context(world.lenders["acme"]):
                check_both_ways(world)
            items = variants(world, {"acme_manager": client})
            items[-1] = (items[-1][0], page_in_public_schema(items[-1][1]))
            say(f"\n== timing ({opts.repeats} runs of each after {opts.warmup} warm-up, interleaved in shuffled order; DEBUG off)")
            samples = time_variants(items, opts.repeats, opts.warmup, context)
            base = statistics.median(samples[items[0][0]])
            say(f"   {'variant':<66} {'median':>9} {'p90':>9} {'max':>9} {'÷ baseline':>10}")
            for label, values in samples.items():
                ordered = sorted(values)
                p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
                median = statistics.median(values)
                say(f"   {label:<66} {median:7.1f}ms {p90:7.1f}ms {max(values):7.1f}ms {median / base:9.1f}x")
        except Exception:
            import traceback

            failed = True
            say(traceback.format_exc())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
