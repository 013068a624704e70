"""Integration tokens carry scopes (cases, payments, reversals), expire, and rotate with a grace period.

Each endpoint needs its scope: a token without it is recognised but refused (403, naming the scope);
an expired, revoked, made-up or other lender's token is not accepted at all (401)."""

import datetime
import json
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from portal.intake.models import IntegrationToken, TokenScope
from portal.intake.tokens import ROTATION_GRACE, authenticate_key, issue_token, revoke_token, rotate_token
from tests.intake_support import row, to_csv

pytestmark = pytest.mark.django_db

REVERSAL = {"reference": "NO-SUCH-REF", "reason": "returned", "note": "bank returned it"}


def token_for(world, slug="acme", **options):
    with tenant_context(world.lenders[slug]):
        return issue_token(name="core system", created_by=world.people[f"{slug}_admin"].user, **options)


def system(key, host="acme"):
    return Client(HTTP_HOST=f"{host}.localhost", HTTP_AUTHORIZATION=f"Token {key}")


def push_cases(client):
    return client.post("/intake/api/cases/", {"file": SimpleUploadedFile("export.csv", to_csv([row(1)]))})


def push_payments(client):
    return client.post("/payments/api/?dry_run=true", json.dumps([]), content_type="application/json")


def reverse_payment(client):
    return client.post("/payments/api/reversals/", json.dumps(REVERSAL), content_type="application/json")


def test_each_endpoint_needs_its_own_scope(world):
    _token, cases_key = token_for(world, scopes=[TokenScope.CASES])
    client = system(cases_key)
    assert push_cases(client).status_code == 200
    for call, scope in ((push_payments, "payments"), (reverse_payment, "reversals")):
        response = call(client)
        assert response.status_code == 403
        assert f"“{scope}” scope" in response.json()["detail"]
    _token, payments_key = token_for(world, scopes=[TokenScope.PAYMENTS])
    client = system(payments_key)
    assert push_payments(client).status_code not in (401, 403)
    assert push_cases(client).status_code == 403
    assert client.get(f"/intake/api/imports/{uuid.uuid4()}/").status_code == 403  # import status is part of "cases"
    assert reverse_payment(client).status_code == 403  # recording payments does not allow reversing them (冲正)
    _token, reversals_key = token_for(world, scopes=[TokenScope.REVERSALS])
    response = reverse_payment(system(reversals_key))
    assert response.status_code == 404 and response.json()["code"] == "not_found"  # allowed in, then told no such payment


def test_a_token_without_any_scope_may_call_nothing(world):
    _token, key = token_for(world, scopes=[])
    client = system(key)
    assert [push_cases(client).status_code, push_payments(client).status_code, reverse_payment(client).status_code] == [403, 403, 403]


def test_unknown_scopes_are_refused_when_issuing():
    with pytest.raises(ValueError):
        issue_token(name="x", created_by=None, scopes=["everything"])


def test_a_token_expires_a_year_after_issue_and_is_then_refused_with_401(world):
    token, key = token_for(world)
    lifetime = token.expires_at - token.created_at
    assert datetime.timedelta(days=364) < lifetime <= datetime.timedelta(days=366)
    with tenant_context(world.lenders["acme"]):
        IntegrationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    for call in (push_cases, push_payments, reverse_payment):
        response = call(system(key))
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]


def test_a_revoked_token_is_refused_with_401(world):
    token, key = token_for(world)
    with tenant_context(world.lenders["acme"]):
        revoke_token(token=token)
    for call in (push_cases, push_payments, reverse_payment):
        assert call(system(key)).status_code == 401


def test_another_lenders_token_is_refused_with_401(world):
    _token, beta_key = token_for(world, "beta")
    for call in (push_cases, push_payments, reverse_payment):
        assert call(system(beta_key, host="acme")).status_code == 401


def test_rotation_issues_a_new_key_and_the_old_one_works_only_for_the_grace_period(world):
    old, old_key = token_for(world, scopes=[TokenScope.CASES, TokenScope.PAYMENTS])
    with tenant_context(world.lenders["acme"]):
        new, new_key = rotate_token(token=old, created_by=world.people["acme_admin"].user)
        assert new.scopes == ["cases", "payments"] and new.name == old.name and new_key != old_key
        old.refresh_from_db()
        assert old.replaced_by_id == new.pk
        assert old.expires_at <= timezone.now() + ROTATION_GRACE
        assert authenticate_key(old_key) is not None  # during the grace period the lender's system can switch over
        after_grace = timezone.now() + ROTATION_GRACE + datetime.timedelta(seconds=1)
        assert authenticate_key(old_key, now=after_grace) is None
        assert authenticate_key(new_key, now=after_grace) is not None
        with pytest.raises(ValueError):
            rotate_token(token=old, created_by=None)  # a rotated token is not rotated twice
    assert push_cases(system(old_key)).status_code == 200
    assert push_cases(system(new_key)).status_code == 200


def test_once_the_grace_period_is_over_the_old_key_gets_401(world):
    old, old_key = token_for(world)
    with tenant_context(world.lenders["acme"]):
        _new, new_key = rotate_token(token=old, created_by=None, grace=datetime.timedelta(0))
    response = push_cases(system(old_key))
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert push_cases(system(new_key)).status_code == 200


def test_the_tokens_page_can_tell_active_rotating_expired_and_revoked_apart(world):
    token, _key = token_for(world, scopes=[TokenScope.REVERSALS, TokenScope.CASES])
    assert token.state == "active" and token.scope_labels() == ["Push cases", "Reverse payments"]
    with tenant_context(world.lenders["acme"]):
        new, _new_key = rotate_token(token=token, created_by=None)
        token.refresh_from_db()
        assert token.state == "rotating"
        revoke_token(token=new)
        new.refresh_from_db()
        assert new.state == "revoked"
        IntegrationToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
        token.refresh_from_db()
        assert token.state == "expired" and not token.is_active
