"""Who hears about a recorded (or reversed) payment.

The core records payments; the apps built on it react (outsourcing attributes the payment to the
placement in force on its date, computes the commission and re-evaluates promises to pay). They
register here at start-up so that the core never imports them (tenants ← portal ← outsourcing).
Listeners run inside the recording transaction: if one fails, nothing of the payment is kept.
"""

PAYMENT_LISTENERS: list = []
REVERSAL_LISTENERS: list = []
PARTNER_PAYMENT_SCOPES: list = []
PAYMENT_ANNOTATORS: list = []


def on_payment_recorded(listener):
    """``listener(payment=..., now=...)``, called once per new payment, inside its transaction."""
    if listener not in PAYMENT_LISTENERS:
        PAYMENT_LISTENERS.append(listener)
    return listener


def on_payment_reversed(listener):
    """``listener(reversal=..., now=...)``, called once per reversal, inside its transaction."""
    if listener not in REVERSAL_LISTENERS:
        REVERSAL_LISTENERS.append(listener)
    return listener


def register_partner_payment_scope(scope):
    """``scope(principal)`` returns a Q over Payment selecting the payments a partner may see (its own lines)."""
    if scope not in PARTNER_PAYMENT_SCOPES:
        PARTNER_PAYMENT_SCOPES.append(scope)


def notify(payment, *, now):
    for listener in PAYMENT_LISTENERS:
        listener(payment=payment, now=now)


def notify_reversal(reversal, *, now):
    for listener in REVERSAL_LISTENERS:
        listener(reversal=reversal, now=now)


def register_payment_annotator(annotator):
    """``annotator(payment_ids) -> {payment_id: {"partner": str, "commission": Decimal, "rate": Decimal, ...}}``:
    what an app knows about payments (outsourcing: the agency and commission), shown beside them."""
    if annotator not in PAYMENT_ANNOTATORS:
        PAYMENT_ANNOTATORS.append(annotator)


def annotations(payment_ids) -> dict:
    merged: dict = {}
    for annotator in PAYMENT_ANNOTATORS:
        for payment_id, values in annotator(list(payment_ids)).items():
            merged.setdefault(payment_id, {}).update(values)
    return merged
