"""Real concurrency for tests: a lender of a module's own (its rows committed, its schema dropped afterwards) and
two threads, each with its own connection, released together.

Append-only rows (payments, reversals, ledger entries) are never deleted by design, so the lender goes as a whole.
"""

import threading

from django.db import connections
from django_tenants.utils import tenant_context

WAIT = 30  # seconds; only guards against a hang, never part of what is asserted


def create_race_lender(slug: str, name: str):
    from tenants import services as tenant_services

    lender = tenant_services.create_lender(slug=slug, name=name)
    connections["default"].set_schema_to_public()
    return lender


def drop_race_lender(lender) -> None:
    from django.db import connection

    from tenants.models import Domain

    org_id = lender.organisation_id
    Domain.objects.filter(tenant=lender).delete()
    lender.delete(force_drop=True)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenants_organisation WHERE id = %s", [org_id])
    connections["default"].set_schema_to_public()


def both_at_once(lender, django_db_blocker, work, *, wrap=None):
    """Run work(name) for "a" and "b" on two threads, each with its own connection, in ``lender``'s schema, released
    together by a barrier; returns {name: result or the exception raised}. ``wrap()``, if given, is a context
    manager entered around the barrier and the work (e.g. transaction.atomic: both hold a transaction open)."""
    barrier = threading.Barrier(2)
    outcomes = {}

    def run(name):
        try:
            with tenant_context(lender):
                if wrap is None:
                    barrier.wait(WAIT)
                    outcomes[name] = work(name)
                else:
                    with wrap():
                        barrier.wait(WAIT)
                        outcomes[name] = work(name)
        except Exception as error:  # surfaced by the assertions
            outcomes[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    with django_db_blocker.unblock():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
            assert not thread.is_alive(), "hung"
    return outcomes
