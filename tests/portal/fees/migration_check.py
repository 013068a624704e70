"""A scripted check of outsourcing 0012 (commission statements → portal.fees), run by hand, not by pytest:

    createdb caseport_migcheck
    DATABASE_URL=postgres://…/caseport_migcheck .venv/bin/python tests/portal/fees/migration_check.py

It migrates the public schema, then a scratch tenant schema up to outsourcing 0011 (+ fees 0001), writes an
outsourcing.Statement taken draft → approved → issued (three history events; the old trigger refusing a change
once issued) and a commission line on it, migrates to 0012 and prints what it finds: the statement in
fees_statement with the same id, number, status, totals, document and audit fields (kind = commission), the line
still pointing at it through the new foreign key, the three history events copied, the old tables gone, the new
triggers refusing an update or delete of the issued statement while issued → paid → issued (refund) is allowed.
"""

import os
import sys
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[3]))
import django

django.setup()
from django.core.management import call_command  # noqa: E402 (after django.setup)
from django.db import connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
with connection.cursor() as c:
    c.execute("DROP SCHEMA IF EXISTS l_migcheck CASCADE; CREATE SCHEMA l_migcheck")
connection.set_schema("l_migcheck")
ex = MigrationExecutor(connection)
ex.migrate([("outsourcing", "0011_commission_applied"), ("fees", "0001_initial")])
print("at 0011")
(
    sid,
    lid,
    org,
) = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
with connection.cursor() as c:
    c.execute("SELECT id FROM public.tenants_organisation LIMIT 1")
    row = c.fetchone()
    if row is None:
        c.execute(
            "INSERT INTO public.tenants_organisation (id, slug, name, kind, unified_social_credit_code, created_at) VALUES (%s, 'x-mig', 'X', 'agency', '', now())",
            [org],
        )
    else:
        org = row[0]
    c.execute(
        """INSERT INTO outsourcing_statement (id, number, partner_id, period, period_end, status, line_count, recovered_total,
                 commission_total, document_sha256, document, created_at, approved_at, issued_at)
                 VALUES (%s, 'CS202610-ABCDEF01', %s, '2026-10-01', '2026-10-31', 'draft', 1, 1000.00, 150.00, '', '', now(), NULL, NULL)""",
        [sid, org],
    )
    c.execute("UPDATE outsourcing_statement SET status='approved', approved_at=now() WHERE id=%s", [sid])
    c.execute(
        "UPDATE outsourcing_statement SET status='issued', issued_at=now(), document='statements/x.pdf', document_sha256=repeat('a',64) WHERE id=%s",
        [sid],
    )
    try:
        with transaction.atomic():
            c.execute("UPDATE outsourcing_statement SET line_count=2 WHERE id=%s", [sid])
        print("!! old trigger did not refuse")
    except Exception:
        print("old table refuses change to issued: ok")
    c.execute("SET session_replication_role = replica")  # a line whose payment/case do not exist: only its statement FK matters here
    c.execute(
        """INSERT INTO outsourcing_commissionline (id, payment_id, placement_id, partner_id, case_id, paid_on, bucket, round, recovered, rate, commission, statement_id, created_at)
                 VALUES (%s, %s, %s, %s, %s, '2026-10-10', 'M1', 1, 1000.00, 0.15, 150.00, %s, now())""",
        [lid, uuid.uuid4(), uuid.uuid4(), org, uuid.uuid4(), sid],
    )
    c.execute("SET session_replication_role = origin")
    c.execute("SELECT count(*) FROM outsourcing_statementevent WHERE pgh_obj_id=%s", [sid])
    print("old events", c.fetchone())
ex = MigrationExecutor(connection)
ex.migrate([("outsourcing", "0012_statements_to_fees")])
print("at 0012")
with connection.cursor() as c:
    c.execute(
        "SELECT kind, number, status, line_count, base_total, amount_total, document, document_sha256, approved_at IS NOT NULL, issued_at IS NOT NULL FROM fees_statement WHERE id=%s",
        [sid],
    )
    print("moved:", c.fetchone())
    c.execute("SELECT statement_id FROM outsourcing_commissionline WHERE id=%s", [lid])
    print("line statement:", c.fetchone()[0] == sid)
    c.execute("SELECT pgh_label, status FROM fees_statementevent WHERE pgh_obj_id=%s ORDER BY pgh_id", [sid])
    print("events:", c.fetchall())
    c.execute("SELECT to_regclass('outsourcing_statement'), to_regclass('outsourcing_statementevent')")
    print("old tables:", c.fetchone())
    c.execute(
        "SELECT tgname FROM pg_trigger t JOIN pg_class r ON r.oid=t.tgrelid JOIN pg_namespace n ON n.oid=r.relnamespace WHERE n.nspname='l_migcheck' AND r.relname='fees_statement' AND NOT tgisinternal"
    )
    print("triggers:", c.fetchall())
    c.execute(
        "SELECT conname, confrelid::regclass FROM pg_constraint WHERE conrelid='outsourcing_commissionline'::regclass AND contype='f' AND conname LIKE '%%statement%%'"
    )
    print("fk:", c.fetchall())
    for sql in [
        "UPDATE fees_statement SET amount_total=1 WHERE id=%s",
        "DELETE FROM fees_statement WHERE id=%s",
        "UPDATE fees_statement SET status='approved' WHERE id=%s",
    ]:
        try:
            with transaction.atomic():
                c.execute(sql, [sid])
            print("!! NOT refused:", sql)
        except Exception as e:
            print("refused:", sql.split()[0], str(e).splitlines()[0][:80])
    c.execute("UPDATE fees_statement SET status='paid', paid_at=now(), charge_reference='ch_1' WHERE id=%s", [sid])
    print("issued→paid allowed")
    c.execute("UPDATE fees_statement SET status='issued', refunded_at=now(), refund_count=1 WHERE id=%s", [sid])
    print("paid→issued (refund) allowed")
connection.set_schema_to_public()
with connection.cursor() as c:
    c.execute("DROP SCHEMA l_migcheck CASCADE")
print("done")
