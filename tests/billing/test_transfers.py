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


def _paid_out(world, public_client, account_id, amount="10.00"):
    """A charge that succeeded and whose payout to agency X was sent."""
    x = world.orgs["xagency"]
    ConnectedAccount.objects.create(organisation=x, stripe_account_id=account_id)
    ref = reference()
    probes.PAYEES[ref] = [(x, amount)]
    charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount=amount)
    deliver(public_client, "payment_intent.succeeded", {"id": charge.payment_intent_id})
    assert charges.send_transfers(charge.pk) == 1
    return charge


def _refund(charge, public_client):
    from billing import gateway

    gateway.create_refund(intent_id=charge.payment_intent_id, idempotency_key=f"refund-{charge.pk}")
    deliver(public_client, "charge.refunded", {"id": "ch_refund", "payment_intent": charge.payment_intent_id})


def test_a_refund_after_the_payout_takes_the_payout_back_once(acme_with_card, world, public_client):
    """Stripe does not undo the transfers a refunded charge funded: the platform reverses them, or the partner keeps
    money the lender got back. Delivered twice, the refund reverses once, with the transfer's own stored key."""
    charge = _paid_out(world, public_client, "acct_x4", "250.50")
    _refund(charge, public_client)
    deliver(public_client, "charge.refunded", {"id": "ch_refund", "payment_intent": charge.payment_intent_id})
    transfer = Transfer.objects.get(charge=charge)
    assert transfer.status == TransferStatus.REVERSING  # reversed after the commit (the test's transaction never commits)
    assert charges.send_reversals(charge.pk) == 1
    assert charges.send_reversals(charge.pk) == 0
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.REVERSED and transfer.stripe_reversal_id.startswith("trr_fake_") and transfer.reversed_at
    [reversal] = FAKE_CONNECT.reversals
    [sent] = FAKE_CONNECT.transfers
    assert (reversal.transfer_id, reversal.amount_fen, reversal.idempotency_key) == (
        transfer.stripe_transfer_id,
        sent.amount_fen,
        transfer.reversal_idempotency_key,
    )


def test_a_lost_reversal_answer_is_retried_with_the_same_key(acme_with_card, world, public_client):
    charge = _paid_out(world, public_client, "acct_x5")
    _refund(charge, public_client)
    FAKE_CONNECT.fail_next = GatewayError("network", "reset", retryable=True)
    assert charges.send_reversals(charge.pk) == 0
    transfer = Transfer.objects.get(charge=charge)
    assert transfer.status == TransferStatus.REVERSING and transfer.failure_message == "reset"
    assert charges.reconcile_stuck()["transfers_reversed"] == 1  # the periodic task finishes it
    assert len(FAKE_CONNECT.reversals) == 1
    assert Transfer.objects.get(charge=charge).status == TransferStatus.REVERSED


def test_a_refund_before_the_payout_was_sent_cancels_it(acme_with_card, world, public_client):
    x = world.orgs["xagency"]
    ConnectedAccount.objects.create(organisation=x, stripe_account_id="acct_x6")
    ref = reference()
    probes.PAYEES[ref] = [(x, "10.00")]
    charge = charges.pay(lender=world.lenders["acme"], purpose=probes.PURPOSE, reference=ref, amount="10.00")
    deliver(public_client, "payment_intent.succeeded", {"id": charge.payment_intent_id})
    assert Transfer.objects.get(charge=charge).status == TransferStatus.PENDING  # planned, not sent yet
    _refund(charge, public_client)
    assert Transfer.objects.get(charge=charge).status == TransferStatus.CANCELLED
    assert charges.send_transfers(charge.pk) == 0 and charges.send_reversals(charge.pk) == 0
    assert FAKE_CONNECT.transfers == [] and FAKE_CONNECT.reversals == []


def test_platform_staff_see_a_reversal_the_partner_refused_until_it_is_done(acme_with_card, world, public_client, client_for):
    charge = _paid_out(world, public_client, "acct_x7", "88.00")
    _refund(charge, public_client)
    FAKE_CONNECT.fail_next = GatewayError("balance_insufficient", "The connected account's balance is too low.")
    assert charges.send_reversals(charge.pk) == 0
    staff = client_for("platform")
    page = staff.get("/platform/billing/").content.decode()
    assert "Payouts needing attention" in page and "¥88.00" in page and "balance is too low" in page
    assert world.orgs["xagency"].name in page
    assert charges.send_reversals(charge.pk) == 1  # settled later: the same key, and the page is clear again
    assert "Nothing to look at." in staff.get("/platform/billing/").content.decode()
