"""The integration API: tokens per lender (looked up in the host's schema), the same verdict as the command, OpenAPI."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context
from drf_spectacular.validation import validate_schema

from portal.intake import api
from portal.intake.models import BatchSource, BatchStatus, ImportBatch, IntegrationToken
from portal.intake.tokens import issue_token, revoke_token
from portal.jobs.services import execute
from portal.models import Case
from tests.intake_support import row, to_csv

pytestmark = pytest.mark.django_db


def token_for(world, slug="acme", name="core system"):
    with tenant_context(world.lenders[slug]):
        token, key = issue_token(name=name, created_by=world.people[f"{slug}_admin"].user)
    return token, key


def system(host="acme", key=None):
    return Client(HTTP_HOST=f"{host}.localhost", **({"HTTP_AUTHORIZATION": f"Token {key}"} if key else {}))


def post_file(client, content, **fields):
    return client.post("/intake/api/cases/", {"file": SimpleUploadedFile("export.csv", content), **fields})


def test_a_lenders_system_imports_a_file_with_its_token_and_gets_the_verdict(world):
    token, key = token_for(world)
    response = post_file(system(key=key), to_csv([row(1), row(2, mobile="12345"), row(3)]), commit="true")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "rows": 3,
        "valid": 2,
        "created": 2,
        "updated": 0,
        "rejected": [{"row": 3, "column": "mobile", "message": "Not a mobile number: 11 digits starting with 13 to 19."}],
    }
    with tenant_context(world.lenders["acme"]):
        assert Case.objects.filter(contract_no__in=["HT00000001", "HT00000003"]).count() == 2
        batch = ImportBatch.objects.get(pk=response["Content-Location"].strip("/").split("/")[-1])
        assert batch.source == BatchSource.API and batch.token_id == token.pk and batch.created_by_id is None
        assert IntegrationToken.objects.get(pk=token.pk).last_used_at is not None
    again = post_file(system(key=key), to_csv([row(1), row(3)]), commit="true")
    assert again.json() == {"rows": 2, "valid": 2, "created": 0, "updated": 0, "rejected": []}


def test_without_commit_the_api_only_checks(world):
    _token, key = token_for(world)
    response = post_file(system(key=key), to_csv([row(1)]))
    assert response.json() == {"rows": 1, "valid": 1, "created": 0, "updated": 0, "rejected": []}
    with tenant_context(world.lenders["acme"]):
        assert not Case.objects.filter(contract_no="HT00000001").exists()


def test_json_rows_are_imported_with_exact_numbers(world):
    _token, key = token_for(world)
    rows = [{**row(1), "loan_amount": 20000.1, "principal_due": 15000}, {**row(2), "overdue_since": "someday"}]
    response = system(key=key).post("/intake/api/cases/?commit=true", json.dumps(rows), content_type="application/json")
    assert response.json() == {
        "rows": 2,
        "valid": 1,
        "created": 1,
        "updated": 0,
        "rejected": [{"row": 3, "column": "overdue_since", "message": "Not a date: use YYYY-MM-DD, e.g. 2024-03-15."}],
    }
    with tenant_context(world.lenders["acme"]):
        case = Case.objects.get(contract_no="HT00000001")
        assert str(case.loan_amount) == "20000.10" and str(case.principal_due) == "15000.00"


def test_a_file_that_cannot_be_read_is_a_400_with_the_reason(world):
    _token, key = token_for(world)
    response = post_file(system(key=key), b"contract_no,product\n")
    assert response.status_code == 400 and response.json() == {"detail": "The file has column names but no rows.", "code": "no_rows"}
    response = post_file(system(key=key), b"contract_no,product\nHT1,x\n")
    assert response.status_code == 400 and response.json()["code"] == "missing_columns"
    assert system(key=key).post("/intake/api/cases/", {}).json()["code"] == "no_file"


def test_a_token_of_one_lender_is_unknown_on_another_lenders_host(world):
    _token, acme_key = token_for(world)
    _token, beta_key = token_for(world, "beta")
    for host, key in (("acme", beta_key), ("beta", acme_key)):
        response = post_file(system(host, key=key), to_csv([row(1)]), commit="true")
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    with tenant_context(world.lenders["beta"]):
        assert not Case.objects.filter(contract_no="HT00000001").exists()


def test_revoked_and_made_up_tokens_are_refused(world):
    token, key = token_for(world)
    with tenant_context(world.lenders["acme"]):
        revoke_token(token=token)
    for credentials in (key, "cpk_" + "x" * 43, "not-even-the-format"):
        assert post_file(system(key=credentials), to_csv([row(1)])).status_code == 401


def test_without_credentials_the_api_sends_people_to_sign_in(world):
    response = post_file(system(), to_csv([row(1)]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "persona,status", [("x_admin", 403), ("x_collector", 403), ("acme_finance", 403), ("z_admin", 404), ("beta_manager", 404)]
)
def test_people_who_may_not_import_are_refused(world, client_for, persona, status):
    response = post_file(client_for(persona, host="acme"), to_csv([row(1)]), commit="true")
    assert response.status_code == status
    with tenant_context(world.lenders["acme"]):
        assert not Case.objects.filter(contract_no="HT00000001").exists()


def test_a_signed_in_collections_manager_may_use_the_api_too(world, client_for):
    response = post_file(client_for("acme_manager", host="acme"), to_csv([row(1)]), commit="true")
    assert response.status_code == 200 and response.json()["created"] == 1


def test_a_large_request_is_checked_and_committed_in_the_background(world, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(api, "SYNC_MAX_BYTES", 100)
    _token, key = token_for(world)
    client = system(key=key)
    with django_capture_on_commit_callbacks(execute=False):
        response = post_file(client, to_csv([row(seed) for seed in range(1, 11)] + [row(11, loan_amount="-5")]), commit="true")
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"batch", "job", "status", "status_url"} and accepted["status"] == BatchStatus.VALIDATING
    pending = client.get(accepted["status_url"]).json()
    assert pending["status"] == "validating" and pending["verdict"] is None
    with tenant_context(world.lenders["acme"]):
        execute(accepted["job"])
    status = client.get(accepted["status_url"]).json()
    assert status["status"] == "committed" and status["progress"] == 100
    assert status["verdict"] == {
        "rows": 11,
        "valid": 10,
        "created": 10,
        "updated": 0,
        "rejected": [{"row": 12, "column": "loan_amount", "message": "Must not be negative."}],
    }
    assert client.get("/intake/api/imports/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_openapi_schema_is_served_to_token_holders_and_lender_staff_only(world, client_for):
    _token, key = token_for(world)
    response = system(key=key).get("/intake/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)  # a valid OpenAPI 3 document
    assert "/intake/api/cases/" in schema["paths"] and "/intake/api/imports/{import_id}/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["IntegrationToken"]["in"] == "header"
    operation = schema["paths"]["/intake/api/cases/"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert set(schema["components"]["schemas"]["ImportVerdict"]["properties"]) == {"rows", "valid", "created", "updated", "rejected"}
    assert client_for("acme_legal", host="acme").get("/intake/api/schema/").status_code == 200
    assert client_for("x_admin", host="acme").get("/intake/api/schema/").status_code == 403
