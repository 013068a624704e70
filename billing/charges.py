"""Charging a lender: ``pay`` (what finance clicks) and ``apply_intent_state`` (what Stripe's answer means).

The rules (Stripe's idempotency and webhook guidance, reliability-and-security.md §4):
- one live attempt per (purpose, reference), enforced by a partial unique index: a double click or a retry
  finds the attempt in flight instead of starting another; after a failure a new attempt (new key) may start;
- the attempt's idempotency key is created with its row and sent on every retry of it; the PaymentIntent is
  created first and its id stored before the card is charged, so a retry after a lost answer retrieves it;
- ``pay`` records what Stripe answered (failed and why at once; success as "processing"), but the business
  effect (the purpose's handler, "succeeded") waits for the webhook's event, processed by billing.events;
- ``apply_intent_state`` is the one idempotent place where a fetched PaymentIntent becomes the Charge's
  status: a status only moves forward (webhooks come in any order), and each outcome reaches the purpose's
  handler once, in the lender's schema, inside the caller's transaction.

Call ``pay`` outside a database transaction: its record of a failed attempt must survive the PaymentError.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from . import gateway, hooks
from .errors import PaymentError
from .models import STATUS_RANK, BillingAccount, Charge, ChargeStatus, ConnectedAccount, Transfer, TransferStatus
from .money import to_fen, to_yuan

log = logging.getLogger(__name__)

# Where a charge may go from where it is (failed and refunded are final; a failed attempt is followed by a new one).
ALLOWED = {
    ChargeStatus.PENDING: {ChargeStatus.PROCESSING, ChargeStatus.SUCCEEDED, ChargeStatus.FAILED, ChargeStatus.REFUNDED},
    ChargeStatus.PROCESSING: {ChargeStatus.SUCCEEDED, ChargeStatus.FAILED, ChargeStatus.REFUNDED},
    ChargeStatus.SUCCEEDED: {ChargeStatus.REFUNDED},
    ChargeStatus.FAILED: set(),
    ChargeStatus.REFUNDED: set(),
}


# ----------------------------------------------------------------- pay
def pay(*, lender, purpose: str, reference: str, amount, description: str = "", initiated_by=None) -> Charge:
    """Charge the lender's card on file ``amount`` yuan for ``purpose``/``reference``; returns the Charge.

    Raises PaymentError (with the reason, also kept on the row) when there is no card, the card is declined
    or Stripe cannot be reached (then the attempt stays pending and a retry continues it, never doubles it)."""
    amount = to_yuan(amount)
    try:
        to_fen(amount)
    except ValueError as error:
        raise PaymentError(_("A payment must be a positive amount."), code="invalid_amount") from error
    charge = _claim_attempt(
        lender=lender, purpose=purpose, reference=reference, amount=amount, description=description, initiated_by=initiated_by
    )
    if charge.status not in (ChargeStatus.PENDING, ChargeStatus.PROCESSING):
        return charge  # already paid (or refunded): never a second charge
    with transaction.atomic():
        charge = Charge.objects.select_for_update().get(pk=charge.pk)  # a concurrent click waits here, then sees our result
        error = _drive(charge)
    charge.refresh_from_db()
    if error is not None:
        raise error
    return charge


def _claim_attempt(*, lender, purpose, reference, amount: Decimal, description, initiated_by) -> Charge:
    """The live attempt for (purpose, reference), or a new one (attempt n+1, a new idempotency key)."""
    for _round in range(3):
        live = Charge.objects.filter(purpose=purpose, reference=reference).exclude(status=ChargeStatus.FAILED).first()
        if live is not None:
            if live.lender_id != lender.pk or live.amount != amount:
                raise PaymentError(_("This item is already being paid with a different amount."), code="conflict")
            return live
        last = Charge.objects.filter(purpose=purpose, reference=reference).aggregate(n=Max("attempt"))["n"] or 0
        try:
            with transaction.atomic():
                return Charge.objects.create(
                    lender=lender,
                    purpose=purpose,
                    reference=reference,
                    amount=amount,
                    currency=gateway.currency(),
                    description=description[:200],
                    attempt=last + 1,
                    initiated_by=initiated_by,
                )
        except IntegrityError:  # a concurrent click created it first: take theirs
            continue
    raise PaymentError(_("This item is already being paid; try again in a moment."), code="busy")


def _drive(charge: Charge) -> PaymentError | None:
    """Bring the attempt as far as Stripe lets it, under the row's lock; returns the error to raise, if any."""
    account = BillingAccount.objects.filter(lender_id=charge.lender_id).first()
    if not charge.payment_intent_id and (account is None or not account.default_payment_method_id or not account.stripe_customer_id):
        _fail(charge, "no_payment_method", "")
        return PaymentError(gateway.reason_for("no_payment_method"), code="no_payment_method")
    try:
        if charge.payment_intent_id:  # a retry of an attempt Stripe already knows: look, never create another
            intent = gateway.retrieve_payment_intent(charge.payment_intent_id)
        else:
            intent = gateway.create_payment_intent(
                amount=charge.amount,
                customer_id=account.stripe_customer_id,
                payment_method_id=account.default_payment_method_id,
                idempotency_key=charge.idempotency_key,
                metadata={"caseport_charge": str(charge.pk), "purpose": charge.purpose, "reference": charge.reference},
                description=charge.description,
            )
            # Stored at once (committed with this transaction even if the confirmation below is lost).
            Charge.objects.filter(pk=charge.pk).update(payment_intent_id=intent.id)
            charge.payment_intent_id = intent.id
        if intent.status == "requires_confirmation":
            intent = gateway.confirm_payment_intent(intent.id, idempotency_key=f"{charge.idempotency_key}:confirm")
    except gateway.GatewayError as error:
        if error.retryable:
            log.warning("charge %s: Stripe unreachable, attempt kept pending: %s", charge.pk, error.message)
            return PaymentError(error.reason, code="network")
        _fail(charge, error.code, error.message)
        return PaymentError(error.reason, code=error.code)
    if intent.status == "requires_action":  # 3-D Secure: the payer must act in the browser (Stripe.js), not possible here
        _fail(charge, "authentication_required", "")
        return PaymentError(gateway.reason_for("authentication_required"), code="authentication_required")
    if intent.failed:
        apply_intent_state(charge, intent)
        return PaymentError(gateway.reason_for(intent.error_code), code=intent.error_code or "card_declined")
    # Accepted (succeeded or still processing): the webhook's event, re-fetched, decides the business effect.
    Charge.objects.filter(pk=charge.pk, status=ChargeStatus.PENDING).update(status=ChargeStatus.PROCESSING, updated_at=timezone.now())
    return None


