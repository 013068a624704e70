"""Two people (or a person and the lender's system) act on one payment at the same moment: the bank
file and the finance clerk record the same transfer, or two clerks reverse the same returned payment.
Exactly one payment, exactly one reversal, the balances moved once.

Real concurrency needs committed transactions on two connections, so this runs in a lender of its
own, created for the module and dropped after it (payments and reversals are never deleted, by
design, so the schema goes as a whole).
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from portal.models import BalanceSnapshot, Case
from portal.payments import services
from portal.payments.models import Payment, PaymentReversal, PaymentSource, ReversalReason
from tests.matrix_outsourcing import make_cases
from tests.race_support import both_at_once, create_race_lender, drop_race_lender

SLUG = "race-pay"


@pytest.fixture(scope="module")
def lender(world, django_db_blocker):
    with django_db_blocker.unblock():
        lender = create_race_lender(SLUG, "并发还款 Race")
    yield lender
    with django_db_blocker.unblock():
        drop_race_lender(lender)


def _committed_case(lender, django_db_blocker, prefix):
    with django_db_blocker.unblock():
        with tenant_context(lender):
            case = make_cases(1, prefix=prefix, principal="1000.00")[0]
        connections["default"].set_schema_to_public()
    return case


def test_the_same_transfer_recorded_twice_at_once_is_one_payment(lender, django_db_blocker):
    case = _committed_case(lender, django_db_blocker, "RACE-REC")
    today = timezone.localdate()
    outcomes = both_at_once(
        lender,
        django_db_blocker,
        lambda name: services.record_payment(
            case=case,
            amount="300.00",
            paid_on=today,
            reference="RACE-REC-BANK-1",
            source=PaymentSource.IMPORT if name == "a" else PaymentSource.MANUAL,
        ),
    )
    with django_db_blocker.unblock(), tenant_context(lender):
        assert all(isinstance(outcome, tuple) for outcome in outcomes.values()), outcomes
        created = sorted(outcome[1] for outcome in outcomes.values())
        assert created == [False, True], outcomes
        assert Payment.objects.filter(reference="RACE-REC-BANK-1").count() == 1
        assert Case.objects.get(pk=case.pk).principal_due == Decimal("700.00")  # posted once


def test_two_reversals_of_one_payment_at_once_give_back_the_money_once(lender, django_db_blocker):
    case = _committed_case(lender, django_db_blocker, "RACE-REV")
    with django_db_blocker.unblock():
        with tenant_context(lender):
            payment, _ = services.record_payment(
                case=case, amount="400.00", paid_on=timezone.localdate(), reference="RACE-REV-BANK-1", source=PaymentSource.MANUAL
            )
        connections["default"].set_schema_to_public()
    outcomes = both_at_once(
        lender,
        django_db_blocker,
        lambda name: services.reverse_payment(payment=payment, reason=ReversalReason.RETURNED, note=f"退票 ({name})"),
    )
    reversed_ = [o for o in outcomes.values() if isinstance(o, PaymentReversal)]
    refused = [o for o in outcomes.values() if isinstance(o, ValidationError)]
    assert len(reversed_) == 1 and len(refused) == 1 and refused[0].code == "already_reversed", outcomes
    with django_db_blocker.unblock(), tenant_context(lender):
        assert PaymentReversal.objects.filter(payment=payment).count() == 1
        assert Case.objects.get(pk=case.pk).principal_due == Decimal("1000.00")  # given back once, not 1,400
        assert BalanceSnapshot.objects.filter(case=case, source__startswith="reversal:").count() == 1
