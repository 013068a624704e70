"""Integration tokens open nothing they should not: every path of both hosts, anonymous, with a token header.

A junk key, a revoked and an expired key of acme's, and a live key of the other lender (shown to acme's host, and
acme's own live key shown to beta's host and the public host) must each be refused everywhere — the
integration API answers 401/403, every other page sends the visitor to sign in (pages open to
everyone stay as open as without the header, and no more) — with no canary of the host lender's
data in the answer, GET and POST alike (POST with the body the API expects), and
nothing written to the database.
"""

import json

import pytest

from tests.isolation_support import (
    buildable_paths,
    leaked,
    response_text,
    run_unchanged,
)
from tests.test_isolation_matrix import OPEN_URLS, all_urls, owner_kwargs

PATHS = [(where, route, name) for where, route, name in all_urls() if name not in OPEN_URLS]
API_PREFIXES = ("/intake/api/", "/payments/api/")


def _refusal_problem(response, path):
    if response.status_code in (301, 302):
        return None if "/accounts/login/" in response["Location"] else f"redirected to {response['Location']}"
    if response.status_code in (401, 403, 404, 405):
        return None
    if path.startswith("/intake/api/schema/") and response.status_code == 200:
        return "the API schema answered a bad token"  # it is no data, but a bad token must still be refused
    return f"status {response.status_code}"


def _try(world, host, owner, header, label):
    from django.test import Client

    client = Client(HTTP_HOST=world.host(host) if host else "localhost", HTTP_AUTHORIZATION=header)
    plain = Client(HTTP_HOST=world.host(host) if host else "localhost")  # the same visitor without the header

    def send(method, path):
        if method == "get":
            return client.get(path)
        if path.startswith(API_PREFIXES):
            payload = [{"contract_no": "MATRIX-TOKEN-001", "paid_on": "2026-01-05", "amount": "1.00", "reference": "MATRIX-TOKEN-PAY"}]
            return client.post(path, json.dumps(payload), content_type="application/json")
        return client.post(path, {"note": "isolation matrix", "name": "isolation matrix"})

    requests = [
        ((method, path, name), lambda m=method, p=path: send(m, p))
        for where, _route, name, path in buildable_paths(PATHS, owner_kwargs(world))
        if (where == "tenant") == (host is not None)
        for method in ("get", "post")
    ]
    results, writes = run_unchanged(requests, [world.lenders[owner].schema_name, "public"])
    failures = [f"{write} on {host or 'public'} with {label}" for write in writes]
    for (method, path, name), response in results:
        problem = _refusal_problem(response, path)
        if problem and response.status_code == 200 and getattr(plain, method)(path).status_code == 200:
            problem = None  # a page open to everyone (sign-in help): the token opened nothing more than no token does
        found = leaked(response_text(response), world.canaries[owner])
        if problem:
            failures.append(f"{method.upper()} {path} [{name}] on {host or 'public'} with {label}: {problem}")
        if found:
            failures.append(f"{method.upper()} {path} [{name}] on {host or 'public'} with {label}: leaked {found}")
    return failures


def _expired_acme_key(world):
    import datetime

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from portal.intake.tokens import issue_token

    with tenant_context(world.lenders["acme"]):
        _token, key = issue_token(
            name="lapsed core system", created_by=world.people["acme_admin"].user, expires_at=timezone.now() - datetime.timedelta(days=1)
        )
    return key


def _beta_key(world):
    from django_tenants.utils import tenant_context

    from portal.intake.tokens import issue_token

    with tenant_context(world.lenders["beta"]):
        _token, key = issue_token(name="beta core system", created_by=world.people["beta_admin"].user)
    return key


def _revoked_acme_key(world):
    from django_tenants.utils import tenant_context

    from portal.intake.tokens import issue_token, revoke_token

    with tenant_context(world.lenders["acme"]):
        token, key = issue_token(name="retired core system", created_by=world.people["acme_admin"].user)
        assert revoke_token(token=token)
    return key


@pytest.mark.parametrize("kind", ["junk", "malformed", "revoked", "expired", "other-lender"])
def test_bad_tokens_are_refused_on_every_acme_path(kind, world, db):
    header = {
        "junk": lambda: "Token cpk_" + "x" * 43,
        "malformed": lambda: "Token not a key at all",
        "revoked": lambda: "Token " + _revoked_acme_key(world),
        "expired": lambda: "Token " + _expired_acme_key(world),
        "other-lender": lambda: "Token " + _beta_key(world),
    }[kind]()
    failures = _try(world, "acme", "acme", header, kind)
    assert not failures, "\n".join(failures)


def test_acme_token_opens_nothing_on_beta_or_the_public_host(world, db):
    header = "Token " + world.intake["key"]
    failures = _try(world, "beta", "beta", header, "acme's live token")
    failures += _try(world, None, "acme", header, "acme's live token")
    assert not failures, "\n".join(failures)


def test_a_live_token_is_accepted_where_it_belongs_so_the_refusals_mean_something(world, db):
    """Acme's live key on acme's host is let in by the API (its import-status endpoint answers 200)."""
    from django.test import Client

    client = Client(HTTP_HOST=world.host("acme"), HTTP_AUTHORIZATION="Token " + world.intake["key"])
    response = client.get(f"/intake/api/imports/{world.intake['batch'].pk}/")
    assert response.status_code == 200, response.content[:300]
