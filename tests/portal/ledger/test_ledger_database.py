"""The fee ledger's guarantees are the database's, not the code's: a transaction whose legs do not sum to zero (or
that has fewer than two) is refused when it COMMITS; legs and transactions are never updated or deleted; the
running totals are maintained by the database and always equal a GROUP BY over the legs; a source posts once."""

import datetime
import random
import uuid
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Sum

from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTotal, LedgerTransaction
from portal.ledger.posting import Leg, post, reverse
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
D = Decimal
DAY = datetime.date(2026, 3, 14)


def unbalanced_transactions():
    """Transactions with fewer than two legs or legs not summing to zero: the ledger must have none."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.id FROM ledger_ledgertransaction t LEFT JOIN ledger_ledgerleg l ON l.transaction_id = t.id
                GROUP BY t.id HAVING count(l.id) < 2 OR coalesce(sum(l.amount), 0) <> 0"""
        )
        return cursor.fetchall()


def totals_from_legs() -> dict:
    rows = LedgerLeg.objects.values("account", "counterparty_id", "counterparty_kind", "product", "cohort_month", "month").annotate(
        amount=Sum("amount"), legs=Count("id")
    )
    return {
        (r["account"], r["counterparty_id"], r["counterparty_kind"], r["product"], r["cohort_month"], r["month"]): (r["amount"], r["legs"])
        for r in rows
    }


def totals_kept() -> dict:
    return {
        (t.account, t.counterparty_id, t.counterparty_kind, t.product, t.cohort_month, t.month): (t.amount, t.legs)
        for t in LedgerTotal.objects.all()
    }


def test_a_posting_balances_and_posts_once(acme):
    case = CaseFactory(prefix="LDB-ONCE")
    source = ("tests.thing", "once-1")
    legs = [Leg(Account.COURT_FEES, D("120.00"), case=case), Leg(Account.CASH, D("-120.00"), case=case)]
    first = post(kind=EntryKind.LEGAL_COST, source=source, occurred_on=DAY, legs=legs)
    again = post(kind=EntryKind.LEGAL_COST, source=source, occurred_on=DAY, legs=legs)
    assert again.pk == first.pk
    assert LedgerTransaction.objects.filter(source_type="tests.thing", source_id="once-1").count() == 1
    assert list(first.legs.values_list("account", "amount", "product", "month")) == [
        ("court_fees", D("120.00"), case.product, datetime.date(2026, 3, 1)),
        ("cash", D("-120.00"), case.product, datetime.date(2026, 3, 1)),
    ]
    assert unbalanced_transactions() == []


def test_the_code_refuses_an_unbalanced_posting_before_the_database_sees_it(acme):
    case = CaseFactory(prefix="LDB-CODE")
    with pytest.raises(ValueError, match="unbalanced"):
        post(
            kind=EntryKind.LEGAL_COST,
            source=("tests.thing", "x"),
            occurred_on=DAY,
            legs=[Leg(Account.CASH, D("1.00"), case=case), Leg(Account.COURT_FEES, D("-0.99"), case=case)],
        )
    with pytest.raises(ValueError, match="fen"):
        Leg(Account.CASH, D("1.005"))
    with pytest.raises(TypeError):
        Leg(Account.CASH, 1.5)


def test_a_reversal_negates_every_leg_once(acme):
    case = CaseFactory(prefix="LDB-REV")
    original = post(
        kind=EntryKind.LEGAL_COST,
        source=("tests.thing", "rev-1"),
        occurred_on=DAY,
        legs=[Leg(Account.SERVICE_COSTS, D("35.50"), case=case), Leg(Account.CASH, D("-35.50"), case=case)],
    )
    undone = reverse(original=original, source=("tests.undo", "rev-1"), occurred_on=DAY + datetime.timedelta(days=40))
    assert reverse(original=original, source=("tests.undo", "rev-1b"), occurred_on=DAY).pk == undone.pk
    assert undone.kind == EntryKind.REVERSAL and undone.reverses_id == original.pk
    assert sorted(undone.legs.values_list("account", "amount", "month")) == [
        ("cash", D("35.50"), datetime.date(2026, 4, 1)),
        ("service_costs", D("-35.50"), datetime.date(2026, 4, 1)),
    ]
    both = LedgerLeg.objects.filter(transaction__in=[original, undone]).values("account").annotate(total=Sum("amount"))
    assert {row["account"]: row["total"] for row in both} == {"cash": D("0.00"), "service_costs": D("0.00")}


