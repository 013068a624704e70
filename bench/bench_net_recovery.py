#!/usr/bin/env python
"""Net recovery over a million ledger legs: .venv/bin/python bench/bench_net_recovery.py [--legs N]

What it does:
  1. creates a scratch database (default caseport_bench_net_recovery) on the server named by DATABASE_URL,
     migrates the public schema, bootstraps the platform and builds the test cast (tests/world.py);
  2. bulk-loads acme in SQL: 100,000 cases (triggers off for those), 30 partners (20 agencies, 10 law firms), then
     N legs (default 1,000,000; N/2 balanced two-leg transactions: payments, commissions, law-firm fees, court
     fees advanced, costs recovered, settlements) over ~24 months and 5 products, through the REAL ledger tables
     in chunks of one INSERT … SELECT generate_series each: the statement-level ``ledger_leg_totals`` trigger keeps
     LedgerTotal as it would in production throughout. The deferred balance check (one per
     transaction, at COMMIT) runs for the first --checked-legs legs (its cost is printed); for the rest it is
     disabled (ALTER TABLE … DISABLE TRIGGER; about 1.6 ms a transaction on a busy 2-core machine) and every
     transaction is then checked by the same rule in one set-based query; the load time is printed per chunk;
  3. checks that the dashboard's figures from the totals equal the same figures summed over the legs;
  4. times, interleaved in shuffled order after a warm-up, what the dashboard's server does — the report
     functions the view calls (reports.ledger_months, products, net_recovery, trend) and the page itself through
     django.test.Client (DEBUG off) — against the baseline in the same run: the very same figures by a plain SUM
     over the legs (reports.net_recovery(source=LEGS)), and the bare ``SELECT account, SUM(amount) … GROUP BY
     account`` over the legs, the least any whole-ledger report has to read;
  5. prints median, p95 and the ratio to the baseline; the target is a p95 under 200 ms for the dashboard.
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

HOST = "acme.localhost"
AGENCIES, LAW_FIRMS = 20, 10
PRODUCTS = ("随心贷", "信用卡分期", "车主贷", "装修贷", "小微经营贷")
MONTHS, COHORTS = 24, 18  # entries over 24 months; a case's cohort among the first 18, its entries in the 6 after
TARGET_MS = 200


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--legs", type=int, default=1_000_000, help="ledger legs loaded into the tenant (default 1,000,000)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases the legs are spread over (default 100,000)")
    parser.add_argument("--chunk", type=int, default=100_000, help="legs per INSERT statement (default 100,000)")
    parser.add_argument(
        "--checked-legs",
        type=int,
        default=100_000,
        help="legs loaded with the deferred row-by-row balance checks on (default 100,000; the rest are checked set-based)",
    )
    parser.add_argument("--repeats", type=int, default=40, help="timed runs of each variant (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each variant first (default 3)")
    parser.add_argument("--db", default="caseport_bench_net_recovery", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def partners(world):
    from tenants.models import Organisation

    made = Organisation.objects.bulk_create(
        [Organisation(slug=f"bench-agency-{i:02d}", name=f"基准催收{i:02d}", kind="agency") for i in range(AGENCIES)]
        + [Organisation(slug=f"bench-firm-{i:02d}", name=f"基准律所{i:02d}", kind="law_firm") for i in range(LAW_FIRMS)]
    )
    return made


def load_cases(world, n: int) -> None:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from bench.bench_queue import _insert, insert_debtors
    from portal.models import Case

    series = f"FROM generate_series(0, {n - 1}) AS g"
    products = "ARRAY[" + ",".join(f"'{p}'" for p in PRODUCTS) + "]"
    with tenant_context(world.lenders["acme"]), connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no history/FK triggers for the cases (not the ledger)
        insert_debtors(cursor, series)  # debtor g has id md5('debtor:' || g)
        _insert(
            cursor,
            Case,
            {
                "id": "md5('case:' || g)::uuid",
                "debtor_id": "md5('debtor:' || g)::uuid",
                "contract_no": "'NR-' || lpad(g::text, 8, '0')",
                "product": f"({products})[1 + (g / 30) % {len(PRODUCTS)}]",
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
        cursor.execute("SET session_replication_role = origin")


BALANCE_TRIGGERS = """
    SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = current_schema()::regnamespace AND t.tgname LIKE 'pgtrigger_ledger_%%balances%%'
