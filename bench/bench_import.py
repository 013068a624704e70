#!/usr/bin/env python
"""Benchmark: importing cases (validate + commit) against PostgreSQL COPY of the same rows.

    .venv/bin/python bench/bench_import.py [--rows N] [--repeats N] [--json] [--db NAME] [--keep-db]

Standalone, it creates its own scratch database (default caseport_bench_import)
on the server named by DATABASE_URL, exactly as bench/run.py does, and drops
it at the end. From bench/run.py, ``run(opts)`` is called with the database
already set up (opts.rows, opts.import_repeats).

Measured: ``portal.intake.services.import_now(commit=True)`` on a generated
CSV file of N valid rows (every canonical column filled, contact included),
into a freshly provisioned lender each time: decoding, header matching, the
check of every cell, the plan, encryption of every ID number, and the
writes of debtors, cases, contacts, balance snapshots and limitation events
(with the pghistory triggers and indexes they carry), in one transaction.

Baseline: ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the same bytes into
a bare table with the canonical columns, typed (text, numeric, date, int),
no indexes, no constraints, no triggers, in the same database and run.
Runs alternate (COPY, import, import, COPY, ...); medians are compared.
Target: import under 5x COPY.

Also measured, to show where the floor is: **the database writes alone** —
the exact rows one import wrote (debtors, cases, contacts, balance snapshots,
limitation events), read back in PostgreSQL's binary COPY format outside the
timing, then COPYed into the same tables of another fresh lender (indexes,
statement-level history triggers and deferred foreign keys included) and
committed. No Python touches a row, no cell is checked, nothing is encrypted:
whatever any implementation of this import does costs at least this much.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(ROOT))

from bench import database, timing  # noqa: E402
from bench.timing import Result, Row, clock, fmt_s, say, summary  # noqa: E402

TARGET_RATIO = 5.0
BARE_COLUMNS = """contract_no text, product text, borrower_name text, id_number text, mobile text, home_phone text,
    work_phone text, employer text, address text, contact1_name text, contact1_relation text, contact1_phone text,
    loan_amount numeric(14,2), disbursed_on date, annual_rate numeric(7,4), term_months integer,
    principal_due numeric(14,2), interest_due numeric(14,2), penalty_due numeric(14,2), fees_due numeric(14,2),
    overdue_since date, last_payment_on date, repayment_method text, accelerated_on date, region text"""
RELATIONS = ["配偶", "父母", "子女", "兄弟姐妹", "朋友", "同事"]


def generate_csv(rows: int, *, plain: bool = False) -> bytes:
    """N valid rows in the canonical layout, UTF-8 with BOM as Excel saves "CSV UTF-8". A third are instalment loans
    and a seventh were declared due early; ``plain`` leaves those two columns empty (the file as before they existed)."""
    import datetime

    from portal.intake.columns import NAMES
    from portal.lib import idnumber

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(NAMES)
    for seed in range(rows):
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=seed // 1000)  # with the sequence below: unique per row
        first17 = f"{310101 + seed % 50:06d}{born:%Y%m%d}{seed % 1000:03d}"
        overdue = datetime.date(2024, 1, 1) + datetime.timedelta(days=seed % 600)
        principal = 5000 + seed % 40000
        values = [
            f"HT{seed:09d}",
            "随心贷" if seed % 3 else "极速贷",
            f"借款人{seed % 9973}",
            first17 + idnumber.check_char(first17),
            f"1{3 + seed % 7}{seed % 10**9:09d}",
            f"021-{5550000 + seed % 10000}",
            "" if seed % 2 else "010-66001234",
            f"上海某科技有限公司{seed % 500}",
            f"上海市浦东新区世纪大道{seed % 2000}号",
            f"联系人{seed % 311}",
            RELATIONS[seed % 6],
            f"139{seed % 10**8:08d}",
            f"{principal + 5000}.00",
            (overdue - datetime.timedelta(days=400)).isoformat(),
            f"{12 + seed % 24}.{seed % 100:02d}",
            str(6 + seed % 31),
            f"{principal}.{seed % 100:02d}",
            f"{seed % 3000}.35",
            f"{seed % 500}.00",
            "0.00",
            overdue.isoformat(),
            (overdue + datetime.timedelta(days=seed % 40)).isoformat() if seed % 4 else "",
            "等额本息"
            if seed % 3 == 0 and not plain
            else "",  # instalments: the period runs from the last instalment's due date (民法典 art. 189)
            (overdue + datetime.timedelta(days=60 + seed % 30)).isoformat() if seed % 7 == 0 and not plain else "",  # declared due early
            ["上海", "北京", "广东", "浙江", "四川"][seed % 5],
        ]
        assert len(values) == len(NAMES), "the generated row no longer matches portal.intake.columns: add the new column here"
        writer.writerow(values)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def copy_baseline(content: bytes) -> float:
    """Seconds to COPY the file into a fresh bare table (created and dropped outside the timing)."""
    from django.db import connection

    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_bare")
        cursor.execute(f"CREATE TABLE bench_import_bare ({BARE_COLUMNS})")
    start = clock()
    with connection.cursor() as cursor:
        with cursor.copy("COPY bench_import_bare FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')") as copy:
            copy.write(content[3:] if content.startswith(b"\xef\xbb\xbf") else content)
    elapsed = clock() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_import_bare")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_import_bare")
    return elapsed, copied


PHASES = (
    ("check", "portal.intake.services", "_check_file"),
    ("plan", "portal.intake.committing", "_plan"),
    ("write", "portal.intake.committing", "_write"),
)


@contextlib.contextmanager
def phase_clock():
    """Time the import's phases (check every cell; plan incl. encryption; write) by wrapping their functions."""
    import importlib

    spent, originals = {}, []
    for phase, module_name, name in PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, name)
        originals.append((module, name, original))

        def timed(*args, __original=original, __phase=phase, **kwargs):
            start = clock()
            try:
                return __original(*args, **kwargs)
            finally:
                spent[__phase] = spent.get(__phase, 0.0) + clock() - start

        setattr(module, name, timed)
    try:
        yield spent
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


