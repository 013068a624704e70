"""Who hears about a charge's outcome, who is paid out of it, and who handles the other Stripe events.

billing sits below the portal and the apps (tenants ← billing ← portal ← apps): it never imports them.
They register here at start-up (their AppConfig.ready), like portal.payments.hooks:

- ``register_charge_handler(purpose, handler)``: ``handler(charge, *, outcome, now)`` with outcome in
  {"succeeded", "failed", "refunded"}, called once per outcome, inside ``schema_context(charge.lender.schema_name)``
  and inside the transaction that records the Stripe event: if it raises, neither is kept and the event is
  processed again later. For a refund that arrives before the payment was seen, "succeeded" is called
  first, then "refunded", so a handler always sees a payment before its reversal.
- ``register_payout(purpose, payees)``: ``payees(charge) -> [(organisation, Decimal amount), …]`` (called in
  the lender's schema); each payee with a ConnectedAccount gets one Transfer, once, after success.
- ``register_event_handler(prefix, handler)``: ``handler(event, now)`` for other event types starting with
  ``prefix`` (e.g. "customer.subscription.", "invoice."), run in the public schema inside the event's
  transaction; it returns a short outcome text (or None).
"""

from __future__ import annotations

from collections.abc import Callable

OUTCOMES = ("succeeded", "failed", "refunded")

CHARGE_HANDLERS: dict[str, Callable] = {}
PAYOUTS: dict[str, Callable] = {}
EVENT_HANDLERS: dict[str, Callable] = {}


def register_charge_handler(purpose: str, handler: Callable) -> Callable:
    CHARGE_HANDLERS[purpose] = handler
    return handler


def register_payout(purpose: str, payees: Callable) -> Callable:
    PAYOUTS[purpose] = payees
    return payees


def register_event_handler(prefix: str, handler: Callable) -> Callable:
    EVENT_HANDLERS[prefix] = handler
    return handler


def event_handler_for(event_type: str) -> Callable | None:
    """The handler registered for the longest prefix of ``event_type``."""
    matches = [prefix for prefix in EVENT_HANDLERS if event_type.startswith(prefix)]
    return EVENT_HANDLERS[max(matches, key=len)] if matches else None