"""


def balance_checks(cursor, enable: bool) -> None:
    """Turn the deferred, row-by-row balance checks on or off (ALTER TABLE; the totals trigger stays on)."""
    cursor.execute(BALANCE_TRIGGERS)
    for table, trigger in cursor.fetchall():
        cursor.execute(f'ALTER TABLE "{table}" {"ENABLE" if enable else "DISABLE"} TRIGGER "{trigger}"')


def unbalanced(cursor) -> int:
    """Transactions whose legs do not sum to zero or that have fewer than two: the same rule, set-based."""
    cursor.execute(
        """SELECT count(*) FROM ledger_ledgertransaction t
             LEFT JOIN (SELECT transaction_id, count(*) AS n, sum(amount) AS total FROM ledger_ledgerleg GROUP BY 1) l
                    ON l.transaction_id = t.id
            WHERE l.n IS NULL OR l.n < 2 OR l.total <> 0"""
    )
    return cursor.fetchone()[0]


def load_ledger(world, orgs, legs: int, cases: int, chunk: int, checked_legs: int) -> float:
    """N/2 two-leg transactions in chunks, every ledger trigger on. Returns the seconds spent (commits included).

    Transaction g: case c = g % cases; the case's partner (c % 31: 20 agencies, 10 law firms, 1 in 31 nobody),
    product ((c / 30) % 5) and cohort month ((c / 150) % 18) are independent, so the totals hold every combination;
    its month is the cohort month plus (g / cases) % 6. The kind of entry is g % 10."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from bench.bench_queue import _insert
    from portal.ledger.models import LedgerTransaction

    ids = "ARRAY[" + ",".join(f"'{o.pk}'" for o in orgs) + "]::uuid[]"
    products = "ARRAY[" + ",".join(f"'{p}'" for p in PRODUCTS) + "]"
    n_txn = legs // 2
    per = max(chunk // 2, 1)
    started = time.perf_counter()
    with tenant_context(world.lenders["acme"]):
        for first in range(0, n_txn, per):
            last = min(first + per, n_txn) - 1
            t0 = time.perf_counter()
            checked = first * 2 < checked_legs
            if not checked and first * 2 - per * 2 < checked_legs:
                with connection.cursor() as cursor:
                    balance_checks(cursor, enable=False)
                say("   -- the row-by-row balance checks off from here (verified set-based after the load); totals trigger on")
            with transaction.atomic(), connection.cursor() as cursor:
                _insert(
                    cursor,
                    LedgerTransaction,
                    {
                        "id": "md5('txn:' || g)::uuid",
                        "kind": "CASE WHEN g % 20 = 9 THEN 'legal_cost' ELSE (ARRAY['payment','payment','payment','payment','payment',"
                        "'commission','commission','legal_fee','legal_cost','settlement'])[1 + g % 10] END",
                        "source_type": "'bench.entry'",
                        "source_id": "g::text",
                        "occurred_on": f"(date '2025-01-01' + make_interval(months => ((g % {cases}) / 150) % {COHORTS} + "
                        f"(g / {cases}) % 6) + make_interval(days => g % 28))::date",
                        "memo": "'NR-' || g",
                        "reverses_id": "NULL",
                        "created_by_id": "NULL",
                        "created_at": "now()",
                    },
                    f"FROM generate_series({first}, {last}) AS g",
                    f"transactions {first:,}..{last:,}",
                )
                # Two legs per transaction: (debit account, credit account) by kind; amounts in fen, ±.
                cursor.execute(
                    f"""
                    INSERT INTO ledger_ledgerleg
                        (transaction_id, account, amount, case_id, counterparty_id, counterparty_kind, matter_id, product,
                         cohort_month, month)
                    SELECT md5('txn:' || g)::uuid,
                           CASE WHEN side = 0 THEN (ARRAY['cash','cash','cash','cash','cash','agency_commission',
                                   'agency_commission','legal_fee_success','court_fees',
                                   CASE WHEN g % 20 = 9 THEN 'cash' ELSE 'partner_payable' END])[1 + g % 10]
                                ELSE (ARRAY['recoveries','recoveries','recoveries','recoveries','recoveries','partner_payable',
                                   'partner_payable','partner_payable','cash',
                                   CASE WHEN g % 20 = 9 THEN 'court_costs_recovered' ELSE 'cash' END])[1 + g % 10] END,
                           (CASE WHEN side = 0 THEN 1 ELSE -1 END) *
                               (CASE WHEN g % 10 < 5 THEN 200 + (g * 37) % 480000 / 100.0
                                     WHEN g % 10 < 7 THEN 20 + (g * 13) % 72000 / 100.0
                                     ELSE 50 + (g * 7) % 150000 / 100.0 END)::numeric(16, 2),
                           md5('case:' || (g % {cases}))::uuid,
                           CASE WHEN (g % {cases}) % 31 = 30 THEN NULL ELSE ({ids})[1 + (g % {cases}) % 31] END,
                           CASE WHEN (g % {cases}) % 31 = 30 THEN '' WHEN (g % {cases}) % 31 < {AGENCIES} THEN 'agency'
                                ELSE 'law_firm' END,
                           NULL,
                           ({products})[1 + ((g % {cases}) / 30) % {len(PRODUCTS)}],
                           (date '2025-01-01' + make_interval(months => ((g % {cases}) / 150) % {COHORTS}))::date,
                           (date '2025-01-01' + make_interval(months => ((g % {cases}) / 150) % {COHORTS} + (g / {cases}) % 6))::date
                      FROM generate_series({first}, {last}) AS g CROSS JOIN (VALUES (0), (1)) AS s(side)
                    """
                )
                say(f"   legs {cursor.rowcount:>43,} rows  {time.perf_counter() - t0:6.1f} s (insert, totals trigger)")
                t1 = time.perf_counter()
            say(f"   commit{' (deferred balance checks)' if checked else ''} {time.perf_counter() - t1:>26.1f} s")
        with connection.cursor() as cursor:
            balance_checks(cursor, enable=True)
            t0 = time.perf_counter()
            bad = unbalanced(cursor)
            say(f"   set-based balance check over every transaction: {bad} unbalanced ({time.perf_counter() - t0:.1f} s)")
            assert bad == 0
    return time.perf_counter() - started


def check_totals_equal_legs():
    from portal.ledger import reports

    filters = reports.Filters()
    from_totals, from_legs = reports.net_recovery(filters), reports.net_recovery(filters, source=reports.LEGS)
    assert from_totals == from_legs, "the totals disagree with the legs"
    p = from_totals.portfolio
    say(
        f"   totals = legs: recovered {p.recovered:,}, cost {p.cost:,}, net {p.net:,}, cost per ¥ {p.cost_per_yuan_display}; "
        f"{len(from_totals.by_counterparty)} partner rows, {len(from_totals.by_month)} months"
    )


def variants(world, client):
    from django.db import connection
    from django.db.models import Sum

    from portal.ledger import reports, views
    from portal.ledger.models import LedgerLeg

    span = reports.ledger_months()
    month_to = span[1]
    month_from = reports.months.add_months(month_to, -11)
    year = reports.Filters(month_from=month_from, month_to=month_to)
    whole = reports.Filters(month_from=span[0], month_to=span[1])

    def dashboard(filters):
        def run():
            reports.ledger_months()
            reports.products()
            report = reports.net_recovery(filters)
            rows = reports.trend(report, filters.month_from, filters.month_to)
            views.trend_chart(rows)
            views.kind_chart(report.by_kind)
            return report

        return run

    def page():
        connection.set_schema_to_public()
        try:
            response = client.get(f"/ledger/?month_from={month_from:%Y-%m}&month_to={month_to:%Y-%m}")
            assert response.status_code == 200, response.status_code
        finally:
            connection.set_tenant(world.lenders["acme"])

    return [
        ("baseline: the same figures by a plain SUM over the legs (12 months)", lambda: reports.net_recovery(year, source=reports.LEGS)),
        (
            "baseline: SELECT account, SUM(amount) GROUP BY account (all legs)",
            lambda: list(LedgerLeg.objects.values("account").annotate(s=Sum("amount")).order_by()),
        ),
        ("dashboard's report functions, 12 months (from the totals)", dashboard(year)),
        (
            "dashboard's report functions, all 24 months, agencies only",
            dashboard(reports.Filters(month_from=whole.month_from, month_to=whole.month_to, counterparty_kind="agency")),
        ),
        (
            "dashboard's report functions, 12 months, one product",
            dashboard(reports.Filters(month_from=month_from, month_to=month_to, product=reports.products()[0])),
        ),
        ("net-recovery page, 12 months (HTTP, server time)", page),
    ]


def time_variants(items, repeats, warmup):
    samples = {label: [] for label, _ in items}
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


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-net-recovery-") as server_url:
        say(
            f"Net-recovery benchmark: {opts.legs:,} ledger legs over {opts.cases:,} cases, database {opts.db!r} "
            f"(PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs"
        )
        failed = False
        try:
            from django.db import connection
            from django.test import Client
            from django.test.utils import override_settings
            from django_tenants.utils import tenant_context

            world = setup_world()
            from portal.ledger.models import LedgerLeg, LedgerTotal

            orgs = partners(world)
            say(f"\n== loading {opts.cases:,} cases into acme")
            load_cases(world, opts.cases)
            say(f"\n== loading {opts.legs:,} ledger legs (totals trigger on; balance checks on for the first {opts.checked_legs:,})")
            seconds = load_ledger(world, orgs, opts.legs, opts.cases, opts.chunk, opts.checked_legs)
            with tenant_context(world.lenders["acme"]):
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE ledger_ledgerleg; ANALYZE ledger_ledgertotal; ANALYZE ledger_ledgertransaction")
                legs, totals = LedgerLeg.objects.count(), LedgerTotal.objects.count()
            say(f"   loaded {legs:,} legs in {seconds:.1f} s ({legs / seconds:,.0f} legs/s); LedgerTotal holds {totals:,} rows")

            say("\n== checking the totals against the legs")
            with tenant_context(world.lenders["acme"]):
                check_totals_equal_legs()

            from django_otp import DEVICE_ID_SESSION_KEY

            finance = world.people["acme_finance"]  # the lender's finance, second factor verified (as tests/conftest.py)
            connection.set_schema_to_public()
            client = Client(HTTP_HOST=HOST)
            client.force_login(finance.user, backend="django.contrib.auth.backends.ModelBackend")
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = finance.device.persistent_id
            session.save()

            say(f"\n== timing ({opts.repeats} runs of each after {opts.warmup} warm-up, interleaved in shuffled order; DEBUG off)")
            with override_settings(DEBUG=False), tenant_context(world.lenders["acme"]):
                items = variants(world, client)
                samples = time_variants(items, opts.repeats, opts.warmup)
            base = statistics.median(samples[items[0][0]])
            say(f"   {'variant':<72} {'median':>9} {'p95':>9} {'max':>9} {'÷ baseline':>10}")
            for label, values in samples.items():
                median = statistics.median(values)
                say(f"   {label:<72} {median:7.1f}ms {p95(values):7.1f}ms {max(values):7.1f}ms {median / base:9.2f}x")
            page = samples[items[-1][0]]
            functions = samples[items[2][0]]
            say(
                f"\n   target: dashboard p95 < {TARGET_MS} ms — report functions p95 {p95(functions):.1f} ms, "
                f"page p95 {p95(page):.1f} ms: {'PASS' if p95(page) < TARGET_MS else 'FAIL'}"
            )
        except Exception:
            import traceback

            failed = True
            say(traceback.format_exc())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
