"""Two processes post the same source at the same moment (a retried task beside the first, a backfill beside a live
recording): one transaction, one set of legs, the running totals moved once.

Real concurrency needs committed transactions on two connections, so this runs in a lender of its own, created for
the module and dropped after it (ledger rows are never deleted, by design, so the schema goes as a whole).
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.db.models import Sum
from django_tenants.utils import tenant_context

from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTotal, LedgerTransaction
from portal.ledger.posting import Leg, post

WAIT = 30  # seconds; only guards against a hang, never part of what is asserted
SLUG = "race-ledger"


@pytest.fixture(scope="module")
def lender(world, django_db_blocker):
    from tenants import services as tenant_services
    from tenants.models import Domain

    with django_db_blocker.unblock():
        lender = tenant_services.create_lender(slug=SLUG, name="并发记账 Race")
        connections["default"].set_schema_to_public()
    yield lender
    with django_db_blocker.unblock():
        from django.db import connection

        org_id = lender.organisation_id
        Domain.objects.filter(tenant=lender).delete()
        lender.delete(force_drop=True)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM tenants_organisation WHERE id = %s", [org_id])
        connections["default"].set_schema_to_public()


def test_the_same_source_posted_twice_at_once_is_one_transaction(lender, django_db_blocker):
    barrier = threading.Barrier(2)
    outcomes = {}
    day = datetime.date(2026, 6, 9)

    def run(name):
        try:
            with tenant_context(lender), transaction.atomic():
                barrier.wait(WAIT)
                txn = post(
                    kind=EntryKind.LEGAL_COST,
                    source=("tests.race", "same-1"),
                    occurred_on=day,
                    legs=[
                        Leg(Account.COURT_FEES, Decimal("250.00"), product="race"),
                        Leg(Account.CASH, Decimal("-250.00"), product="race"),
                    ],
                    memo=name,
                )
                outcomes[name] = txn.pk
        except Exception as error:  # surfaced by the assertions
            outcomes[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    with django_db_blocker.unblock():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
            assert not thread.is_alive(), "hung"
        assert outcomes["a"] == outcomes["b"], outcomes
        with tenant_context(lender):
            assert LedgerTransaction.objects.filter(source_type="tests.race", source_id="same-1").count() == 1
            assert LedgerLeg.objects.filter(product="race").count() == 2
            assert LedgerTotal.objects.filter(product="race").aggregate(n=Sum("legs"), amount=Sum("amount")) == {
                "n": 2,
                "amount": Decimal("0.00"),
            }
            assert LedgerTotal.objects.get(product="race", account="court_fees").amount == Decimal("250.00")
        connections["default"].set_schema_to_public()
