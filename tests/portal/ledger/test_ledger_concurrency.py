"""Two processes post the same source at the same moment (a retried task beside the first, a backfill beside a live
recording): one transaction, one set of legs, the running totals moved once.

Real concurrency needs committed transactions on two connections, so this runs in a lender of its own, created for
the module and dropped after it (ledger rows are never deleted, by design, so the schema goes as a whole).
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.db.models import Sum
from django_tenants.utils import tenant_context

from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTotal, LedgerTransaction
from portal.ledger.posting import Leg, post
from tests.race_support import both_at_once, create_race_lender, drop_race_lender

SLUG = "race-ledger"


@pytest.fixture(scope="module")
def lender(world, django_db_blocker):
    with django_db_blocker.unblock():
        lender = create_race_lender(SLUG, "并发记账 Race")
    yield lender
    with django_db_blocker.unblock():
        drop_race_lender(lender)


def test_the_same_source_posted_twice_at_once_is_one_transaction(lender, django_db_blocker):
    day = datetime.date(2026, 6, 9)

    def work(name):
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
        return txn.pk

    outcomes = both_at_once(lender, django_db_blocker, work, wrap=transaction.atomic)
    assert outcomes["a"] == outcomes["b"], outcomes
    with django_db_blocker.unblock():
        with tenant_context(lender):
            assert LedgerTransaction.objects.filter(source_type="tests.race", source_id="same-1").count() == 1
            assert LedgerLeg.objects.filter(product="race").count() == 2
            assert LedgerTotal.objects.filter(product="race").aggregate(n=Sum("legs"), amount=Sum("amount")) == {
                "n": 2,
                "amount": Decimal("0.00"),
            }
            assert LedgerTotal.objects.get(product="race", account="court_fees").amount == Decimal("250.00")
        connections["default"].set_schema_to_public()