# The tables an import writes, in an order their foreign keys allow (they are deferred anyway).
FLOOR_MODELS = ("Debtor", "Case", "Contact", "BalanceSnapshot", "LimitationEvent")


def _floor_tables():
    from django.apps import apps

    return [apps.get_model("portal", name) for name in FLOOR_MODELS]


def dump_written(lender) -> dict:
    """The rows an import wrote into ``lender``'s tables, each table as binary COPY data (with its column list)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    dumped = {}
    with tenant_context(lender), connection.cursor() as cursor:
        for model in _floor_tables():
            columns = ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)
            with cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) TO STDOUT (FORMAT binary)") as copy:
                dumped[model] = (columns, b"".join(bytes(block) for block in copy))
    connection.set_schema_to_public()
    return dumped


def floor_once(dumped: dict, slug: str, rows: int) -> tuple[float, dict]:
    """Seconds to COPY the dumped rows into a fresh lender's tables and commit, under a history context as an import
    does, and the seconds of each table's COPY (its indexes and history trigger included) and of the COMMIT."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    from outsourcing.history import bulk_history
    from tenants.services import create_lender

    connection.set_schema_to_public()
    lender = create_lender(slug=slug, name=f"Bench {slug}")
    with tenant_context(lender):
        parts = {}
        start = clock()
        with transaction.atomic():
            with bulk_history(event="bench-floor"), connection.cursor() as cursor:
                for model, (columns, data) in dumped.items():
                    began = clock()
                    with cursor.copy(
                        f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN (FORMAT binary)"
                    ) as copy:
                        copy.write(data)
                    parts[model.__name__] = clock() - began
            committing = clock()
        elapsed = clock() - start
        parts["COMMIT"] = elapsed - (committing - start)
        from portal.models import Case

        assert Case.objects.count() == rows, "the floor run did not write the cases"
    connection.set_schema_to_public()
    return elapsed, parts


@contextlib.contextmanager
def sql_clock(enabled: bool):
    """With ``enabled``: seconds per SQL statement the import runs (first 110 characters as the label), printed slowest
    first; shows where the write phase goes (the limitation walk's CREATE TEMPORARY TABLE ... WITH RECURSIVE, the INSERTs)."""
    from django.db import connection

    if not enabled:
        yield
        return
    spent = {}

    def timer(execute, sql, params, many, context):
        start = clock()
        try:
            return execute(sql, params, many, context)
        finally:
            label = " ".join(str(sql).split())[:110]
            seconds, calls = spent.get(label, (0.0, 0))
            spent[label] = (seconds + clock() - start, calls + 1)

    with connection.execute_wrapper(timer):
        yield
    say("   SQL statements of that import, slowest first (COPY is not an execute() and does not show):")
    for label, (seconds, calls) in sorted(spent.items(), key=lambda item: -item[1][0])[:12]:
        say(f"     {seconds:6.2f} s  x{calls:<5} {label}")