# ------------------------------------------------------------------ what the database itself refuses


def _raw_transaction(cursor, *, legs, schema, product=""):
    txn = uuid.uuid4()
    cursor.execute(
        f'INSERT INTO "{schema}".ledger_ledgertransaction (id, kind, source_type, source_id, occurred_on, memo, created_at) '
        "VALUES (%s, 'legal_cost', 'tests.raw', %s, %s, '', now())",
        [txn, str(txn), DAY],
    )
    for account, amount in legs:
        cursor.execute(
            f'INSERT INTO "{schema}".ledger_ledgerleg (transaction_id, account, amount, counterparty_kind, product, month) '
            "VALUES (%s, %s, %s, '', %s, %s)",
            [txn, account, amount, product, DAY.replace(day=1)],
        )
    return txn


def _own_connection():
    """A second connection to the test database, outside pytest-django's wrapping transaction, so that a COMMIT
    is a real COMMIT (what it refuses leaves nothing behind, and what it accepts is cleaned by the test)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


@pytest.mark.parametrize(
    "legs",
    [
        [("cash", D("100.00")), ("recoveries", D("-99.99"))],  # off by a fen
        [("cash", D("100.00"))],  # one leg
        [],  # no legs at all
    ],
    ids=["off-by-a-fen", "one-leg", "no-legs"],
)
def test_an_unbalanced_transaction_is_refused_at_commit(acme, legs):
    schema = connection.schema_name
    with _own_connection() as other:
        with other.cursor() as cursor:
            txn = _raw_transaction(cursor, legs=legs, schema=schema)  # accepted statement by statement: the check is deferred
        with pytest.raises(psycopg.errors.CheckViolation, match="fewer than two legs|does not balance"):
            other.commit()
        with other.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{schema}".ledger_ledgertransaction WHERE id = %s', [txn])
            assert cursor.fetchone() == (0,)


def test_a_leg_added_later_to_a_committed_transaction_is_refused(acme):
    schema, product = connection.schema_name, f"raw-{uuid.uuid4().hex[:8]}"
    with _own_connection() as other:
        with other.cursor() as cursor:
            txn = _raw_transaction(cursor, legs=[("cash", D("10.00")), ("recoveries", D("-10.00"))], schema=schema, product=product)
        other.commit()  # balanced: accepted
        try:
            with pytest.raises(psycopg.errors.CheckViolation, match="was posted before"), other.cursor() as cursor:
                cursor.execute(
                    f'INSERT INTO "{schema}".ledger_ledgerleg (transaction_id, account, amount, counterparty_kind, product, month) '
                    "VALUES (%s, 'cash', 5.00, '', %s, %s)",
                    [txn, product, DAY.replace(day=1)],
                )
        finally:  # the committed rows are append-only: the test removes its own as the owner can, triggers off
            other.rollback()
            with other.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute(f'DELETE FROM "{schema}".ledger_ledgerleg WHERE transaction_id = %s', [txn])
                cursor.execute(f'DELETE FROM "{schema}".ledger_ledgertransaction WHERE id = %s', [txn])
                cursor.execute(f'DELETE FROM "{schema}".ledger_ledgertotal WHERE product = %s', [product])
            other.commit()


def test_the_commit_check_is_the_databases_within_a_savepoint_too(acme):
    """Inside the test's transaction: SET CONSTRAINTS ALL IMMEDIATE runs the deferred check now, as COMMIT would."""
    case = CaseFactory(prefix="LDB-SAVEPOINT")
    with pytest.raises(IntegrityError, match="does not balance"):
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(kind=EntryKind.LEGAL_COST, source_type="tests.raw", source_id="sp", occurred_on=DAY)
            LedgerLeg.objects.bulk_create(
                [
                    LedgerLeg(transaction=txn, account="cash", amount=D("3.00"), case=case, month=DAY.replace(day=1)),
                    LedgerLeg(transaction=txn, account="court_fees", amount=D("-2.00"), case=case, month=DAY.replace(day=1)),
                ]
            )
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_legs_and_transactions_are_never_updated_or_deleted(acme):
    case = CaseFactory(prefix="LDB-PROTECT")
    txn = post(
        kind=EntryKind.LEGAL_COST,
        source=("tests.thing", "protect"),
        occurred_on=DAY,
        legs=[Leg(Account.PRESERVATION_FEES, D("50.00"), case=case), Leg(Account.CASH, D("-50.00"), case=case)],
    )
    leg = txn.legs.first()
    attempts = [
        lambda: LedgerLeg.objects.filter(pk=leg.pk).update(amount=D("49.00")),
        lambda: LedgerLeg.objects.filter(pk=leg.pk).delete(),
        lambda: LedgerTransaction.objects.filter(pk=txn.pk).update(memo="edited"),
        lambda: LedgerTransaction.objects.filter(pk=txn.pk).delete(),
        lambda: LedgerTotal.objects.filter(account="cash").update(amount=D("0.00")),
        lambda: LedgerTotal.objects.filter(account="cash").delete(),
        lambda: LedgerTotal.objects.create(account="cash", month=DAY.replace(day=1), amount=D("1.00"), legs=1),
    ]
    for attempt in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert list(txn.legs.values_list("amount", flat=True)) == [D("50.00"), D("-50.00")]
    assert LedgerTransaction.objects.get(pk=txn.pk).memo == ""


