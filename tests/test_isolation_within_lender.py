"""Isolation inside one lender: the people acme works with, and acme's own staff, on what is not theirs.

tests/test_isolation_matrix.py tries everything as the other lender and an unengaged agency. Here the
refused persona is inside acme's workspace, where a mistake is likelier and costlier:

* agency Y, engaged by acme with nothing placed (its one placement was recalled);
* X's second collector, of the agency the case is placed with, but not assigned it;
* the law firm acme engages, with no matter yet;
* each of acme's own roles, on every URL whose action (portal.access.PERMISSIONS, via URL_ACTIONS) it lacks.

Each tries GET and POST — with a valid CSRF token of its own and the body the URL's form really expects,
taken from the owners' pages — so a refusal cannot come from a missing token or an empty form. Each
request must be refused (403/404/405, or a redirect to sign-in; object refusals are 404 by convention),
show no canary of acme's data (names, ID numbers, amounts, phones, bank references), and leave every
table of acme's schema and of the public schema exactly as it was.
"""

import datetime
import json

import pytest
from django.db import connection, transaction

from tests.isolation_support import (
    FormIndex,
    actions_of,
    buildable_paths,
    csrf_client,
    leaked,
    post_bodies,
    post_with_csrf,
    response_text,
    role_may,
    run_unchanged,
    url_actions,
)
from tests.test_isolation_matrix import (
    DENIED,
    LOGIN_PATHS,
    OPEN_URLS,
    all_urls,
    owner_kwargs,
)

# Those whose pages hold the forms the refused personas send (the lender's admin, the placed agency's admin and assigned collector).
OWNERS = ["acme_admin", "x_admin", "x_collector"]
PARTNERS_WITHOUT_THE_CASE = ["y_admin", "y_collector", "x_collector2", "l_lawyer", "l_paralegal"]
LENDER_ROLES = ["acme_admin", "acme_manager", "acme_legal", "acme_finance", "acme_lawyer"]
# What the world's cases themselves carry (tests/world.py): every debtor's mobile, in full and masked, and each case's
# balance (15,000.00 principal + 812.35 interest). A partner without any of these cases must meet none of it.
WORLD_CASE_DATA = ["13800138000", "138****8000", "15,812.35", "15812.35"]

TENANT_URLS = [(where, route, name) for where, route, name in all_urls() if where == "tenant" and name not in OPEN_URLS]


def tenant_paths(world, objects_only=None):
    """(route, name, path) of every lender-host URL the matrix can build; objects_only: True (with ids), False (without)."""
    return [
        (route, name, path)
        for _, route, name, path in buildable_paths(TENANT_URLS, owner_kwargs(world))
        if objects_only is None or ("<" in route) == objects_only
    ]


def api_bodies(world):
    """The JSON the integration endpoints expect: one well-formed row each, so only access can stop them."""
    today = datetime.date.today().isoformat()
    return {
        "intake-api-cases": (
            "?commit=1",
            [
                {
                    "contract_no": "MATRIX-API-001",
                    "product": "随心贷",
                    "borrower_name": "矩阵测试",
                    "id_number": "210202198811225617",
                    "mobile": "13700002222",
                    "loan_amount": "1000.00",
                    "principal_due": "900.00",
                    "overdue_since": "2025-01-01",
                }
            ],
        ),
        "payment-api": (
            "",
            [{"contract_no": world.cases["acme_placed"].contract_no, "paid_on": today, "amount": "1.00", "reference": "MATRIX-API-PAY-1"}],
        ),
        "payment-api-reversal": ("", {"reference": world.payments["payment"].reference, "reason": "error", "note": "isolation matrix"}),
    }


@pytest.fixture(scope="module")
def forms(world, django_db_blocker):
    """Crawl every lender-host page as its owners, once, in a transaction rolled back afterwards."""
    index = FormIndex()
    with django_db_blocker.unblock(), transaction.atomic():
        clients = [csrf_client(world, owner, "acme") for owner in OWNERS]
        for _route, _name, path in tenant_paths(world):
            for client in clients:
                response = client.get(path)
                if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                    index.add_page(path, response_text(response))
        transaction.set_rollback(True)
    connection.set_schema_to_public()
    return index


