"""No writes on GET (issue item 15): reading a page changes nothing in the database.

A GET may be repeated, prefetched or replayed by a browser, a proxy or a crawler; it must be safe (RFC 9110 §9.2.1).
Every page of the isolation matrix is fetched by its owners (acme's admin, the placed agency's admin and its assigned
collector on the lender host; each public page's owners on the public host) and every table of acme's schema and of
the public schema must be exactly as before. The audit log and the session table are not compared: recording that a
page was viewed is what an audit log is for (tests/isolation_support.py FINGERPRINT_EXCLUDED).

The world is given the state that used to tempt a page into writing: a call the collector left open on a placement
that has ended since (the queue and the case page used to close it on the spot).
"""

import pytest
from django.db import connection

from outsourcing.models import Placement, PlacementStatus
from outsourcing.workbench import services as workbench
from outsourcing.workbench.models import ContactAttempt
from tests.isolation_support import buildable_paths, response_text, run_unchanged
from tests.matrix_workbench import at, in_acme, make_case
from tests.test_isolation_matrix import OPEN_URLS, PUBLIC_OWNERS, all_urls, owner_kwargs

TENANT_OWNERS = ["acme_admin", "x_admin", "x_collector"]


def _stale_call(world):
    """An attempt x_collector left open under a placement of acme's that was recalled since."""
    with in_acme(world):
        case, placement = make_case(world, "NO-GET-WRITE-001")
        attempt = workbench.start_attempt(
            case=case,
            placement=placement,
            agency=world.orgs["xagency"],
            collector=world.people["x_collector"].user,
            channel="phone",
            number_kind="mobile",
            now=at(10),
        )
        Placement.objects.filter(pk=placement.pk).update(status=PlacementStatus.RECALLED, ended_at=at(10, 5))
    connection.set_schema_to_public()
    return attempt


def _gets(world, client_for):
    kwargs = owner_kwargs(world)
    urls = [(where, route, name) for where, route, name in all_urls() if name not in OPEN_URLS]
    requests = []
    clients = {}
    for where, _route, name, path in buildable_paths(urls, kwargs):
        if where == "tenant":
            personas, host = TENANT_OWNERS, "acme"
        else:
            personas, host = sorted(PUBLIC_OWNERS.get(name, {"platform"})), None
        for persona in personas:
            if (persona, host) not in clients:
                clients[persona, host] = client_for(persona, host=host)
            client = clients[persona, host]
            requests.append((f"GET {path} [{name}] as {persona}", lambda c=client, p=path: c.get(p)))
    return requests


@pytest.mark.django_db
def test_every_page_of_the_matrix_read_by_its_owners_writes_nothing(world, client_for):
    stale = _stale_call(world)
    requests = _gets(world, client_for)
    assert len(requests) > 100  # the whole matrix, not a handful of pages
    results, writes = run_unchanged(requests, [world.lenders["acme"].schema_name, "public"])
    assert writes == []
    errors = [f"{label}: {response.status_code}" for label, response in results if response.status_code >= 500]
    assert errors == []
    assert any("[workbench-queue] as x_collector" in label and response.status_code == 200 for label, response in results)
    for _label, response in results:
        response_text(response)
    with in_acme(world):
        assert ContactAttempt.objects.get(pk=stale.pk).outcome == ""  # still open: only an action closes it
