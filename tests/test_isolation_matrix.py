"""The isolation matrix: every URL of the project, tried by everyone who must not see the owner's data.

It walks both URLconfs (public host and lender host), so a URL added later
is exercised automatically — or fails `test_every_url_is_in_the_matrix`
until it is given a way to build its arguments or an exemption with a reason.
Outsiders are every persona of the other lender and of an unengaged partner,
plus anonymous visitors; each request must be refused (403/404, or a
redirect to sign-in) and no canary of the owner's data may appear in it.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.world import CAST

DENIED = {403, 404, 405}


def matrix_modules():
    """tests/matrix_<area>.py modules: each may define extend_world(world) and owner_kwargs(world)."""
    import importlib
    import pathlib

    return [importlib.import_module(f"tests.{path.stem}") for path in sorted(pathlib.Path(__file__).parent.glob("matrix_*.py"))]


LOGIN_PATHS = ("/accounts/login/", "/accounts/2fa/")


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def all_urls():
    return [("tenant", route, name) for route, name in walk(get_resolver("config.urls_tenant").url_patterns)] + [
        ("public", route, name) for route, name in walk(get_resolver("config.urls_public").url_patterns)
    ]


# URLs that carry no data of anyone, with the reason they are outside the matrix's question.
OPEN_URLS = {
    "login": "the sign-in form; shows no data",
    "logout": "ends the caller's own session",
    "two-factor": "verifies the caller's own device",
    "two-factor-setup": "enrols the caller's own device",
    "set_language": "sets the caller's own language cookie",
    "healthz": "liveness probe; returns {'status': 'ok'} only",
    "account": "the caller's own account page",
    "password_change": "changes the caller's own password",
    "password_change_done": "a confirmation; shows no data",
    "password_reset": "asks for a reset link by email; shows no data (the same answer for any address)",
    "password_reset_done": "a confirmation; shows no data",
    "password_reset_confirm": "opened by the emailed one-time link; a wrong link shows no data",
    "password_reset_complete": "a confirmation; shows no data",
    "accept-invitation": "opened by the emailed one-time link; a wrong link shows no data",
}
# Areas add their own open URLs, each with its reason, in tests/matrix_<area>.py (``OPEN_URLS``).
for _module in matrix_modules():
    OPEN_URLS.update(getattr(_module, "OPEN_URLS", {}))


def owner_kwargs(world):
    """How to build each URL's arguments from the owner's (lender acme's, partner X's) objects.

    Areas add their own in tests/matrix_<area>.py (``owner_kwargs(world) -> dict``).
    """
    extra = {}
    for module in matrix_modules():
        extra.update(module.owner_kwargs(world))
    return extra | {
        "case_id": world.cases["acme_placed"].pk,
        "job_id": world.jobs["acme"].pk,
        "membership_id": world.people["acme_manager"].user.memberships.get().pk,
        "engagement_id": world.lenders["acme"].engagements.get(partner=world.orgs["xagency"]).pk,
        "ticket_id": uuid.uuid4(),
        "org_id": world.orgs["xagency"].pk,
        "licence_id": world.orgs["xagency_licence"].pk,
        "certificate_id": world.certificate.pk,
        "user_id": world.people["x_collector"].user.pk,
        # Django's password reset link: a user id (base64) and a token; a made-up pair changes nothing and reveals nothing.
        "uidb64": "MQ",
        "token": "x" * 43,
    }


# Which function-level action (portal.access.PERMISSIONS) guards each URL: one place, with each area's
# tests/matrix_<area>.py adding its own URL_ACTIONS. An action name; a tuple (any of them opens the URL); a dict
# {"get": ..., "post": ...} when the two methods ask different things; or None: no function-level action (every
# member of the workspace, or the caller's own account), the object rules alone decide.
# tests/test_isolation_within_lender.py tries each lender role on every URL whose action it lacks.
URL_ACTIONS = {
    # lender host
    "home": None,
    "handoff": None,
    "case-list": "case.list",
    "case-detail": "case.view",
    "case-reveal-id": "case.reveal_id",
    "audit-log": "audit.view",
    "audit-export": "audit.export",
    "job-detail": "job.view",
    "job-progress": "job.view",
    "job-download": "job.view",
    "team": "team.manage",
    "team-deactivate": "team.manage",
    "engagements": "engagement.manage",
    "engagement-status": "engagement.manage",
    # public host
    "enter-workspace": None,
    "partner-team": "partner.team",
    "partner-team-deactivate": "partner.team",
    "platform-lenders": "platform.manage",
    "platform-organisations": "platform.manage",
    "platform-organisation": "platform.manage",
    "platform-licence-verify": "platform.manage",
    "platform-licence-document": "platform.manage",
    "platform-certificate-verify": "platform.manage",
    "platform-user-disable": "platform.manage",
}


PUBLIC_SLUGS = {"enter-workspace": "acme", "partner-team": "xagency", "partner-team-deactivate": "xagency"}


def build_path(route, name, kwargs):
    path = "/" + route.replace("^", "").replace("$", "")
    for key, value in kwargs.items():
        for converter in ("uuid", "int", "slug", "str"):
            path = path.replace(f"<{converter}:{key}>", str(value))
    if "<slug:slug>" in path:
        path = path.replace("<slug:slug>", PUBLIC_SLUGS[name])
    assert "<" not in path, f"{name}: no argument factory for {path}"
    return path


# On the public host each URL has its own owners; everyone else is an outsider.
ACME_SIDE = {key for key, org, _ in CAST if org in ("acme", "xagency", "yagency", "lfirm")}
PUBLIC_OWNERS = {
    "home": {"x_admin", "x_collector"},  # their combined work list shows acme cases placed with them
    "enter-workspace": ACME_SIDE,  # acme's staff and the partners acme engages
    "partner-team": {"x_admin"},
    "partner-team-deactivate": {"x_admin"},
}


def outsiders_for(where, name):
    """Every persona of the other lender and of an unengaged partner; on the public host, everyone but the URL's owners."""
    if where == "tenant":
        return [key for key, org, _ in CAST if org in ("beta", "zagency")]
    owners = PUBLIC_OWNERS.get(name, {"platform"})
    return [key for key, _, _ in CAST if key not in owners]


