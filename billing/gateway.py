"""The only module that talks to Stripe (the real ``stripe`` library, ``StripeClient``).

Everything else in Caseport calls these small functions and gets plain values back (``IntentState``,
ids, labels), never a StripeObject (in stripe-python v16 it is no longer a dict; stack-notes.md).
Amounts cross this boundary once: Decimal yuan in, integer fen out (billing.money.to_fen).

Settings read (with defaults): STRIPE_SECRET_KEY ("sk_test_caseport"), STRIPE_API_BASE (None: the real
api.stripe.com; tests and the demo point it at localstripe on 127.0.0.1), STRIPE_CURRENCY ("cny").

Idempotency: every POST that creates something carries an ``idempotency_key`` stored with our row
(Charge.idempotency_key, Transfer.idempotency_key) and reused on each retry, so real Stripe returns the
first result instead of charging twice (docs.stripe.com/api/idempotent_requests). localstripe ignores
the header; our own guards (the partial unique index on live charges, the intent id stored before
confirming) are what the tests exercise against it.

Connect: localstripe has no Connect (no accounts, no transfers), so payouts go through ``ConnectGateway``:
``StripeConnect`` calls ``transfers.create`` on real Stripe; ``FakeConnect`` keeps the transfers in memory
and is used by the tests and by the demo whenever STRIPE_API_BASE is set (i.e. localstripe). Transfers
are therefore never exercised against a Stripe server here: say so wherever payouts are described.
"""

from __future__ import annotations

import functools
import itertools
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import stripe
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .money import from_fen, to_fen

DEFAULT_SECRET_KEY = "sk_test_caseport"


# ----------------------------------------------------------------- configuration
def secret_key() -> str:
    return getattr(settings, "STRIPE_SECRET_KEY", DEFAULT_SECRET_KEY) or DEFAULT_SECRET_KEY


def api_base() -> str | None:
    return getattr(settings, "STRIPE_API_BASE", None) or None


def currency() -> str:
    return getattr(settings, "STRIPE_CURRENCY", "cny") or "cny"


@functools.lru_cache(maxsize=8)
def _client(key: str, base: str | None) -> stripe.StripeClient:
    options = {"base_addresses": {"api": base}} if base else {}
    # No retries inside the library: a retry is ours to make, with the same stored idempotency key.
    return stripe.StripeClient(key, max_network_retries=0, **options)


def client() -> stripe.StripeClient:
    return _client(secret_key(), api_base())


def api():
    """The v1 namespace of the configured client (StripeClient.customers… are deprecated aliases in v16)."""
    return client().v1


# ----------------------------------------------------------------- errors
# Stripe's card error codes (docs.stripe.com/declines/codes, docs.stripe.com/error-codes) → what we tell finance.
CARD_ERROR_REASONS = {
    "card_declined": _("The card was declined by the bank."),
    "insufficient_funds": _("The card has insufficient funds."),
    "expired_card": _("The card has expired."),
    "incorrect_cvc": _("The card's security code is incorrect."),
    "incorrect_number": _("The card number is incorrect."),
    "processing_error": _("The bank could not process the card; try again."),
    "authentication_required": _("The bank requires the card holder to authenticate this payment."),
    "payment_intent_authentication_failure": _("The card holder did not complete authentication."),
    "lost_card": _("The card was declined by the bank."),  # never tell the payer it is reported lost or stolen
    "stolen_card": _("The card was declined by the bank."),
    "no_payment_method": _("No card is on file for this lender: add one first."),
    "network": _("The payment provider could not be reached; nothing was charged twice. Try again."),
    "provider": _("The payment provider refused the request."),
}


def reason_for(code: str | None):
    """The translatable reason for a failure code (unknown codes: the generic decline)."""
    return CARD_ERROR_REASONS.get(code or "", CARD_ERROR_REASONS["card_declined"])


class GatewayError(Exception):
    """A Stripe call failed. ``code`` is a key of CARD_ERROR_REASONS (or Stripe's own code); ``retryable``
    says whether the same call, with the same idempotency key, may simply be tried again."""

    def __init__(self, code: str, message: str = "", *, retryable: bool = False, card: bool = False):
        super().__init__(message or code)
        self.code = code
        self.message = message or code
        self.retryable = retryable
        self.card = card  # the card was refused (Stripe's CardError): the intent itself says why

    @property
    def reason(self):
        return reason_for(self.code)


