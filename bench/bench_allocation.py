#!/usr/bin/env python
"""Benchmark: rule-based allocation of 100,000 cases to 5 agencies, against one bare SQL UPDATE.

    .venv/bin/python bench/bench_allocation.py [--cases N] [--repeats N] [--db NAME] [--keep-db] [--json]

Creates its own scratch database (default caseport_bench_allocation) on the
server named by DATABASE_URL, exactly as bench/run.py does (same marker, same
refusals), provisions one lender with N matching cases (plus N/10 that the
rules must skip) and five licensed, engaged agencies with agreements, then
times, alternating and after one uncounted warm-up of each:

* **allocation** — what the product does: ``allocation.prepare_batch`` (the
  preview: filter, shuffle with the seed, largest-remainder split 30/25/20/15/10,
  rotation check, summary and fingerprint) plus ``allocation.commit`` (locks,
  recomputation and comparison with the preview, 100,000 placement rows with
  their history, case statuses, audit) — in one transaction;
* **bare UPDATE** — the floor: one ``UPDATE portal_case ... FROM (SELECT ...
  row_number() OVER (ORDER BY md5(id || seed)))`` giving each matching case
  an agency by the same quotas and setting its status, in a scratch column of
  the bench database only.

Both runs are checked (per-agency counts equal the largest-remainder quotas)
and the state is reset between runs, untimed. Prints medians, the ratio
allocation / bare UPDATE and PASS/FAIL against the target of 10 s.
``run(opts)`` returns a bench.timing.Result, so bench/run.py can include it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # never let bench/ shadow a top-level package
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database, timing  # noqa: E402
from bench.timing import Result, Row, clock, fmt_s, say, summary  # noqa: E402

TARGET_SECONDS = 10.0
SHARES = ["30", "25", "20", "15", "10"]
PRODUCT, OTHER_PRODUCT = "随心贷", "车主贷"
LENDER_SLUG = "bench-alloc"
SEED = 20261129


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="matching cases to allocate (default 100000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each kind (default 3)")
    parser.add_argument("--db", default="caseport_bench_allocation", help="scratch database (created and dropped)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database at the end")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout (progress goes to stderr)")
    opts = parser.parse_args(argv)
    opts.allocation_cases = opts.cases
    opts.allocation_repeats = opts.repeats
    return opts


# ----------------------------------------------------------------- setup


def _agencies(count=5):
    import datetime

    from django.utils import timezone

    from tenants import services
    from tenants.models import LicenceKind, Organisation

    today = timezone.localdate()
    agencies = []
    for i in range(count):
        slug = f"bench-agency-{i + 1}"
        org = Organisation.objects.filter(slug=slug).first() or services.create_organisation(
            slug=slug, name=f"测试催收 {i + 1}", kind="agency"
        )
        if not org.licences.exists():
            licence = services.add_licence(
                organisation=org,
                kind=LicenceKind.COLLECTION,
                number=f"BENCH-{i + 1}",
                issuing_authority="bench",
                valid_from=today - datetime.timedelta(days=30),
                valid_to=today + datetime.timedelta(days=365),
            )
            services.verify_licence(licence=licence, by=None)
        agencies.append(org)
    return agencies


def _seed_chunk(template, offset, size, *, n, today, rng):
    import datetime
    from decimal import Decimal

    from portal.models import Case, CaseStatus, Debtor

    debtors = Debtor.objects.bulk_create(
        [
            Debtor(
                name=f"债务人{offset + i}",
                id_number_ciphertext=template.id_number_ciphertext,
                id_number_index=template.id_number_index,
                id_number_masked=template.id_number_masked,
                mobile="13800138000",
            )
            for i in range(size)
        ]
    )
    Case.objects.bulk_create(
        [
            Case(
                debtor=debtor,
                contract_no=f"BENCH-{offset + i:07d}",
                product=PRODUCT if offset + i < n else OTHER_PRODUCT,
                region=rng.choice(["上海", "北京", "广东", "浙江", "四川"]),
                loan_amount=Decimal("20000.00"),
                principal_due=Decimal(rng.randint(500, 50000)),
                interest_due=Decimal("12.34"),
                overdue_since=today - datetime.timedelta(days=rng.randint(1, 400)),
                status=CaseStatus.INTERNAL,
            )
            for i, debtor in enumerate(debtors)
        ]
    )


def seed(n: int):
    """The lender, five agencies with agreements, n matching cases and n/10 others. Returns (lender, agencies)."""
    import random
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from outsourcing import agreements
    from outsourcing.history import bulk_history
    from outsourcing.models import BUCKETS, ROUNDS, Agreement
    from portal.models import Debtor
    from tenants import services
    from tenants.models import EngagementStatus, Lender

    lender = Lender.objects.filter(schema_name=services.schema_name_for(LENDER_SLUG)).first()
    if lender is None:
        lender = services.create_lender(slug=LENDER_SLUG, name="Bench 分案")
    agencies = _agencies()
    for agency in agencies:
        engagement = services.engage_partner(lender=lender, partner=agency)
        if engagement.status != EngagementStatus.ACTIVE:
            services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
    rng = random.Random(1)
    start = clock()
    with tenant_context(lender):
        rates = {(b, r): Decimal("0.15") for b in BUCKETS for r in ROUNDS}
        for agency in agencies:
            if not Agreement.objects.filter(partner=agency).exists():
                agreements.create_agreement(
                    partner=agency,
                    created_by=None,
                    terms={"term_days": 60, "capacity": n, "max_hold_days": 30, "allowed_actions": ["phone", "sms"], "rates": rates},
                )
        template = Debtor(name="模板")
        template.set_id_number("11010519491231002X")
        today = timezone.localdate()
        total = n + n // 10
        chunk = 10_000
        for offset in range(0, total, chunk):
            with transaction.atomic(), bulk_history(event="bench-seed"):
                _seed_chunk(template, offset, min(chunk, total - offset), n=n, today=today, rng=rng)
        with connection.cursor() as cursor:
            # The baseline's scratch column: exists in this scratch database only.
            cursor.execute("ALTER TABLE portal_case ADD COLUMN IF NOT EXISTS bench_partner uuid")
            cursor.execute("ANALYZE")
    say(f"   seeded {n:,} matching cases (+{n // 10:,} others) and 5 agencies in {fmt_s(clock() - start)}")
    connection.set_schema_to_public()
    return lender, agencies


def rules_for(agencies):
    return {
        "filters": {"products": [PRODUCT]},
        "mode": "percent",
        "champion": [[str(a.pk), share] for a, share in zip(agencies, SHARES, strict=True)],
        "challenger": None,
    }


# ----------------------------------------------------------------- the two contenders


def run_allocation(agencies, user=None):
    """The product's path. Returns (seconds total, seconds preview, seconds commit, batch)."""
    from outsourcing import allocation

    start = clock()
    batch = allocation.prepare_batch(rules=rules_for(agencies), seed=SEED, created_by=user)
    previewed = clock()
    allocation.commit(batch=batch, by=user)
    done = clock()
    return done - start, previewed - start, done - previewed, batch


