"""Test scaffolding: the real PostgreSQL, one committed cast of personas, and clients for them.

pytest-django creates the test database and migrates the public schema;
here we create the lender template and the World once per session, committed
(outside any test transaction), so that every test — including those that
use a live server or a real Celery worker in another process — sees it.
Ordinary tests then run inside a transaction that is rolled back.
"""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_tenants.utils import tenant_context

from tests.world import build_world


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Always create the test database (pytest-django skips it when no collected test is marked
    django_db, e.g. a run of only the worker tests), then the platform and lender template."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
        call_command("bootstrap_platform", verbosity=0)
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker):
    from tests.test_isolation_matrix import matrix_modules

    with django_db_blocker.unblock():
        built = build_world()
        for module in matrix_modules():  # areas add the objects their URLs need
            if hasattr(module, "extend_world"):
                module.extend_world(built)
                connection.set_schema_to_public()
        connection.set_schema_to_public()
    return built


@pytest.fixture
def acme(world, db):
    """The world, with acme's schema active: build and query acme's cases directly (tests.factories)."""
    with tenant_context(world.lenders["acme"]):
        yield world


@pytest.fixture
def beta(world, db):
    """The world, with beta's schema active."""
    with tenant_context(world.lenders["beta"]):
        yield world


@pytest.fixture(autouse=True)
def _english_pages(settings):
    """Assertions read English text; the zh-hans default is covered by test_i18n and the browser tests."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _public_schema_after_each_test():
    yield
    connection.set_schema_to_public()


@pytest.fixture
def client_for(world, db):
    """client_for("x_admin", host="acme") -> a signed-in Client on that host (2FA verified where due)."""

    def make(persona_key, host=None):
        persona = world.people[persona_key]
        client = Client(HTTP_HOST=world.host(host) if host else "localhost")
        user = type(persona.user).objects.get(pk=persona.user.pk)  # fresh: tests must not share mutated objects
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        if persona.device is not None:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = persona.device.persistent_id
            session.save()
        return client

    return make


@pytest.fixture
def anon_client():
    def make(host=None):
        return Client(HTTP_HOST=f"{host}.localhost" if host else "localhost")

    return make
