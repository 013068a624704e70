"""Self-service password change and reset, and the forced change of a password someone else set (issue item 9)."""

import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from tenants import services
from tenants.models import User

NEW_PASSWORD = "my-own-new-secret-2026"


@pytest.mark.django_db
def test_password_reset_mails_a_link_that_works_once(world):
    user = world.people["x_collector"].user
    client = Client(HTTP_HOST="localhost")
    assert client.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    path = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    again = Client(HTTP_HOST="localhost").get(path, follow=True)
    assert "not valid any more" in again.content.decode()


@pytest.mark.django_db
def test_password_reset_does_not_say_whether_an_account_exists(world):
    client = Client(HTTP_HOST="localhost")
    known = client.post("/accounts/password/reset/", {"email": world.people["x_collector"].email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@nowhere.test"})
    assert known.status_code == unknown.status_code == 302 and known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [[world.people["x_collector"].email]]


@pytest.mark.django_db
def test_changing_ones_password_needs_the_old_one(world, client_for):
    client = client_for("x_collector2")
    refused = client.post(
        "/accounts/password/change/", {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert refused.status_code == 200
    from tests.world import PASSWORD

    accepted = client.post(
        "/accounts/password/change/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert accepted.status_code == 302
    assert User.objects.get(pk=world.people["x_collector2"].user.pk).check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_a_password_set_by_someone_else_must_be_changed_at_first_sign_in(world):
    membership = services.add_member(
        organisation=world.orgs["acme"],
        email="temp@acme.test",
        full_name="Temp",
        role="lawyer",
        password="temporary-by-admin-2026",
        must_change_password=True,
    )
    client = Client(HTTP_HOST="acme.localhost")
    assert client.post("/accounts/login/", {"username": "temp@acme.test", "password": "temporary-by-admin-2026"}).status_code == 302
    for path in ("/", "/cases/"):
        assert client.get(path)["Location"] == "/accounts/password/change/"
    assert client.get("/accounts/password/change/").status_code == 200
    client.post(
        "/accounts/password/change/",
        {"old_password": "temporary-by-admin-2026", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    user = User.objects.get(pk=membership.user_id)
    assert not user.must_change_password and user.check_password(NEW_PASSWORD)
    assert client.get("/cases/").status_code == 200


@pytest.mark.django_db
def test_a_reset_also_ends_a_forced_change(world):
    services.add_member(
        organisation=world.orgs["acme"],
        email="temp2@acme.test",
        full_name="Temp",
        role="lawyer",
        password="temporary-by-admin-2026",
        must_change_password=True,
    )
    client = Client(HTTP_HOST="localhost")
    client.post("/accounts/password/reset/", {"email": "temp2@acme.test"})
    path = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/\S+/)", mail.outbox[-1].body).group(1)
    set_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not User.objects.get(email="temp2@acme.test").must_change_password


@pytest.mark.django_db
def test_create_member_command_prints_a_temporary_password_that_must_be_changed(world):
    out = io.StringIO()
    call_command("create_member", "first-staff@caseport.test", org="platform", role="platform_staff", name="First", stdout=out)
    password = re.search(r"temporary password .*: (\S+)", out.getvalue()).group(1)
    user = User.objects.get(email="first-staff@caseport.test")
    assert user.check_password(password) and user.must_change_password