def send(client, method, path, name, forms, world):
    if method == "get":
        return client.get(path)
    api = api_bodies(world).get(name)
    if api is not None:
        query, payload = api
        return client.post(path + query, json.dumps(payload), content_type="application/json", HTTP_X_CSRFTOKEN=client.csrf_token)
    return post_with_csrf(client, path, forms.body_for(path, post_bodies(world).get(name)))


def refusal_problem(response, canaries):
    """What is wrong with this response as a refusal, or None."""
    body = response_text(response)
    found = leaked(body, canaries)
    if found:
        return f"leaked {found} (status {response.status_code})"
    if response.status_code in (301, 302):
        location = response["Location"].split("?")[0]
        if not (location.endswith(LOGIN_PATHS) or "/accounts/" in location):
            return f"redirected to {response['Location']} (not refused)"
        return None
    if response.status_code not in DENIED:
        return f"status {response.status_code}"
    return None


def try_all(client, persona, targets, forms, world, extra_canaries=()):
    """Every (name, path, method) in targets, each checked for refusal and canaries; the database must not change."""
    canaries = [*world.canaries["acme"], *extra_canaries]
    requests = [
        (f"{method.upper()} {path} [{name}] as {persona}", lambda m=method, p=path, n=name: send(client, m, p, n, forms, world))
        for name, path, method in targets
    ]
    results, failures = run_unchanged(requests, [world.lenders["acme"].schema_name, "public"])
    for label, response in results:
        problem = refusal_problem(response, canaries)
        if problem:
            failures.append(f"{label}: {problem}")
    return failures


def test_refused_personas_post_real_bodies(forms, world, db):
    """The refusals below mean something only if the POSTs carry the forms' real fields, not an empty body."""
    paths = {name: path for _, name, path in tenant_paths(world)}
    for name in ("case-reveal-id", "payment-reverse", "intake-token-revoke", "engagement-status", "payment-record", "agreement-create"):
        assert forms.by_path.get(paths[name]) is not None, f"{name}: no form found on the owners' pages"
    assert len(forms.by_path) >= 25, sorted(forms.by_path)


@pytest.mark.parametrize(
    "name,persona", [("intake-api-cases", "acme_manager"), ("payment-api", "acme_finance"), ("payment-api-reversal", "acme_finance")]
)
def test_the_api_bodies_do_the_work_for_who_may(name, persona, world, forms, db):
    """The JSON the refused personas send is accepted from someone allowed: only access can stop it."""
    path = next(path for _, url_name, path in tenant_paths(world) if url_name == name)
    response = send(csrf_client(world, persona, "acme"), "post", path, name, forms, world)
    assert response.status_code in (200, 201), (response.status_code, response_text(response)[:500])


@pytest.mark.parametrize("persona", PARTNERS_WITHOUT_THE_CASE)
def test_partners_without_the_case_are_refused_on_every_object_route(persona, world, forms, db):
    """Engaged but unplaced, same agency but unassigned, or the law firm: no object of acme's opens, nothing is written."""
    client = csrf_client(world, persona, "acme")
    targets = [(name, path, method) for _, name, path in tenant_paths(world, objects_only=True) for method in ("get", "post")]
    failures = try_all(client, persona, targets, forms, world, extra_canaries=WORLD_CASE_DATA)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("persona", PARTNERS_WITHOUT_THE_CASE)
