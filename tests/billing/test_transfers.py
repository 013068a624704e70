"""Payouts to partners with a connected account: separate charges and transfers, transfer_group = the reference.

localstripe has no Connect, so these go through billing.gateway.FakeConnect (the ConnectGateway the demo also
uses when STRIPE_API_BASE points at localstripe); real Stripe is reached through StripeConnect."""

from decimal import Decimal

from billing import charges
from billing.gateway import FAKE_CONNECT, GatewayError
from billing.models import ConnectedAccount, Transfer, TransferStatus
from tests.billing import probes
from tests.billing.conftest import deliver, reference


def test_success_pays_out_once_to_partners_with_an_account(acme_with_card, world, public_client):
    x, y = world.orgs["xagency"], world.orgs["yagency"]
    ConnectedAccount.objects.create(organisation=x, stripe_account_id="acct_xagency")
    ref = reference()
    probes.PAYEES[ref] = [(x, "300.125"), (y, "100.00")]  # Y has no connected account: paid outside Stripe
    charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="500.00")
    assert not Transfer.objects.filter(charge=charge).exists()  # nothing before the payment is confirmed
    deliver(public_client, "payment_intent.succeeded", {"id": charge.payment_intent_id})
    deliver(public_client, "payment_intent.succeeded", {"id": charge.payment_intent_id})
    transfer = Transfer.objects.get(charge=charge)
    assert transfer.organisation == x and transfer.amount == Decimal("300.13") and transfer.transfer_group == ref
    assert transfer.status == TransferStatus.PENDING  # sent after the commit (tests run in a rolled-back transaction)
    assert charges.send_transfers(charge.pk) == 1
    assert charges.send_transfers(charge.pk) == 0
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.SENT and transfer.stripe_transfer_id.startswith("tr_fake_")
    [sent] = FAKE_CONNECT.transfers
    assert (sent.amount_fen, sent.destination, sent.transfer_group, sent.currency) == (30013, "acct_xagency", ref, "cny")
    assert sent.idempotency_key == transfer.idempotency_key


def test_a_lost_transfer_answer_is_retried_with_the_same_key(acme_with_card, world, public_client):
    x = world.orgs["xagency"]
    ConnectedAccount.objects.create(organisation=x, stripe_account_id="acct_x2")
    ref = reference()
    probes.PAYEES[ref] = [(x, "10.00")]
    charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="10.00")
    deliver(public_client, "payment_intent.succeeded", {"id": charge.payment_intent_id})
    FAKE_CONNECT.fail_next = GatewayError("network", "reset", retryable=True)
    assert charges.send_transfers(charge.pk) == 0
    assert Transfer.objects.get(charge=charge).status == TransferStatus.PENDING
    assert charges.send_transfers(charge.pk) == 1
    assert len(FAKE_CONNECT.transfers) == 1


def test_a_refunded_charge_pays_out_nothing(acme_with_card, world, public_client):
    from billing import gateway

    x = world.orgs["xagency"]
    ConnectedAccount.objects.create(organisation=x, stripe_account_id="acct_x3")
    ref = reference()
    probes.PAYEES[ref] = [(x, "10.00")]
    charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="10.00")
    gateway.create_refund(intent_id=charge.payment_intent_id, idempotency_key="r")
    deliver(public_client, "charge.refunded", {"id": "ch_1", "payment_intent": charge.payment_intent_id})
    assert not Transfer.objects.filter(charge=charge).exists()