def import_once(content: bytes, slug: str, *, sql_times: bool = False) -> tuple[float, dict, float, dict, object]:
    """Seconds to import the file into a new lender, the verdict, seconds to import it again (nothing changes), the phases,
    and the lender (whose rows the floor measurement copies)."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from portal.intake import services
    from tenants.services import create_lender

    connection.set_schema_to_public()
    lender = create_lender(slug=slug, name=f"Bench {slug}")
    with tenant_context(lender):
        with phase_clock() as phases, sql_clock(sql_times):
            start = clock()
            _batch, verdict = services.import_now(content=content, original_name="bench.csv", commit=True)
            elapsed = clock() - start
        # What the phases leave: reading the file for the batch, storing it, and COMMIT (deferred foreign-key checks).
        phases["commit and rest"] = elapsed - sum(phases.values())
        start = clock()
        _batch, again = services.import_now(content=content, original_name="bench.csv", commit=True)
        repeat = clock() - start
    connection.set_schema_to_public()
    outcome = {
        "rows": verdict.rows,
        "valid": verdict.valid,
        "created": verdict.created,
        "updated": verdict.updated,
        "rejected": len(verdict.errors),
        "again_created": again.created,
        "again_updated": again.updated,
    }
    return elapsed, outcome, repeat, phases, lender


def validate_only(content: bytes) -> float:
    from portal.intake import mapping, parsing, validation

    start = clock()
    table = parsing.read_table(content, max_bytes=len(content) + 1)
    validation.validate(table, mapping.resolve(table.headers))
    return clock() - start


def run(opts) -> Result:
    rows = getattr(opts, "rows", None) or 100_000
    repeats = getattr(opts, "import_repeats", None) or 3
    from django.conf import settings

    say(f"\n== Import of {rows:,} rows (validate + commit) vs COPY of the same rows into a bare table; {repeats} of each, alternating")
    content = generate_csv(rows, plain=getattr(opts, "plain", False))
    settings.MAX_UPLOAD_BYTES = max(settings.MAX_UPLOAD_BYTES, len(content) + 1)  # the benchmark file is larger than an upload may be
    say(f"   file: {len(content) / 1024 / 1024:.1f} MB CSV, {rows:,} rows x {len(content.splitlines()[0].split(b','))} columns")
    copy_baseline(content)  # warm-up: server caches, COPY path
    times = {"copy": [], "import": [], "reimport": [], "validate": [], "floor": []}
    phase_times = {}
    outcome = None
    for i in range(repeats):
        order = ("copy", "import") if i % 2 == 0 else ("import", "copy")
        for kind in order:
            if kind == "copy":
                elapsed, copied = copy_baseline(content)
                assert copied == rows, f"COPY wrote {copied} rows, not {rows}"
                times["copy"].append(elapsed)
                say(f"   run {i + 1}/{repeats} COPY    {fmt_s(elapsed)}")
            else:
                elapsed, outcome, repeat, phases, lender = import_once(
                    content, f"bench-import-{i:02d}", sql_times=getattr(opts, "sql_times", False) and i == 0
                )
                assert outcome["created"] == rows and outcome["rejected"] == 0, outcome
                assert outcome["again_created"] == 0 and outcome["again_updated"] == 0, outcome
                times["import"].append(elapsed)
                times["reimport"].append(repeat)
                for phase, seconds in phases.items():
                    phase_times.setdefault(phase, []).append(seconds)
                say(
                    f"   run {i + 1}/{repeats} import  {fmt_s(elapsed)}  ({rows / elapsed:,.0f} rows/s; "
                    + ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in phases.items())
                    + f"); same file again {fmt_s(repeat)}"
                )
                floor, parts = floor_once(dump_written(lender), f"bench-floor-{i:02d}", rows)
                times["floor"].append(floor)
                say(
                    f"   run {i + 1}/{repeats} floor   {fmt_s(floor)}  (the same rows, binary COPY into the real tables, committed: "
                    + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts.items())
                    + ")"
                )
        times["validate"].append(validate_only(content))
    copy, imported = summary(times["copy"]), summary(times["import"])
    reimport, validated = summary(times["reimport"]), summary(times["validate"])
    floor = summary(times["floor"])
    ratio = imported["median"] / copy["median"]
    verdict = "PASS" if ratio < TARGET_RATIO else "FAIL"
    say(f"   COPY    median {fmt_s(copy['median'])}  ({rows / copy['median']:,.0f} rows/s)")
    say(
        f"   import  median {fmt_s(imported['median'])}  ({rows / imported['median']:,.0f} rows/s): "
        f"{outcome['created']:,} created, {outcome['rejected']} rejected"
    )
    medians = {phase: summary(values)["median"] for phase, values in phase_times.items()}
    say(
        "   phases (medians): "
        + ", ".join(f"{phase} {seconds:.2f} s ({seconds / copy['median']:.1f}x COPY)" for phase, seconds in medians.items())
    )
    say("     check = decode, match headers, every cell's rules; plan = read what exists, blind index and Fernet-encrypt each ID number;")
    say("     write = COPY of debtors, contacts and a staging row per new case; INSERT ... SELECT of cases, balance snapshots,")
    say("             limitation events from it (+ history rows from the statement-level triggers), with indexes;")
    say("     commit and rest = storing the file, the batch row, COMMIT with the deferred foreign-key checks")
    say(f"   checking every cell alone (parse + validate, no database): median {fmt_s(validated['median'])}")
    say(f"   same file again (0 created, 0 updated): median {fmt_s(reimport['median'])}")
    say(
        f"   database writes alone (floor): median {fmt_s(floor['median'])} = {floor['median'] / copy['median']:.2f}x COPY; "
        f"the import is {imported['median'] / floor['median']:.2f}x its floor"
    )
    say(f"   ratio import/COPY = {ratio:.2f}x; target under {TARGET_RATIO:.0f}x -> {verdict}")
    result = Result(name="import", title=f"Case import, {rows:,} rows (validate + commit)")
    result.rows.append(
        Row(
            bench="import",
            metric=f"import {rows:,} rows",
            value=imported["median"],
            baseline_metric="COPY same rows",
            baseline=copy["median"],
            target=f"< {TARGET_RATIO:.0f}x COPY",
            verdict=verdict,
        )
    )
    result.rows.append(
        Row(
            bench="import",
            metric="floor: the same rows, COPY into the real tables",
            value=floor["median"],
            baseline_metric="COPY same rows",
            baseline=copy["median"],
        )
    )
    result.rows.append(
        Row(
            bench="import",
            metric="check only (no DB)",
            value=validated["median"],
            baseline_metric="COPY same rows",
            baseline=copy["median"],
        )
    )
    result.rows.append(
        Row(
            bench="import",
            metric="re-import, unchanged",
            value=reimport["median"],
            baseline_metric="COPY same rows",
            baseline=copy["median"],
        )
    )
    for phase, seconds in medians.items():
        result.rows.append(
            Row(bench="import", metric=f"  phase: {phase}", value=seconds, baseline_metric="COPY same rows", baseline=copy["median"])
        )
    result.details = {
        "rows": rows,
        "bytes": len(content),
        "copy": copy,
        "import": imported,
        "reimport": reimport,
        "validate": validated,
        "floor": floor,
        "phases": medians,
        "rows_per_second": rows / imported["median"],
        "ratio": ratio,
        "outcome": outcome,
    }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated file (default 100,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout (progress goes to stderr)")
    parser.add_argument("--db", default="caseport_bench_import", help="scratch database name; created and dropped")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--sql-times", action="store_true", help="time each SQL statement of the first import and print the slowest")
    parser.add_argument(
        "--plain", action="store_true", help="leave repayment_method and accelerated_on empty (to compare with runs before 2026-12-04)"
    )
    opts = parser.parse_args(argv)
    opts.import_repeats = opts.repeats
    json_out = sys.stdout
    if opts.json:
        timing.OUT = sys.stderr
        sys.stdout = sys.stderr
    from bench.run import scratch_database, setup_database

    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktY2FzZXBvcnQtMDA=")
    os.environ.setdefault("BLIND_INDEX_KEY", "bench-only-blind-index-key")
    with scratch_database(opts.db, keep=opts.keep_db, prefix="caseport-bench-import-") as server_url:
        say(
            f"Caseport import benchmark: database {opts.db!r} (PostgreSQL {database.server_version(server_url)}), "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )
        setup_database()
        result = run(opts)
    say("\n== Summary (ratio = value / baseline, both measured in this run)")
    timing.print_summary([result])
    if opts.json:
        sys.stdout = json_out
        print(json.dumps(result.as_dict(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
