"""A live Caseport server and a headless Chromium for the browser tests.

pytest-django's ``live_server`` needs ``transactional_db``, whose teardown
flushes every table — it would wipe the committed session-wide ``world``. So
this module runs its own server: Django's LiveServerThread (the same
ThreadedWSGIServer + StaticFilesHandler), started after the world is built,
with database access unblocked for as long as it serves. Each request thread
opens (and on closing the socket, closes) its own connection to the test
database; nothing is shared with the main thread's connection, so what the
browser changes is committed.

Lender hosts are ``<slug>.localhost:<port>``; Chromium resolves ``*.localhost``
to the loopback address by itself. ``PUBLIC_SCHEME``/``PUBLIC_PORT`` are
overridden while the server runs so the enter-workspace redirect points at it.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from django_otp.oath import TOTP

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]


class _JoiningServer(ThreadedWSGIServer):
    """Join the request threads on close, so each has closed its database connection
    before the test database is dropped at the end of the session."""

    daemon_threads = False
    block_on_close = True


class _ServerThread(LiveServerThread):
    server_class = _JoiningServer


def _static_only(media_handler):
    """LiveServerThread would also serve MEDIA_URL straight from disk; Caseport serves
    uploads only through authorising views, so serve the app and /static/ only."""
    return StaticFilesHandler(WSGIHandler())


@dataclass
class LiveApp:
    port: int

    def url(self, path="/", host=None):
        """url("/cases/", host="acme") -> http://acme.localhost:<port>/cases/"""
        name = f"{host}.localhost" if host else "localhost"
        return f"http://{name}:{self.port}{path}"


@pytest.fixture(scope="module")
def live_app(world, django_db_blocker):
    """Serve the app over HTTP on a free port for the tests of one module."""
    with django_db_blocker.unblock():
        thread = _ServerThread("127.0.0.1", _static_only, connections_override=None, port=0)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error:
            raise thread.error
        try:
            with override_settings(PUBLIC_SCHEME="http", PUBLIC_PORT=str(thread.port)):
                yield LiveApp(port=thread.port)
        finally:
            thread.terminate()


@pytest.fixture(scope="module")
def chromium(live_app):
    """One headless Debian Chromium per module (closed before the server stops)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium):
    """new_page(locale="en-US", viewport=None) -> a page in a fresh context (its own cookies)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    contexts = []

    def make(locale="en-US", viewport=None, **options):
        if viewport is not None:
            options["viewport"] = viewport
        context = chromium.new_context(locale=locale, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and not _favicon(message.location.get("url", ""))
                and problems.append(f"{page.url}: console: {message.text} ({message.location.get('url')})")
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"{page.url}: script error: {error}"))
        page.on(
            "response",
            lambda response: response.status >= 400 and not _favicon(response.url) and problems.append(f"{response.status} {response.url}"),
        )
        return page

    problems = []
    yield make
    for context in contexts:
        context.close()
    # A blocked script or stylesheet (CSP), a broken static URL or a script error is a bug
    # a person would notice only as a page that quietly does not work.
    assert not problems, problems


def _favicon(url):
    # Caseport has no favicon; Chromium asks for one on every host (a harmless 404).
    return url.split("?")[0].endswith("/favicon.ico")


def shot(page, name):
    """A full-page screenshot into test-artifacts/browser/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def current_code(device):
    """A code the device accepts right now, as an authenticator app would show it.

    Read fresh from the database: django-otp refuses a time step at or before the
    last one used (``last_t``), so if this device was already used in the current
    step, take the next step (within the device's tolerance).
    """
    fresh = off_the_event_loop(lambda: type(device).objects.get(pk=device.pk))
    totp = TOTP(fresh.bin_key, fresh.step, fresh.t0, fresh.digits, fresh.drift)
    totp.time = time.time()
    if totp.t() <= fresh.last_t:
        totp.time += (fresh.last_t + 1 - totp.t()) * fresh.step
        assert totp.t() - (time.time() - fresh.t0) // fresh.step <= fresh.tolerance, "device used too recently"
    return f"{totp.token():06d}"


def off_the_event_loop(func):
    """Run a database query from a test body.

    Playwright's sync API keeps an asyncio loop running in the main thread, and
    Django refuses synchronous database calls there; so query from a short-lived
    thread with its own connection, closed afterwards.
    """

    def run():
        try:
            return func()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def restore_totp(world):
    """restore_totp("acme_admin"): after the test, put that persona's device back as it was.

    A code accepted through the browser is committed (django-otp stores the time step
    as ``last_t`` and refuses it again); without this, a later test computing a code in
    the same 30 seconds would be refused.
    """
    saved = {}

    def remember(persona_key):
        device = world.people[persona_key].device
        saved[device.pk] = (type(device), off_the_event_loop(lambda: type(device).objects.values_list("last_t", "drift").get(pk=device.pk)))

    yield remember
    for pk, (model, (last_t, drift)) in saved.items():
        off_the_event_loop(
            lambda model=model, pk=pk, last_t=last_t, drift=drift: model.objects.filter(pk=pk).update(last_t=last_t, drift=drift)
        )


def no_horizontal_overflow(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def scroll_widths(page):
    return page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")


def in_lender(lender, func):
    """``func()`` in ``lender``'s schema, off the browser's event loop (the ORM refuses to run on it); its value."""
    from django_tenants.utils import tenant_context

    box = {}

    def work():
        with tenant_context(lender):
            box["value"] = func()
        connections["default"].set_schema_to_public()

    off_the_event_loop(work)
    return box["value"]


def drop_journey_lender(lender, *, org_ids, users):
    """Remove a journey's own lender (schema dropped), its partners' organisations and memberships, and deactivate
    its people: nothing a journey committed is left for other tests."""
    from django.db import connection

    from billing.models import BillingAccount, Charge, ConnectedAccount, Transfer
    from tenants.models import Domain, Engagement, Licence, Membership, User

    # Its Stripe records in the public schema (what a journey paid with and paid out).
    Transfer.objects.filter(charge__lender=lender).delete()
    Charge.objects.filter(lender=lender).delete()
    BillingAccount.objects.filter(lender=lender).delete()
    ConnectedAccount.objects.filter(organisation_id__in=org_ids).delete()
    Engagement.objects.filter(lender=lender).delete()
    Membership.objects.filter(organisation_id__in=org_ids).delete()
    User.objects.filter(pk__in=[user.pk for user in users]).update(is_active=False)
    Domain.objects.filter(tenant=lender).delete()
    lender.delete(force_drop=True)
    connections["default"].set_schema_to_public()
    # Organisations are referenced by tenant tables too, so Django's collector would look for them in the public
    # schema; the lender's schema is gone, and nothing public refers to these any more.
    Licence.objects.filter(organisation_id__in=org_ids).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenants_organisation WHERE id = ANY(%s)", [org_ids])
