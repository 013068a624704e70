#!/usr/bin/env python
"""Concurrent postings and the ledger's running totals: .venv/bin/python bench/bench_ledger_contention.py [--posters 4]

The question: LedgerTotal keeps one row per (account, counterparty, product, cohort, month), upserted by a statement
trigger inside the transaction that posts the legs (portal/ledger/models.py). Two transactions posting into the same
group therefore queue on that row's lock until the first commits. How much does that cost when many postings hit one
group at once (a bulk payment import while finance records payments, all today, one product)?

What it does:
  1. creates a scratch database (default caseport_bench_ledger_contention), migrates, builds the test cast;
  2. makes --cases cases in acme (the product is set per leg, per variant, see below);
  3. times, in the same run, --posters × --per-poster postings of a payment-shaped entry (Dr cash / Cr recoveries,
     two legs, one database transaction each, through portal.ledger.posting.post — the real triggers and the
     deferred balance check), in three ways:
     - "serial": one poster posts them all (the baseline);
     - "hot": --posters posters at once (forked processes, each its own connection), every posting into the SAME
       LedgerTotal groups (same product, month, no counterparty): the worst case for the row lock;
     - "spread": --posters posters at once, each into its own groups (its own product);
  4. checks that every total equals the sum of its legs afterwards, and prints postings per second and the ratios.

The machine has 2 cores: with 4 posters, "spread" shows the parallelism the machine has; "hot" ÷ "spread" is what
the single-row upsert costs on top.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run as a script: import from the project root, never let bench/ shadow a package
sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402
from bench.run import scratch_database, setup_world  # noqa: E402
from bench.timing import say  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posters", type=int, default=4, help="concurrent posters, each a process (default 4)")
    parser.add_argument("--per-poster", type=int, default=300, help="postings per poster (default 300)")
    parser.add_argument("--cases", type=int, default=200, help="cases the postings are spread over (default 200)")
    parser.add_argument("--db", default="caseport_bench_ledger_contention", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    return parser.parse_args(argv)


def make_cases(n: int) -> list:
    from tests.factories import CaseFactory

    return [CaseFactory(principal_due=Decimal("10000.00"), dpd=90) for _ in range(n)]


def post_many(lender, cases, count: int, *, product: str, label: str) -> None:
    """``count`` payment-shaped entries, each its own database transaction (as each recorded payment is)."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from portal.ledger.models import Account, EntryKind
    from portal.ledger.posting import Leg, post

    day = datetime.date(2026, 11, 16)
    try:
        with tenant_context(lender):
            for i in range(count):
                case = cases[i % len(cases)]
                amount = Decimal(100 + i % 50)
                with transaction.atomic():
                    post(
                        kind=EntryKind.PAYMENT,
                        source=("bench.posting", f"{label}-{uuid.uuid4().hex}"),
                        occurred_on=day,
                        legs=[
                            Leg(Account.CASH, amount, case=case, product=product),
                            Leg(Account.RECOVERIES, -amount, case=case, product=product),
                        ],
                    )
    finally:
        connection.close()


def run(lender, cases, *, posters: int, per_poster: int, products) -> float:
    """Seconds for ``posters`` posters, poster k posting ``per_poster`` entries with ``products[k]``. Each poster is a
    forked process with its own database connection (as web and worker processes are; threads would share one
    interpreter lock and measure Python rather than the database)."""
    from django.db import connections

    connections.close_all()  # a forked child must open its own connection, never share the parent's socket
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=post_many, args=(lender, cases, per_poster), kwargs={"product": products[k], "label": f"p{k}"})
        for k in range(posters)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if any(worker.exitcode != 0 for worker in workers):
        raise RuntimeError(f"a poster failed: exit codes {[worker.exitcode for worker in workers]}")
    return elapsed


def totals_equal_legs() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM (
                 SELECT account, product, sum(amount) AS s FROM ledger_ledgerleg GROUP BY account, product
               ) legs FULL JOIN (
                 SELECT account, product, sum(amount) AS s FROM ledger_ledgertotal GROUP BY account, product
               ) totals USING (account, product)
               WHERE legs.s IS DISTINCT FROM totals.s"""
        )
        return cursor.fetchone()[0] == 0


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-ledger-contention-") as server_url:
        say(
            f"Ledger contention: {opts.posters} posters × {opts.per_poster} postings, database {opts.db!r} "
            f"(PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs"
        )
        try:
            from django.db import connection
            from django_tenants.utils import tenant_context

            world = setup_world()
            lender = world.lenders["acme"]
            with tenant_context(lender):
                cases = make_cases(opts.cases)
            connection.close()
            total = opts.posters * opts.per_poster
            # Warm-up: a few postings so the first variant does not pay for cold caches.
            run(lender, cases, posters=1, per_poster=50, products=["warm-up"])
            serial = run(lender, cases, posters=1, per_poster=total, products=["serial"])
            hot = run(lender, cases, posters=opts.posters, per_poster=opts.per_poster, products=["hot"] * opts.posters)
            spread = run(
                lender, cases, posters=opts.posters, per_poster=opts.per_poster, products=[f"spread-{k}" for k in range(opts.posters)]
            )
            with tenant_context(lender):
                consistent = totals_equal_legs()
            say(f"\n   {'variant':<58} {'seconds':>8} {'postings/s':>11} {'÷ serial':>9}")
            for label, seconds in (
                ("serial: 1 poster (baseline)", serial),
                (f"hot: {opts.posters} posters, the same LedgerTotal rows", hot),
                (f"spread: {opts.posters} posters, each its own LedgerTotal rows", spread),
            ):
                say(f"   {label:<58} {seconds:8.2f} {total / seconds:11.1f} {serial / seconds:8.2f}x")
            say(f"\n   hot ÷ spread throughput: {spread / hot:.2f}   totals equal the legs afterwards: {consistent}")
            return 0 if consistent else 1
        except Exception:
            import traceback

            say(traceback.format_exc())
            return 1


if __name__ == "__main__":
    sys.exit(main())