def test_partners_without_the_case_see_none_of_it_on_list_pages(persona, world, db):
    """Their own lists may open, but show none of acme's cases, money, phones or references; reading writes nothing."""
    client = csrf_client(world, persona, "acme")
    requests = [
        (f"GET {path} [{name}] as {persona}", lambda p=path: client.get(p)) for _, name, path in tenant_paths(world, objects_only=False)
    ]
    results, failures = run_unchanged(requests, [world.lenders["acme"].schema_name, "public"])
    for label, response in results:
        found = leaked(response_text(response), [*world.canaries["acme"], *WORLD_CASE_DATA])
        if found:
            failures.append(f"{label}: leaked {found} (status {response.status_code})")
        if response.status_code >= 500:
            failures.append(f"{label}: status {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("persona", LENDER_ROLES)
def test_lender_roles_are_refused_what_their_role_lacks(persona, world, forms, db):
    """Function-level access (ASVS 8.2.1): every URL whose declared action the role lacks refuses it, GET and POST."""
    role = world.people[persona].role
    declared = url_actions()
    targets = []
    for _route, name, path in tenant_paths(world):
        if name not in declared:
            continue  # test_every_url_declares_its_action fails for it
        for method in ("get", "post"):
            if actions_of(declared[name], method) and not role_may(role, declared[name], method):
                targets.append((name, path, method))
    client = csrf_client(world, persona, "acme")
    failures = try_all(client, persona, targets, forms, world)
    assert not failures, "\n".join(failures)


def test_every_lender_role_lacks_something_so_the_test_above_can_fail(world):
    declared = url_actions()
    for persona in LENDER_ROLES:
        role = world.people[persona].role
        lacking = [name for _, _, name in TENANT_URLS if name in declared and not role_may(role, declared[name], "post")]
        assert lacking, f"{persona} may do everything: the role test tries nothing for it"


# ----------------------------------------------------------------- the canaries are real


def test_owners_see_the_money_canaries_so_their_absence_means_something(world, client_for):
    """Acme's finance sees the canary case's balance, phone (masked) and bank reference; a canary nobody can see would prove nothing."""
    from tests import matrix_canaries

    client = client_for("acme_finance", host="acme")
    case = world.cases["acme_money_canary"]
    detail = response_text(client.get(f"/cases/{case.pk}/"))
    assert "987,654.32" in detail
    assert "139****4321" in detail
    assert matrix_canaries.BANK_REFERENCE in detail or matrix_canaries.BANK_REFERENCE in response_text(client.get("/payments/"))
    export = response_text(client.get("/payments/export.csv"))
    assert matrix_canaries.BANK_REFERENCE in export
    placed = response_text(client.get(f"/cases/{world.cases['acme_placed'].pk}/"))
    assert "15,812.35" in placed and "138****8000" in placed  # WORLD_CASE_DATA is real data, not a string nobody shows


@pytest.mark.parametrize("persona", ["acme_manager", "acme_finance", "acme_legal", "acme_lawyer"])
def test_an_audit_export_file_opens_only_to_who_may_export_the_audit_log(persona, world, client_for):
    """The audit log is the lender admin's (audit.view / audit.export); its export file, kept as a job's result,
    must not open to staff who may not read the log itself (PIPL art. 51: access to personal-data processing
    records limited to those who need it)."""
    job = world.jobs["acme"]
    assert job.kind == "audit_export"
    client = client_for(persona, host="acme")
    for suffix in ("", "download/"):
        response = client.get(f"/jobs/{job.pk}/{suffix}")
        body = response_text(response)
        assert "CANARY-ACME-JOB" not in body, f"{persona}: the audit export's content opened at /jobs/{job.pk}/{suffix}"
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code in DENIED, f"{persona}: audit export download answered {response.status_code}"


@pytest.mark.parametrize("persona", ["x_admin", "x_collector"])
def test_the_placed_agency_never_sees_money_phones_or_references_of_a_case_not_placed_with_it(persona, world, db):
    """X works acme's cases placed with it; the never-placed canary case's balance, phones and the lender's bank
    reference on it must appear on none of X's pages or exports (PIPL art. 6: no more than the purpose needs)."""
    from tests import matrix_canaries

    markers = [
        "己金丝雀",
        matrix_canaries.CASE_NO,
        matrix_canaries.ID_NUMBER,
        matrix_canaries.BANK_REFERENCE,
        *matrix_canaries.AMOUNT_MARKERS,
        *matrix_canaries.PHONE_MARKERS,
    ]
    client = csrf_client(world, persona, "acme")
    requests = [(f"GET {path} [{name}] as {persona}", lambda p=path: client.get(p)) for _, name, path in tenant_paths(world)]
    results, failures = run_unchanged(requests, [world.lenders["acme"].schema_name, "public"])
    for label, response in results:
        found = leaked(response_text(response), markers)
        if found:
            failures.append(f"{label}: leaked {found} (status {response.status_code})")
    assert not failures, "\n".join(failures)
