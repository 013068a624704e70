"""Paying a statement (issue 10 item 4): the charge's outcome comes back to portal.fees.services.on_charge.

Succeeded → paid, and the settlement posted to the ledger exactly once (Dr partner_payable / Cr cash, per case),
however often the event is delivered; refunded → issued again with a record, the posting reversed; failed → the
reason kept and shown, the statement still issued. A negative statement (clawbacks) cannot go through Stripe.
The end-to-end payment through billing and localstripe is tested with billing (the coordinator's journey).
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum

from portal.fees import services
from portal.fees.models import Statement, StatementStatus
from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTransaction
from portal.payments import services as payment_services
from portal.payments.models import ReversalReason
from tests.factories import PaymentFactory, finance
from tests.portal.fees.support import M3, M4, Charge, day, draft, issued, moment, pay, placed

pytestmark = pytest.mark.django_db
D = Decimal


def settlement_legs(statement, kind=EntryKind.SETTLEMENT):
    return LedgerLeg.objects.filter(
        transaction__kind=kind, transaction__source_type="fees.statement", transaction__source_id__startswith=str(statement.pk)
    )


def total(legs, account):
    return legs.filter(account=account).aggregate(s=Sum("amount"))["s"] or D("0.00")


@pytest.fixture
def issued_statement(acme):
    world = acme
    a, b = placed(world, 2, prefix="FEE-PAY")
    pay(a, "1000.00", day(M4, 5), "FEE-PAY-1")
    pay(b, "2000.00", day(M4, 6), "FEE-PAY-2")
    return issued(world)


def test_a_succeeded_charge_marks_the_statement_paid_and_posts_the_settlement_once(issued_statement, world):
    statement = issued_statement
    charge = Charge(reference=str(statement.pk), stripe_id="pi_ok_1")
    for _delivery in range(2):  # the same event delivered twice
        services.on_charge(charge, outcome="succeeded", now=moment(M3, 10))
    statement = Statement.objects.get(pk=statement.pk)
    assert statement.status == StatementStatus.PAID and statement.paid_at == moment(M3, 10) and statement.charge_reference == "pi_ok_1"
    assert (
        LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_type="fees.statement", source_id=str(statement.pk)).count() == 1
    )
    legs = settlement_legs(statement)
    assert total(legs, Account.PARTNER_PAYABLE) == statement.amount_total == -total(legs, Account.CASH) > 0
    assert set(legs.filter(account=Account.PARTNER_PAYABLE).values_list("counterparty_id", flat=True)) == {world.orgs["xagency"].pk}
    assert legs.filter(account=Account.PARTNER_PAYABLE).values("case_id").distinct().count() == 2  # one pair per case
    # Paid is final too: the money and the document cannot change, nor the status go back but by a refund.
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(amount_total=D("1.00"))
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic():
        Statement.objects.filter(pk=statement.pk).update(status=StatementStatus.APPROVED)


def test_a_refund_sets_it_back_to_issued_and_reverses_the_posting(issued_statement):
    statement = issued_statement
    charge = Charge(reference=str(statement.pk))
    services.on_charge(charge, outcome="succeeded", now=moment(M3, 10))
    for _delivery in range(2):
        services.on_charge(charge, outcome="refunded", now=moment(M3, 12))
    statement = Statement.objects.get(pk=statement.pk)
    assert statement.status == StatementStatus.ISSUED and statement.refund_count == 1 and statement.refunded_at == moment(M3, 12)
    assert statement.paid_at is None
    original = LedgerTransaction.objects.get(kind=EntryKind.SETTLEMENT, source_type="fees.statement", source_id=str(statement.pk))
    reversal = LedgerTransaction.objects.get(reverses=original)
    assert reversal.kind == EntryKind.SETTLEMENT_REFUND
    both = LedgerLeg.objects.filter(transaction__in=[original, reversal])
    assert total(both, Account.PARTNER_PAYABLE) == total(both, Account.CASH) == D("0.00")
    # Paid again later: a new settlement of its own, posted once.
    services.on_charge(Charge(reference=str(statement.pk), stripe_id="pi_again"), outcome="succeeded", now=moment(M3, 15))
    services.on_charge(Charge(reference=str(statement.pk), stripe_id="pi_again"), outcome="succeeded", now=moment(M3, 15))
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.PAID
    settlements = LedgerTransaction.objects.filter(
        kind=EntryKind.SETTLEMENT, source_type="fees.statement", source_id__startswith=str(statement.pk)
    )
    assert settlements.count() == 2
    assert (
        total(settlement_legs(statement) | settlement_legs(statement, EntryKind.SETTLEMENT_REFUND), Account.PARTNER_PAYABLE)
        == statement.amount_total
    )


def test_a_failed_charge_keeps_the_reason_and_the_statement_issued(issued_statement, client_for, world):
    statement = issued_statement
    services.on_charge(Charge(reference=str(statement.pk), failure_message="Your card was declined."), outcome="failed", now=moment(M3, 9))
    statement = Statement.objects.get(pk=statement.pk)
    assert statement.status == StatementStatus.ISSUED and statement.payment_failure == "Your card was declined."
    assert not LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_id=str(statement.pk)).exists()
    page = client_for("acme_finance", host="acme").get(f"/fees/{statement.pk}/").content.decode()
    assert "data-payment-failure" in page and "Your card was declined." in page and f"/fees/{statement.pk}/pay/" in page
    connection.set_tenant(world.lenders["acme"])  # the request left the connection on the public schema
    # A later success clears it.
    services.on_charge(Charge(reference=str(statement.pk)), outcome="succeeded", now=moment(M3, 11))
    statement = Statement.objects.get(pk=statement.pk)
    assert statement.status == StatementStatus.PAID and statement.payment_failure == ""


def test_a_charge_for_no_statement_of_this_lender_changes_nothing(acme):
    import uuid

    assert services.on_charge(Charge(reference=str(uuid.uuid4())), outcome="succeeded") is None


def test_a_negative_statement_cannot_be_paid_through_stripe_and_says_so(acme, client_for):
    world = acme
    a = placed(world, 1, prefix="FEE-NEG")[0]
    line = pay(a, "900.00", day(M4, 5), "FEE-NEG-1")
    issued(world)  # M4 paid the commission
    payment_services.reverse_payment(
        payment=line.payment,
        reason=ReversalReason.RETURNED,
        note="银行退票",
        reversed_on=day(M3, 3),
        reversed_by=finance(world),
        now=moment(day(M3, 3), 10),
    )
    statement = issued(world, M3)  # only the clawback: the agency owes the lender
    assert statement.amount_total == -line.commission < 0
    with pytest.raises(ValidationError) as excinfo:
        services.pay(statement=statement, paid_by=finance(world))
    assert excinfo.value.code == "not_payable" and "cannot be paid through Stripe" in excinfo.value.messages[0]
    page = client_for("acme_finance", host="acme").get(f"/fees/{statement.pk}/").content.decode()
    assert "data-pay-blocked" in page and "cannot be paid through Stripe" in page and f"/fees/{statement.pk}/pay/" not in page
    connection.set_tenant(world.lenders["acme"])


def test_the_payout_goes_to_the_partner(issued_statement, world):
    statement = issued_statement
    assert services.payout(Charge(reference=str(statement.pk))) == [(world.orgs["xagency"], statement.amount_total)]


def test_only_issued_statements_can_be_paid(acme):
    world = acme
    a = placed(world, 1, prefix="FEE-NP")[0]
    PaymentFactory(case=a, amount="50.00", paid_on=day(M4, 2), reference="FEE-NP-1")
    statement = draft(world)
    with pytest.raises(ValidationError) as excinfo:
        services.pay(statement=statement, paid_by=finance(world))
    assert excinfo.value.code == "not_payable"