def _fail(charge: Charge, code: str, message: str, now: datetime.datetime | None = None) -> None:
    _transition(charge, ChargeStatus.FAILED, now or timezone.now(), failure_code=code[:64], failure_message=(message or "")[:500])


# ----------------------------------------------------------------- Stripe's answer → our status
def target_status(intent: gateway.IntentState) -> str:
    if intent.refunded:
        return ChargeStatus.REFUNDED
    if intent.status == "succeeded":
        return ChargeStatus.SUCCEEDED
    if intent.failed:
        return ChargeStatus.FAILED
    return ChargeStatus.PROCESSING


def apply_intent_state(charge: Charge, intent: gateway.IntentState, *, now: datetime.datetime | None = None) -> list[str]:
    """Make the Charge say what the fetched PaymentIntent says, and tell the purpose's handler each new outcome
    once. Idempotent; a status never moves back. Returns the outcomes delivered now ([] when nothing changed)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Charge.objects.select_for_update().select_related("lender").get(pk=charge.pk)
        if current.payment_intent_id and current.payment_intent_id != intent.id:
            raise ValueError(f"charge {current.pk} belongs to {current.payment_intent_id}, not {intent.id}")
        fields = {}
        if not current.payment_intent_id:  # the event came before pay() stored the id ("paid before created")
            fields["payment_intent_id"] = intent.id
        target = target_status(intent)
        if target == ChargeStatus.FAILED:
            fields |= {"failure_code": intent.error_code[:64], "failure_message": intent.error_message[:500]}
        delivered = _transition_locked(current, target, now, fields)
    charge.refresh_from_db()
    return delivered


def _transition(charge: Charge, target: str, now: datetime.datetime, **fields) -> list[str]:
    """Lock the charge and move it to ``target`` if allowed (see _transition_locked)."""
    with transaction.atomic():
        current = Charge.objects.select_for_update().select_related("lender").get(pk=charge.pk)
        return _transition_locked(current, target, now, fields)


def _transition_locked(current: Charge, target: str, now: datetime.datetime, fields: dict) -> list[str]:
    """Move a locked charge to ``target`` if allowed, then deliver the outcomes the handler has not heard, in the
    same transaction (one UPDATE of the row; the handler sees the new state)."""
    moved = target != current.status and target in ALLOWED[current.status]
    if not moved:
        fields = {k: v for k, v in fields.items() if k == "payment_intent_id"}
    else:
        fields["status"] = target
        if STATUS_RANK[target] >= 2 and current.settled_at is None:
            fields["settled_at"] = now
    for name, value in fields.items():
        setattr(current, name, value)
    outcomes = _due_outcomes(current)
    if outcomes:
        current.notified = fields["notified"] = outcomes[-1]
    if fields:
        current.save(update_fields=[*fields, "updated_at"])
    for outcome in outcomes:
        _notify(current, outcome, now)
    if "succeeded" in outcomes and current.status == ChargeStatus.SUCCEEDED:
        _plan_transfers(current)
    if "refunded" in outcomes:
        _plan_reversals(current)
    return outcomes


def _due_outcomes(charge: Charge) -> list[str]:
    """What the handler has not heard yet, in order: a payment before its refund, each once."""
    told = charge.notified
    if charge.status == ChargeStatus.SUCCEEDED and told == "":
        return ["succeeded"]
    if charge.status == ChargeStatus.REFUNDED:
        return {"": ["succeeded", "refunded"], "succeeded": ["refunded"]}.get(told, [])
    if charge.status == ChargeStatus.FAILED and told == "":
        return ["failed"]
    return []


def _notify(charge: Charge, outcome: str, now: datetime.datetime) -> None:
    handler = hooks.CHARGE_HANDLERS.get(charge.purpose)
    if handler is None:
        log.info("charge %s: no handler for purpose %r (%s)", charge.pk, charge.purpose, outcome)
        return
    with schema_context(charge.lender.schema_name):
        handler(charge, outcome=outcome, now=now)


# ----------------------------------------------------------------- payouts (separate charges and transfers)
def _plan_transfers(charge: Charge) -> list[Transfer]:
    """One Transfer row per payee with a connected account, once (unique per charge and payee); sent after commit."""
    payees_of = hooks.PAYOUTS.get(charge.purpose)
    if payees_of is None:
        return []
    with schema_context(charge.lender.schema_name):
        payees = [(org, to_yuan(amount)) for org, amount in payees_of(charge)]
    if sum((amount for _, amount in payees), Decimal("0")) > charge.amount:
        raise ValueError(f"charge {charge.pk}: payouts exceed the amount charged")
    accounts = {a.organisation_id: a for a in ConnectedAccount.objects.filter(organisation__in=[org for org, _ in payees])}
    planned = []
    for org, amount in payees:
        account = accounts.get(org.pk)
        if account is None or amount <= 0:
            continue  # no connected account: paid outside Stripe (bank transfer), as before
        transfer, _created = Transfer.objects.get_or_create(
            charge=charge,
            organisation=org,
            defaults={"destination": account.stripe_account_id, "amount": amount, "transfer_group": charge.reference},
        )
        planned.append(transfer)
    if planned:
        charge_id = charge.pk
        transaction.on_commit(lambda: send_transfers(charge_id))
    return planned


def _work_through(due, status: str, step) -> int:
    """Each transfer of ``due`` still in ``status``, locked and re-read, handed to ``step(transfer) -> bool`` (done?)
    in a transaction of its own; returns how many were done."""
    done = 0
    for transfer_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            transfer = Transfer.objects.select_for_update().get(pk=transfer_id)
            if transfer.status == status and step(transfer):
                done += 1
    return done


def _send(transfer: Transfer) -> bool:
    try:
        stripe_id = gateway.connect().create_transfer(
            amount=transfer.amount,
            destination=transfer.destination,
            transfer_group=transfer.transfer_group,
            idempotency_key=transfer.idempotency_key,
            metadata={"caseport_charge": str(transfer.charge_id)},
        )
    except gateway.GatewayError as error:
        if not error.retryable:  # a retryable error leaves it pending: the periodic task tries again with the same key
            transfer.status, transfer.failure_message = TransferStatus.FAILED, error.message[:500]
            transfer.save(update_fields=["status", "failure_message"])
        return False
    transfer.stripe_transfer_id, transfer.status, transfer.sent_at = stripe_id, TransferStatus.SENT, timezone.now()
    transfer.save(update_fields=["stripe_transfer_id", "status", "sent_at"])
    return True


def send_transfers(charge_id=None) -> int:
    """Send pending transfers (of one charge, or all) through the Connect gateway; each with its stored key. Returns how many were sent."""
    pending = Transfer.objects.filter(status=TransferStatus.PENDING)
    if charge_id is not None:
        pending = pending.filter(charge_id=charge_id)
    return _work_through(pending, TransferStatus.PENDING, _send)


def _plan_reversals(charge: Charge) -> None:
    """A refunded charge takes its payouts back: one not sent yet is cancelled (send_transfers never sends it), one
    sent is marked for reversal and reversed after the commit (Stripe: a refund does not reverse the transfers a charge
    funded; the platform reverses them itself)."""
    transfers = Transfer.objects.select_for_update().filter(charge=charge)
    transfers.filter(status=TransferStatus.PENDING).update(status=TransferStatus.CANCELLED)
    if transfers.filter(status=TransferStatus.SENT).update(status=TransferStatus.REVERSING):
        charge_id = charge.pk
        transaction.on_commit(lambda: send_reversals(charge_id))


def _reverse(transfer: Transfer) -> bool:
    try:
        reversal_id = gateway.connect().reverse_transfer(
            transfer_id=transfer.stripe_transfer_id,
            amount=transfer.amount,
            idempotency_key=transfer.reversal_idempotency_key,
            metadata={"caseport_charge": str(transfer.charge_id)},
        )
    except gateway.GatewayError as error:
        # Stays "reversing" either way: the periodic task tries again with the same key; a refusal is kept to be seen.
        transfer.failure_message = error.message[:500]
        transfer.save(update_fields=["failure_message"])
        log.warning("transfer %s: reversal refused or lost: %s", transfer.pk, error.message)
        return False
    transfer.stripe_reversal_id, transfer.status, transfer.reversed_at = reversal_id, TransferStatus.REVERSED, timezone.now()
    transfer.failure_message = ""
    transfer.save(update_fields=["stripe_reversal_id", "status", "reversed_at", "failure_message"])
    return True


def send_reversals(charge_id=None) -> int:
    """Reverse the payouts of refunded charges (of one charge, or all) through the Connect gateway, each with its own
    stored key, so a retry never takes the money back twice. Returns how many were reversed."""
    due = Transfer.objects.filter(status=TransferStatus.REVERSING)
    if charge_id is not None:
        due = due.filter(charge_id=charge_id)
    return _work_through(due, TransferStatus.REVERSING, _reverse)


def payouts_needing_attention():
    """Payouts a person must look at: refused transfers, and reversals not done yet (the periodic task retries them;
    one refused, e.g. the partner's balance no longer holds the money, waits for the platform to settle it)."""
    return (
        Transfer.objects.filter(status__in=[TransferStatus.FAILED, TransferStatus.REVERSING])
        .select_related("charge__lender", "organisation")
        .order_by("created_at", "pk")
    )


# ----------------------------------------------------------------- lost webhooks
def reconcile_stuck(*, older_than: datetime.timedelta = datetime.timedelta(minutes=10), now: datetime.datetime | None = None) -> dict:
    """Re-fetch charges Stripe knows that are still pending/processing after ``older_than`` (a lost webhook) and apply what
    Stripe says; then retry unsent transfers and unfinished reversals. Idempotent: safe to run on any schedule."""
    now = now or timezone.now()
    stuck = Charge.objects.filter(
        status__in=[ChargeStatus.PENDING, ChargeStatus.PROCESSING], payment_intent_id__isnull=False, updated_at__lt=now - older_than
    )
    changed = 0
    for charge in stuck.order_by("updated_at")[:500]:
        try:
            intent = gateway.retrieve_payment_intent(charge.payment_intent_id)
        except gateway.GatewayError as error:
            log.warning("charge %s: could not re-fetch %s: %s", charge.pk, charge.payment_intent_id, error.message)
            continue
        if apply_intent_state(charge, intent, now=now):
            changed += 1
    return {"changed": changed, "transfers_sent": send_transfers(), "transfers_reversed": send_reversals()}
