"""Paying a statement for real: the real ``stripe`` library against localstripe (127.0.0.1, port 8531, started
here), through billing. Finance pays from the statement page; the statement turns paid only when Stripe's state comes
back (billing.charges.apply_intent_state, what the webhook's processing calls); a declined card says why, leaves the
statement issued, and a retry starts a new attempt instead of charging twice."""

import os

import pytest
from django.db import connection
from django.test.utils import override_settings

from billing import accounts, charges, gateway
from billing.models import Charge, ChargeStatus
from billing.testing import start_localstripe, stop_localstripe
from portal.fees.models import Statement, StatementStatus
from portal.ledger.models import EntryKind, LedgerTransaction
from tests.portal.fees.support import M4, day, issued, pay, placed

pytestmark = pytest.mark.django_db
PORT = int(os.environ.get("FEES_LOCALSTRIPE_PORT", "8531"))
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, declines when charged


@pytest.fixture(scope="module")
def localstripe():
    process, base_url = start_localstripe(PORT)
    with override_settings(STRIPE_API_BASE=base_url, STRIPE_SECRET_KEY="sk_test_caseport", STRIPE_WEBHOOK_SECRET="whsec_fees_tests"):
        try:
            yield base_url
        finally:
            stop_localstripe(process)


@pytest.fixture
def statement(acme):
    world = acme
    a = placed(world, 1, prefix="FEE-STRIPE")[0]
    pay(a, "2400.00", day(M4, 8), "FEE-STRIPE-1")
    return issued(world)


def webhook_arrives(charge):
    """What billing does with the webhook's event: re-fetch the PaymentIntent and apply its state (idempotent)."""
    charge = Charge.objects.get(pk=charge.pk)
    charges.apply_intent_state(charge, gateway.retrieve_payment_intent(charge.payment_intent_id))


def test_finance_pays_and_the_webhook_marks_it_paid_once(localstripe, statement, world, client_for):
    accounts.attach_test_card(world.lenders["acme"], GOOD_CARD)
    client = client_for("acme_finance", host="acme")
    page = client.get(f"/fees/{statement.pk}/").content.decode()
    assert "Charged to the card on file: Visa ···· 4242" in page and "data-no-card" not in page
    response = client.post(f"/fees/{statement.pk}/pay/", follow=True)
    assert "Payment sent to the card processor" in response.content.decode()
    connection.set_tenant(world.lenders["acme"])
    charge = Charge.objects.get(purpose="statement", reference=str(statement.pk))
    assert charge.status == ChargeStatus.PROCESSING and charge.amount == statement.amount_total
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.ISSUED  # waits for Stripe's word
    client.post(f"/fees/{statement.pk}/pay/")  # a second click: the live attempt, not a second charge
    connection.set_tenant(world.lenders["acme"])
    assert Charge.objects.filter(purpose="statement", reference=str(statement.pk)).count() == 1
    for _delivery in range(2):
        webhook_arrives(charge)
    paid = Statement.objects.get(pk=statement.pk)
    assert paid.status == StatementStatus.PAID and paid.charge_reference == charge.payment_intent_id
    assert (
        LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_type="fees.statement", source_id=str(statement.pk)).count() == 1
    )


def test_a_declined_card_says_why_and_the_statement_stays_issued(localstripe, statement, world, client_for):
    accounts.attach_test_card(world.lenders["acme"], DECLINED_CARD)
    client = client_for("acme_finance", host="acme")
    page = client.post(f"/fees/{statement.pk}/pay/", follow=True).content.decode()
    assert "The payment failed:" in page and "data-payment-failure" in page
    connection.set_tenant(world.lenders["acme"])
    failed = Statement.objects.get(pk=statement.pk)
    assert failed.status == StatementStatus.ISSUED and failed.payment_failure and failed.payment_failed_at
    assert not LedgerTransaction.objects.filter(kind=EntryKind.SETTLEMENT, source_id=str(statement.pk)).exists()
    first = Charge.objects.get(purpose="statement", reference=str(statement.pk))
    assert first.status == ChargeStatus.FAILED
    # The lender replaces the card and retries: a new attempt (its own idempotency key), charged once.
    accounts.attach_test_card(world.lenders["acme"], GOOD_CARD)
    client.post(f"/fees/{statement.pk}/pay/")
    connection.set_tenant(world.lenders["acme"])
    attempts = Charge.objects.filter(purpose="statement", reference=str(statement.pk)).order_by("attempt")
    assert [c.status for c in attempts] == [ChargeStatus.FAILED, ChargeStatus.PROCESSING]
    assert attempts[0].idempotency_key != attempts[1].idempotency_key
    webhook_arrives(attempts[1])
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.PAID