def bare_update_sql(agencies, n):
    """One UPDATE: the matching cases in a seeded random order, cut by the same quotas."""
    from decimal import Decimal

    from outsourcing.allocation import largest_remainder

    quotas = largest_remainder(n, [Decimal(s) for s in SHARES])
    bounds, running = [], 0
    for quota in quotas:
        running += quota
        bounds.append(running)
    whens = " ".join(f"WHEN ranked.rn <= {bound} THEN '{agency.pk}'::uuid" for bound, agency in zip(bounds, agencies, strict=True))
    return (
        f"""
        UPDATE portal_case AS c SET bench_partner = CASE {whens} END, status = 'placed'
        FROM (
            SELECT id, row_number() OVER (ORDER BY md5(id::text || '{SEED}')) AS rn
            FROM portal_case AS k
            WHERE k.product = %s AND k.status IN ('new', 'internal', 'placed') AND k.overdue_since < CURRENT_DATE
              AND NOT EXISTS (SELECT 1 FROM outsourcing_placement p WHERE p.case_id = k.id AND p.status = 'active' AND p.ends_at > now())
        ) AS ranked
        WHERE c.id = ranked.id
    """,
        quotas,
    )


def run_bare_update(agencies, n):
    """The floor: one plain UPDATE in its own transaction (the case table's history trigger fires, as on any UPDATE)."""
    from django.db import connection, transaction

    sql, _quotas = bare_update_sql(agencies, n)
    start = clock()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [PRODUCT])
        updated = cursor.rowcount
    return clock() - start, updated


# ----------------------------------------------------------------- checks and resets (untimed)


def check_allocation(batch, agencies, n):
    from decimal import Decimal

    from django.db.models import Count

    from outsourcing.allocation import largest_remainder
    from outsourcing.models import Placement, PlacementStatus

    expected = dict(zip([a.pk for a in agencies], largest_remainder(n, [Decimal(s) for s in SHARES]), strict=True))
    got = dict(Placement.objects.filter(batch=batch, status=PlacementStatus.ACTIVE).values_list("partner_id").annotate(c=Count("pk")))
    if got != expected:
        raise RuntimeError(f"allocation placed {got}, expected {expected}")