def _translate(error: stripe.StripeError) -> GatewayError:
    if isinstance(error, stripe.CardError):
        code = getattr(error.error, "decline_code", None) if error.error else None
        return GatewayError(
            code if code in CARD_ERROR_REASONS else (error.code or "card_declined"), error.user_message or str(error), card=True
        )
    if isinstance(error, stripe.APIConnectionError):
        return GatewayError("network", str(error), retryable=True)
    return GatewayError(getattr(error, "code", None) or "provider", getattr(error, "user_message", None) or str(error))


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as error:
        raise _translate(error) from error


# ----------------------------------------------------------------- customers and cards
def create_customer(*, name: str, reference: str, idempotency_key: str) -> str:
    """A Customer for one lender; returns its id (billing.accounts.ensure_customer stores it)."""
    customer = _call(
        api().customers.create,
        params={"name": name, "metadata": {"caseport_lender": reference}},
        options={"idempotency_key": idempotency_key},
    )
    return customer.id


@dataclass(frozen=True)
class CardOnFile:
    payment_method_id: str
    label: str  # "Visa ···· 4242"


def attach_test_card(*, customer_id: str, number: str, exp_month: int = 12, exp_year: int = 2034, cvc: str = "123") -> CardOnFile:
    """Create a card PaymentMethod from a Stripe *test* card number and make it the customer's default.

    Only for tests and the demo (localstripe, or Stripe's test mode). In production the card number never
    reaches our server: Stripe.js / Elements collects it in the browser and gives us a ``pm_…`` id, which
    ``attach_payment_method`` attaches (PCI DSS SAQ A scope)."""
    method = _call(
        api().payment_methods.create,
        params={"type": "card", "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}},
    )
    return attach_payment_method(customer_id=customer_id, payment_method_id=method.id)


def attach_payment_method(*, customer_id: str, payment_method_id: str) -> CardOnFile:
    """Attach a PaymentMethod (collected by Stripe.js in production) and make it the default for invoices."""
    method = _call(api().payment_methods.attach, payment_method_id, params={"customer": customer_id})
    _call(api().customers.update, customer_id, params={"invoice_settings": {"default_payment_method": method.id}})
    card = getattr(method, "card", None)
    label = f"{str(card.brand).title()} ···· {card.last4}" if card is not None else method.id
    return CardOnFile(payment_method_id=method.id, label=label)


# ----------------------------------------------------------------- payment intents
@dataclass(frozen=True)
class IntentState:
    """What we need of a PaymentIntent, fetched from Stripe: the fetched state decides, never the event payload."""

    id: str
    status: str  # Stripe's: requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled…
    amount: Decimal
    currency: str
    amount_refunded: Decimal = Decimal("0.00")
    error_code: str = ""
    error_message: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def refunded(self) -> bool:
        return self.status == "succeeded" and self.amount_refunded >= self.amount

    @property
    def failed(self) -> bool:
        return self.status == "canceled" or (self.status == "requires_payment_method" and bool(self.error_code))


def _intent_state(intent) -> IntentState:
    error = getattr(intent, "last_payment_error", None)
    charge = getattr(intent, "latest_charge", None)
    refunded = getattr(charge, "amount_refunded", 0) if charge is not None and not isinstance(charge, str) else 0
    metadata = intent.metadata.to_dict() if getattr(intent, "metadata", None) is not None else {}
    code = ""
    if error is not None:
        code = getattr(error, "decline_code", None) or getattr(error, "code", None) or "card_declined"
    return IntentState(
        id=intent.id,
        status=intent.status,
        amount=from_fen(int(intent.amount)),
        currency=intent.currency,
        amount_refunded=from_fen(int(refunded or 0)),
        error_code=code,
        error_message=(getattr(error, "message", "") or "") if error is not None else "",
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def create_payment_intent(
    *, amount: Decimal, customer_id: str, payment_method_id: str, idempotency_key: str, metadata: dict[str, str], description: str = ""
) -> IntentState:
    """Create (not yet confirm) a PaymentIntent for ``amount`` yuan, so its id can be stored before any money moves.

    ``description`` goes into metadata: localstripe refuses the ``description`` parameter."""
    meta = dict(metadata) | ({"description": description[:450]} if description else {})
    intent = _call(
        api().payment_intents.create,
        params={
            "amount": to_fen(amount),
            "currency": currency(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "metadata": meta,
        },
        options={"idempotency_key": idempotency_key},
    )
    return _intent_state(intent)


def confirm_payment_intent(intent_id: str, *, idempotency_key: str) -> IntentState:
    """Confirm (charge the card). A decline is not an exception here: the returned state carries the error."""
    try:
        _call(api().payment_intents.confirm, intent_id, options={"idempotency_key": idempotency_key})
    except GatewayError as error:
        if not error.card:
            raise
    return retrieve_payment_intent(intent_id)


def retrieve_payment_intent(intent_id: str) -> IntentState:
    """The PaymentIntent as Stripe has it now, with its latest charge expanded (the refund state lives there)."""
    return _intent_state(_call(api().payment_intents.retrieve, intent_id, params={"expand": ["latest_charge"]}))


def create_refund(*, intent_id: str, idempotency_key: str, amount: Decimal | None = None) -> str:
    params = {"payment_intent": intent_id} | ({"amount": to_fen(amount)} if amount is not None else {})
    return _call(api().refunds.create, params=params, options={"idempotency_key": idempotency_key}).id


# ----------------------------------------------------------------- subscriptions (Stripe Billing, legacy Plans)
# Thin calls for subscriptions/ (localstripe serves Products, legacy Plans, Subscriptions, Invoices; no Prices).
def create_product(*, name: str, idempotency_key: str) -> str:
    return _call(api().products.create, params={"name": name}, options={"idempotency_key": idempotency_key}).id


def create_plan(*, product_id: str, amount: Decimal, interval: str = "month", plan_id: str | None = None, idempotency_key: str) -> str:
    """A legacy Plan: ``amount`` yuan per unit and interval (real Stripe also accepts Plans; Prices are newer)."""
    params = {"product": product_id, "amount": to_fen(amount), "currency": currency(), "interval": interval}
    if plan_id:
        params["id"] = plan_id
    return _call(api().plans.create, params=params, options={"idempotency_key": idempotency_key}).id


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    status: str  # active, past_due, unpaid, canceled, incomplete…
    customer_id: str
    quantity: int
    latest_invoice_id: str
    latest_invoice_status: str
    current_period_end: int | None


def _subscription_state(sub) -> SubscriptionState:
    invoice = getattr(sub, "latest_invoice", None)
    items = getattr(sub, "items", None)
    quantity = 0
    try:
        quantity = int(sub["items"].data[0].quantity) if items is not None else 0
    except (AttributeError, IndexError, KeyError, TypeError):
        quantity = int(getattr(sub, "quantity", 0) or 0)
    return SubscriptionState(
        id=sub.id,
        status=sub.status,
        customer_id=sub.customer if isinstance(sub.customer, str) else sub.customer.id,
        quantity=quantity,
        latest_invoice_id=(invoice if isinstance(invoice, str) else getattr(invoice, "id", "")) or "",
        latest_invoice_status="" if invoice is None or isinstance(invoice, str) else str(invoice.status),
        current_period_end=getattr(sub, "current_period_end", None),
    )


def create_subscription(*, customer_id: str, plan_id: str, quantity: int, idempotency_key: str) -> SubscriptionState:
    sub = _call(
        api().subscriptions.create,
        params={"customer": customer_id, "items": [{"plan": plan_id, "quantity": quantity}], "expand": ["latest_invoice"]},
        options={"idempotency_key": idempotency_key},
    )
    return _subscription_state(sub)


def retrieve_subscription(subscription_id: str) -> SubscriptionState:
    return _subscription_state(_call(api().subscriptions.retrieve, subscription_id, params={"expand": ["latest_invoice"]}))


def cancel_subscription(subscription_id: str) -> SubscriptionState:
    return _subscription_state(_call(api().subscriptions.cancel, subscription_id))


@dataclass(frozen=True)
class InvoiceState:
    id: str
    status: str  # draft, open, paid, uncollectible, void
    amount_due: Decimal
    subscription_id: str


def _invoice_state(invoice) -> InvoiceState:
    sub = getattr(invoice, "subscription", None)
    return InvoiceState(
        id=invoice.id,
        status=str(invoice.status),
        amount_due=from_fen(int(invoice.amount_due or 0)),
        subscription_id=(sub if isinstance(sub, str) else getattr(sub, "id", "")) or "",
    )


def list_invoices(*, customer_id: str, limit: int = 20) -> list[InvoiceState]:
    return [_invoice_state(i) for i in _call(api().invoices.list, params={"customer": customer_id, "limit": limit}).data]


def retrieve_invoice(invoice_id: str) -> InvoiceState:
    return _invoice_state(_call(api().invoices.retrieve, invoice_id))


def pay_invoice(invoice_id: str, *, idempotency_key: str) -> InvoiceState:
    """Try to pay an open invoice with the customer's default payment method; a decline raises GatewayError."""
    return _invoice_state(_call(api().invoices.pay, invoice_id, options={"idempotency_key": idempotency_key}))


def set_default_payment_method(*, customer_id: str, payment_method_id: str) -> None:
    _call(api().customers.update, customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}})


# ----------------------------------------------------------------- webhooks
def construct_event(payload: bytes, signature: str, secret: str):
    """Verify Stripe-Signature over the raw body (HMAC-SHA256, 300 s tolerance) and parse the event.
    Raises ValueError (bad JSON) or stripe.SignatureVerificationError (missing, forged or stale)."""
    return stripe.Webhook.construct_event(payload, signature, secret)


SignatureError = stripe.SignatureVerificationError


# ----------------------------------------------------------------- Connect (payouts to partners)
class ConnectGateway(Protocol):
    def create_transfer(self, *, amount: Decimal, destination: str, transfer_group: str, idempotency_key: str, metadata: dict) -> str:
        """Send ``amount`` yuan from the platform's balance to a connected account; returns the transfer id."""

    def reverse_transfer(self, *, transfer_id: str, amount: Decimal, idempotency_key: str, metadata: dict) -> str:
        """Take ``amount`` yuan of a transfer back from the connected account; returns the reversal id."""


class StripeConnect:
    """Separate charges and transfers (docs.stripe.com/connect/separate-charges-and-transfers) on real Stripe."""

    def create_transfer(self, *, amount: Decimal, destination: str, transfer_group: str, idempotency_key: str, metadata: dict) -> str:
        transfer = _call(
            api().transfers.create,
            params={
                "amount": to_fen(amount),
                "currency": currency(),
                "destination": destination,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return transfer.id

    def reverse_transfer(self, *, transfer_id: str, amount: Decimal, idempotency_key: str, metadata: dict) -> str:
        """docs.stripe.com/connect/separate-charges-and-transfers#reversing-transfers: POST /v1/transfers/{id}/reversals."""
        reversal = _call(
            api().transfers.reversals.create,
            transfer_id,
            params={"amount": to_fen(amount), "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return reversal.id


@dataclass
class FakeTransfer:
    id: str
    amount_fen: int
    currency: str
    destination: str
    transfer_group: str
    idempotency_key: str
    metadata: dict


@dataclass
class FakeReversal:
    id: str
    transfer_id: str
    amount_fen: int
    idempotency_key: str
    metadata: dict


class FakeConnect:
    """In-memory Connect for tests and the localstripe demo (localstripe has no Connect). It honours
    idempotency keys the way Stripe does: the same key returns the first transfer."""

    def __init__(self):
        self.transfers: list[FakeTransfer] = []
        self.reversals: list[FakeReversal] = []
        self._by_key: dict[str, FakeTransfer | FakeReversal] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_next: GatewayError | None = None  # tests: the next call raises this

    def _raise_planned_failure(self):
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def reverse_transfer(self, *, transfer_id: str, amount: Decimal, idempotency_key: str, metadata: dict) -> str:
        with self._lock:
            self._raise_planned_failure()
            if idempotency_key in self._by_key:
                return self._by_key[idempotency_key].id
            transfer = next((t for t in self.transfers if t.id == transfer_id), None)
            if transfer is None:
                raise GatewayError("resource_missing", f"No such transfer: {transfer_id}")
            reversed_so_far = sum(r.amount_fen for r in self.reversals if r.transfer_id == transfer_id)
            if reversed_so_far + to_fen(amount) > transfer.amount_fen:
                raise GatewayError("invalid_request", "a reversal cannot exceed what is left of the transfer")
            reversal = FakeReversal(f"trr_fake_{next(self._ids):06d}", transfer_id, to_fen(amount), idempotency_key, dict(metadata))
            self.reversals.append(reversal)
            self._by_key[idempotency_key] = reversal
            return reversal.id

    def create_transfer(self, *, amount: Decimal, destination: str, transfer_group: str, idempotency_key: str, metadata: dict) -> str:
        with self._lock:
            self._raise_planned_failure()
            if idempotency_key in self._by_key:
                return self._by_key[idempotency_key].id
            transfer = FakeTransfer(
                f"tr_fake_{next(self._ids):06d}", to_fen(amount), currency(), destination, transfer_group, idempotency_key, dict(metadata)
            )
            self.transfers.append(transfer)
            self._by_key[idempotency_key] = transfer
            return transfer.id


FAKE_CONNECT = FakeConnect()


def connect() -> ConnectGateway:
    """Real Connect against api.stripe.com; the in-memory fake whenever STRIPE_API_BASE points elsewhere (localstripe)."""
    return FAKE_CONNECT if api_base() else StripeConnect()
