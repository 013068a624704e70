#!/usr/bin/env python
"""Reversing a payment that 50 later payments followed, against recording one payment:
.venv/bin/python bench/bench_reversal.py [--rounds N] [--later N] [--db NAME] [--keep-db]

A reversal (portal.payments.services.reverse_payment) rebuilds the balances as if the payment had never been:
every later standing payment is applied again in order (民法典 art. 561) and a correction row is written where a
later payment's split changes; the limitation evidence is withdrawn and the apps react (commission claw-back).

What it does:
  1. creates a scratch database (default caseport_bench_reversal), migrates, bootstraps, builds the test cast;
  2. per round, a fresh case in acme placed with agency X (principal 15,000.00, interest 812.35): a first payment
     of 1,000.00 (it takes all the interest), then --later payments of 100.00 on later days (principal only);
  3. times, with DEBUG off, (a) recording the last of those later payments (the baseline: one record_payment on a
     case that already has --later payments) and (b) reversing the first payment, which re-applies all --later
     payments (the interest is owed again, so the first nine of them now go to interest: nine correction rows);
  4. prints medians, the ratio reversal / one payment, and the SQL statements each runs; drops the database.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import sys
import time
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
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds, one fresh case each (default 20)")
    parser.add_argument("--later", type=int, default=50, help="payments after the reversed one (default 50)")
    parser.add_argument("--db", default="caseport_bench_reversal", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the first timed round, grouped by shape")
    return parser.parse_args(argv)


def fresh_case(world, number):
    from django.utils import timezone

    from outsourcing.models import Placement
    from portal.models import Case, Debtor

    debtor = Debtor(name="冲正测试", mobile="13912345678", address="上海市黄浦区南京东路100号")
    debtor.set_id_number("110101199003077774")
    debtor.save()
    case = Case.objects.create(
        debtor=debtor,
        contract_no=f"REV-{number:05d}",
        product="随心贷",
        loan_amount=Decimal("20000.00"),
        principal_due=Decimal("15000.00"),
        interest_due=Decimal("812.35"),
        overdue_since=datetime.date(2025, 3, 1),
        status="placed",
    )
    Placement.objects.create(
        case=case,
        partner=world.orgs["xagency"],
        starts_at=timezone.now() - datetime.timedelta(days=400),
        ends_at=timezone.now() + datetime.timedelta(days=365),
    )
    return case


def one_round(world, number, later, show_sql=False):
    """(seconds to record the last later payment, seconds to reverse the first, SQL counts of each, corrections written)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from portal.payments import services
    from portal.payments.models import PaymentPostingCorrection, PaymentSource, ReversalReason

    finance = world.people["acme_finance"].user
    today = timezone.localdate()
    first_day = today - datetime.timedelta(days=later + 10)
    case = fresh_case(world, number)

    def pay(amount, day, reference):
        return services.record_payment(
            case=case, amount=amount, paid_on=day, reference=reference, source=PaymentSource.MANUAL, recorded_by=finance
        )[0]

    first = pay(Decimal("1000.00"), first_day, f"R{number:05d}-000")
    for i in range(1, later):
        pay(Decimal("100.00"), first_day + datetime.timedelta(days=i), f"R{number:05d}-{i:03d}")
    with CaptureQueriesContext(connection) as recorded:
        started = time.perf_counter()
        pay(Decimal("100.00"), first_day + datetime.timedelta(days=later), f"R{number:05d}-{later:03d}")
        one_payment = time.perf_counter() - started
    with CaptureQueriesContext(connection) as reversed_:
        started = time.perf_counter()
        reversal = services.reverse_payment(payment=first, reason=ReversalReason.RETURNED, note="银行退票", reversed_by=finance)
        reversing = time.perf_counter() - started
    corrections = PaymentPostingCorrection.objects.filter(reversal=reversal).count()
    if show_sql:
        for label, captured in (("record one payment", recorded), ("reversal", reversed_)):
            shapes = {}
            for query in captured.captured_queries:
                shape = re.sub(r"'[^']*'|\b\d+\b", "?", query["sql"])[:150]
                shapes[shape] = shapes.get(shape, 0) + 1
            say(f"\n   SQL of {label}, by statement shape (most repeated first):")
            for shape, times in sorted(shapes.items(), key=lambda item: -item[1])[:8]:
                say(f"     x{times:<4} {shape}")
    return one_payment, reversing, len(recorded.captured_queries), len(reversed_.captured_queries), corrections


def main(argv=None) -> int:
    opts = parse_args(argv)
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-reversal-") as server_url:
        say(
            f"Reversal benchmark: {opts.rounds} rounds, {opts.later} later payments, database {opts.db!r} "
            f"(PostgreSQL {database.server_version(server_url)}), {os.cpu_count()} CPUs"
        )
        try:
            from django.db import connection
            from django.test.utils import override_settings
            from django_tenants.utils import tenant_context

            world = setup_world()
            samples = {"payment": [], "reversal": []}
            # DEBUG off as in production; CaptureQueriesContext still counts the statements (it forces the debug cursor).
            with override_settings(DEBUG=False), tenant_context(world.lenders["acme"]):
                for number in range(2):  # warm-up: imports, caches, the first plans
                    one_round(world, number, opts.later)
                for number in range(2, 2 + opts.rounds):
                    one_payment, reversing, payment_sql, reversal_sql, corrections = one_round(
                        world, number, opts.later, show_sql=opts.show_sql and number == 2
                    )
                    samples["payment"].append(one_payment)
                    samples["reversal"].append(reversing)
            connection.set_schema_to_public()
            payment, reversal = statistics.median(samples["payment"]), statistics.median(samples["reversal"])
            say(
                f"\n   record one payment (case with {opts.later} payments)   median {payment * 1000:7.1f} ms  "
                f"max {max(samples['payment']) * 1000:7.1f} ms  {payment_sql} SQL"
            )
            say(
                f"   reverse the first, re-applying {opts.later} later       median {reversal * 1000:7.1f} ms  "
                f"max {max(samples['reversal']) * 1000:7.1f} ms  {reversal_sql} SQL, {corrections} correction rows"
            )
            say(f"   ratio reversal / one payment = {reversal / payment:.2f}x (medians of {opts.rounds} rounds)")
        except Exception:
            import traceback

            say(traceback.format_exc())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