def check_bare(agencies, n):
    from decimal import Decimal

    from django.db import connection

    from outsourcing.allocation import largest_remainder

    expected = dict(zip([a.pk for a in agencies], largest_remainder(n, [Decimal(s) for s in SHARES]), strict=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT bench_partner, count(*) FROM portal_case WHERE bench_partner IS NOT NULL GROUP BY 1")
        got = dict(cursor.fetchall())
    if got != expected:
        raise RuntimeError(f"bare UPDATE assigned {got}, expected {expected}")


def reset():
    from django.db import connection, transaction

    from outsourcing.history import bulk_history

    with transaction.atomic(), bulk_history(event="bench-reset"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM outsourcing_placementevent")
        cursor.execute("DELETE FROM outsourcing_placement")
        cursor.execute("DELETE FROM outsourcing_allocationbatch")
        cursor.execute(
            "UPDATE portal_case SET status = 'internal', bench_partner = NULL WHERE status <> 'internal' OR bench_partner IS NOT NULL"
        )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_caseevent")  # the history rows the runs wrote; keeps every run equal
        for table in ("portal_case", "portal_caseevent", "outsourcing_placement", "outsourcing_placementevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# ----------------------------------------------------------------- the benchmark


def run(opts) -> Result:
    from django.db import connection
    from django.test import override_settings
    from django_tenants.utils import tenant_context

    n = getattr(opts, "allocation_cases", None) or 100_000
    repeats = getattr(opts, "allocation_repeats", None) or 3
    say(
        f"\n== Allocation: rule-based allocation of {n:,} cases to 5 agencies (30/25/20/15/10) vs one bare SQL UPDATE; "
        f"{repeats} of each, alternating"
    )
    lender, agencies = seed(n)
    times = {"allocation": [], "preview": [], "commit": [], "bare": []}
    with override_settings(DEBUG=False), tenant_context(lender):  # as in production: no query log
        reset()
        warm = {"allocation": run_allocation(agencies)[0]}
        reset()
        warm["bare"] = run_bare_update(agencies, n)[0]
        reset()
        say(f"   warm-up (not counted): allocation {fmt_s(warm['allocation'])}, bare UPDATE {fmt_s(warm['bare'])}")
        for i in range(repeats):
            order = ("allocation", "bare") if i % 2 == 0 else ("bare", "allocation")
            for kind in order:
                if kind == "allocation":
                    total, preview, commit, batch = run_allocation(agencies)
                    check_allocation(batch, agencies, n)
                    times["allocation"].append(total)
                    times["preview"].append(preview)
                    times["commit"].append(commit)
                    say(f"   run {i + 1}/{repeats} allocation  {fmt_s(total)}  (preview {fmt_s(preview)}, commit {fmt_s(commit)})")
                else:
                    elapsed, updated = run_bare_update(agencies, n)
                    if updated != n:
                        raise RuntimeError(f"the bare UPDATE touched {updated} rows, not {n}")
                    check_bare(agencies, n)
                    times["bare"].append(elapsed)
                    say(f"   run {i + 1}/{repeats} bare UPDATE {fmt_s(elapsed)}")
                reset()
    connection.set_schema_to_public()
    stats = {kind: summary(samples) for kind, samples in times.items()}
    ratio = stats["allocation"]["median"] / stats["bare"]["median"]
    verdict = "PASS" if stats["allocation"]["median"] < TARGET_SECONDS else "FAIL"
    say(
        f"   allocation  median {fmt_s(stats['allocation']['median'])}  (preview {fmt_s(stats['preview']['median'])}, "
        f"commit {fmt_s(stats['commit']['median'])}; min {fmt_s(stats['allocation']['min'])}, max {fmt_s(stats['allocation']['max'])})"
    )
    say(f"   bare UPDATE median {fmt_s(stats['bare']['median'])}  (min {fmt_s(stats['bare']['min'])}, max {fmt_s(stats['bare']['max'])})")
    say(f"   ratio allocation / bare UPDATE = {ratio:.2f}x")
    say(f"   target: {n:,} cases to 5 agencies under {TARGET_SECONDS:.0f} s -> {verdict}")
    result = Result(name="allocation", title="Rule-based allocation (preview + commit)")
    result.rows.append(
        Row(
            bench="4 allocation",
            metric=f"allocate {n:,} cases to 5 agencies (median)",
            value=stats["allocation"]["median"],
            baseline_metric="one bare SQL UPDATE (median)",
            baseline=stats["bare"]["median"],
            target=f"< {TARGET_SECONDS:.0f} s",
            verdict=verdict,
        )
    )
    result.details = {
        "cases": n,
        "repeats": repeats,
        "shares": SHARES,
        "seed": SEED,
        "warmup": warm,
        "samples": times,
        "stats": stats,
        "ratio_allocation_over_bare": ratio,
        "verdict": verdict,
    }
    return result


def main(argv=None) -> int:
    opts = parse_args(argv)
    json_out = sys.stdout
    if opts.json:
        timing.OUT = sys.stderr
        sys.stdout = sys.stderr
    from bench.run import scratch_database, setup_database

    result, failed = None, False
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-allocation-") as server_url:
        say(
            f"Caseport allocation benchmark: database {opts.db!r} (PostgreSQL {database.server_version(server_url)}), "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )
        try:
            setup_database()
            result = run(opts)
        except Exception:
            failed = True
            say(f"!! the allocation benchmark failed:\n{traceback.format_exc()}")
    if result is not None:
        say("\n== Summary (ratio = value / baseline, both measured in this run)")
        timing.print_summary([result])
    if opts.json:
        sys.stdout = json_out
        print(json.dumps({"failed": failed, "result": result.as_dict() if result else None}, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