def test_the_running_totals_equal_a_group_by_over_the_legs(acme, world):
    rng = random.Random(20261205)
    cases = [CaseFactory(prefix="LDB-TOT", product=product) for product in ("随心贷", "车贷", "随心贷")]
    partners = [None, world.orgs["xagency"], world.orgs["yagency"]]
    cohorts = [None, datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)]
    accounts = [Account.CASH, Account.COURT_FEES, Account.RECOVERIES, Account.PARTNER_PAYABLE]
    for n in range(60):
        legs = []
        for _ in range(rng.randint(1, 4)):
            amount = D(rng.randint(1, 500_000)) / 100
            dims = {"case": rng.choice(cases), "counterparty": rng.choice(partners), "cohort_month": rng.choice(cohorts)}
            debit, credit = rng.sample(accounts, 2)
            legs += [Leg(debit, amount, **dims), Leg(credit, -amount, **dims)]
        post(
            kind=EntryKind.LEGAL_COST,
            source=("tests.random", str(n)),
            occurred_on=DAY + datetime.timedelta(days=rng.randint(-90, 90)),
            legs=legs,
        )
    assert totals_kept() == totals_from_legs()
    assert unbalanced_transactions() == []


def test_the_commit_check_reads_the_lenders_own_schema_whatever_the_search_path(acme):
    """A balanced entry written in acme's schema, then the session switched to beta's before COMMIT (a task that moves
    on to the next tenant): the check counts acme's legs, not beta's (it names TG_TABLE_SCHEMA), so it passes; an
    unbalanced one is still refused."""
    from django_tenants.utils import tenant_context

    case = CaseFactory(prefix="LDB-SCHEMA")
    post(
        kind=EntryKind.LEGAL_COST,
        source=("tests.thing", "schema"),
        occurred_on=DAY,
        legs=[Leg(Account.COURT_FEES, D("9.00"), case=case), Leg(Account.CASH, D("-9.00"), case=case)],
    )
    with tenant_context(acme.lenders["beta"]), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # runs the deferred checks now, under beta's search_path
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        txn = LedgerTransaction.objects.create(kind=EntryKind.LEGAL_COST, source_type="tests.raw", source_id="schema-bad", occurred_on=DAY)
        LedgerLeg.objects.bulk_create(
            [
                LedgerLeg(transaction=txn, account="cash", amount=D("3.00"), case=case, month=DAY.replace(day=1)),
                LedgerLeg(transaction=txn, account="court_fees", amount=D("-2.00"), case=case, month=DAY.replace(day=1)),
            ]
        )
        with tenant_context(acme.lenders["beta"]), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