def assert_refused(response, name, persona, world, owner="acme"):
    body = response.content.decode("utf-8", "replace")
    for canary in world.canaries[owner]:
        assert canary not in body, f"{name} as {persona}: canary {canary!r} leaked"
    if response.status_code in (301, 302):
        assert response["Location"].split("?")[0].endswith(LOGIN_PATHS) or "/accounts/" in response["Location"], (
            f"{name} as {persona}: redirected to {response['Location']}"
        )
    else:
        assert response.status_code in DENIED, f"{name} as {persona}: status {response.status_code}"


def test_every_url_is_in_the_matrix(world, db):
    kwargs = owner_kwargs(world)
    for _where, route, name in all_urls():
        if name in OPEN_URLS:
            continue
        build_path(route, name, kwargs)  # raises if the matrix cannot exercise it


def test_every_url_declares_its_action(world, db):
    """A URL nobody said the action of cannot be tried by the roles that lack it: declare it in URL_ACTIONS."""
    from portal.access import PERMISSIONS
    from tests.isolation_support import actions_of, url_actions

    declared = url_actions()
    missing = sorted({name for where, route, name in all_urls() if name not in OPEN_URLS and name not in declared})
    assert not missing, f"declare the action of these URLs in URL_ACTIONS (tests/matrix_<area>.py): {missing}"
    for name, value in declared.items():
        for action in (v for part in (value.values() if isinstance(value, dict) else [value]) for v in actions_of(part)):
            assert action in PERMISSIONS, f"{name}: unknown action {action!r}"


MATRIX = [(where, route, name) for where, route, name in all_urls() if name not in OPEN_URLS]


@pytest.mark.parametrize("where,route,name", MATRIX, ids=[f"{w}:{n}" for w, _, n in MATRIX])
def test_outsiders_are_refused_everywhere(where, route, name, world, client_for, anon_client):
    path = build_path(route, name, owner_kwargs(world))
    hosts = ["acme", "beta"] if where == "tenant" else [None]
    for persona in outsiders_for(where, name):
        for host in hosts:
            if where == "tenant" and host == "beta" and not persona.startswith("beta"):
                continue
            client = client_for(persona, host=host)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                if where == "public" and name == "home":
                    # Everyone has a home page; it must simply not show the owner's data.
                    assert response.status_code in (200, 302)
                    assert_refused_body_only(response, name, persona, world)
                    continue
                if where == "tenant" and host == "beta" and "<" not in route:
                    # A beta person on their own host, on a page without acme's ids: their own page, none of acme's data.
                    assert_refused_body_only(response, name, persona, world)
                    continue
                assert_refused(response, f"{where}:{name}@{host}", persona, world)
    for host in hosts:
        response = anon_client(host).get(path)
        if not (where == "public" and name == "home"):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], (
                f"{name}: anonymous got {response.status_code}"
            )


def assert_refused_body_only(response, name, persona, world):
    body = response.content.decode("utf-8", "replace")
    for canary in world.canaries["acme"]:
        assert canary not in body, f"{name} as {persona}: canary {canary!r} leaked"


@pytest.mark.parametrize("persona", ["acme_admin", "acme_manager"])
def test_owner_sees_the_canaries_so_the_matrix_can_fail(persona, world, client_for):
    """The matrix's canary search is only meaningful if the owner's pages do contain them."""
    client = client_for(persona, host="acme")
    detail = client.get(f"/cases/{world.cases['acme_placed'].pk}/")
    assert detail.status_code == 200
    assert "甲金丝雀" in detail.content.decode()
    listing = client.get("/cases/").content.decode()
    assert "ACME-CANARY-001" in listing and "ACME-CANARY-003" in listing


CASE_URLS = ["/cases/{id}/", "/cases/{id}/reveal-id/"]


@pytest.mark.parametrize(
    "persona,case_key",
    [
        ("y_admin", "acme_placed"),  # engaged with acme, case placed with X
        ("y_collector", "acme_placed"),
        ("y_admin", "acme_recalled"),  # Y's own placement, recalled: gone at once
        ("x_collector2", "acme_placed"),  # same agency, not assigned to them
        ("x_admin", "acme_unplaced"),  # never placed with anyone
        ("x_admin", "acme_recalled"),
        ("l_lawyer", "acme_placed"),  # law firm: no matter, no case
    ],
)
def test_engaged_partners_see_only_what_is_placed_or_assigned_to_them(persona, case_key, world, client_for):
    client = client_for(persona, host="acme")
    case = world.cases[case_key]
    for template in CASE_URLS:
        response = client.post(template.format(id=case.pk)) if "reveal" in template else client.get(template.format(id=case.pk))
        assert response.status_code in DENIED
        assert case.contract_no not in response.content.decode()
    listing = client.get("/cases/").content.decode()
    assert case.contract_no not in listing
