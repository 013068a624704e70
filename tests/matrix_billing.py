"""Billing's part of the isolation matrix: the Stripe webhook on the public host.

It carries no one's data and no session opens it: Stripe authenticates each request with the
Stripe-Signature HMAC over the raw body. So it is an open URL (with the reason), and
tests/billing/test_webhook_isolation.py checks what the matrix would: every persona and an anonymous
caller get 400 for an unsigned or forged request (405 for GET), nothing is stored, no canary appears.
"""

OPEN_URLS = {
    "stripe-webhook": (
        "Stripe's webhook: authenticated by the Stripe-Signature HMAC over the raw body, not by a session; "
        "unsigned or forged requests get 400, store nothing and show nothing (tests/billing/test_webhook_isolation.py)"
    ),
}

# No function-level action: the signature, not a role, opens it.
URL_ACTIONS = {"stripe-webhook": None}


def owner_kwargs(world):
    return {}
