"""Subscriptions' fixtures: a real localstripe for the session, and the read-only machinery switched on.

The real ``stripe`` library talks to localstripe (STRIPE_API_BASE), never a fake of Stripe's answers.
"""

import os

import pytest

from billing.testing import start_localstripe, stop_localstripe

PORT = int(os.environ.get("SUBSCRIPTIONS_LOCALSTRIPE_PORT", "8522"))
MIDDLEWARE = "subscriptions.middleware.ReadOnlyTenantMiddleware"
CONTEXT = "subscriptions.context.billing_banner"


@pytest.fixture(scope="session")
def localstripe_url():
    """A real localstripe on 127.0.0.1 for the session (billing.testing: memory only, loopback only)."""
    process, base_url = start_localstripe(PORT)
    try:
        yield base_url
    finally:
        stop_localstripe(process)


@pytest.fixture
def webhook_open():
    """Stripe posts without a session: the webhook must be among portal.middleware.OPEN_PREFIXES."""
    from portal import middleware

    assert "/stripe/webhook/".startswith(middleware.OPEN_PREFIXES)


@pytest.fixture
def stripe_server(settings, localstripe_url):
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_caseport"
    settings.STRIPE_CURRENCY = "cny"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_subscriptions_tests"
    return localstripe_url


@pytest.fixture
def read_only_stack(settings):
    """The read-only machinery as config/settings/base.py lists it: the middleware right after
    TenantAccessMiddleware, the banner's context processor beside config.navigation.shell."""
    assert settings.MIDDLEWARE[settings.MIDDLEWARE.index("portal.middleware.TenantAccessMiddleware") + 1] == MIDDLEWARE
    assert CONTEXT in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    return settings
