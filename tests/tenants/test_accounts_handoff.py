"""The cross-host ticket is bound to the browser that asked for it (issue item 12)."""

import re

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from tenants import services
from tenants.models import User, WorkspaceTicket

PUBLIC_ORIGIN = services.public_url("/").rstrip("/")


def public_client(world, key):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    persona = world.people[key]
    user = User.objects.get(pk=persona.user.pk)
    device = persona.device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def ask_for_ticket(client, slug="acme", next_path="/cases/"):
    page = client.post(f"/workspaces/{slug}/enter/", {"next": next_path})
    assert page.status_code == 200
    html = page.content.decode()
    action = re.search(r'action="([^"]+)"', html.split("data-handoff")[0].rsplit("<form", 1)[1]).group(1)
    ticket = re.search(r'name="ticket" value="([^"]+)"', html).group(1)
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    return action, ticket, nonce, page


@pytest.mark.django_db
def test_the_ticket_travels_in_a_post_from_a_page_for_this_browser_only(world):
    action, ticket, nonce, page = ask_for_ticket(public_client(world, "acme_admin"))
    assert action == "http://acme.localhost:8000/auth/handoff/"
    assert ticket not in page.get("Location", "") and "no-store" in page["Cache-Control"]
    landing = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)  # a browser new to the lender's host: no CSRF cookie
    entered = landing.post("/auth/handoff/", {"ticket": ticket, "nonce": nonce}, HTTP_ORIGIN=PUBLIC_ORIGIN)
    assert entered.status_code == 302 and entered["Location"] == "/cases/"
    assert landing.get("/audit/").status_code == 200  # the two-factor verification came along
    replay = Client(HTTP_HOST="acme.localhost").post("/auth/handoff/", {"ticket": ticket, "nonce": nonce}, HTTP_ORIGIN=PUBLIC_ORIGIN)
    assert "/accounts/login/" in replay["Location"]  # works once


@pytest.mark.django_db
def test_another_client_with_only_the_ticket_id_is_refused_and_the_ticket_survives(world):
    _action, ticket, nonce, _page = ask_for_ticket(public_client(world, "acme_admin"))
    thief = Client(HTTP_HOST="acme.localhost")
    for forged in ("", "x" * 43, nonce[:-1]):
        stolen = thief.post("/auth/handoff/", {"ticket": ticket, "nonce": forged}, HTTP_ORIGIN=PUBLIC_ORIGIN)
        assert "/accounts/login/" in stolen["Location"] and "_auth_user_id" not in thief.session
    assert WorkspaceTicket.objects.get(pk=ticket).used_at is None
    owner = Client(HTTP_HOST="acme.localhost")
    assert owner.post("/auth/handoff/", {"ticket": ticket, "nonce": nonce}, HTTP_ORIGIN=PUBLIC_ORIGIN)["Location"] == "/cases/"


@pytest.mark.django_db
def test_a_get_of_the_handoff_changes_nothing(world):
    _action, ticket, nonce, _page = ask_for_ticket(public_client(world, "acme_admin"))
    client = Client(HTTP_HOST="acme.localhost")
    response = client.get(f"/auth/handoff/?ticket={ticket}&nonce={nonce}")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert "_auth_user_id" not in client.session
    assert WorkspaceTicket.objects.get(pk=ticket).used_at is None


@pytest.mark.django_db
def test_a_form_on_another_site_cannot_sign_a_browser_in(world):
    """Login CSRF: an attacker's own valid ticket, posted by a page on another origin, is refused."""
    _action, ticket, nonce, _page = ask_for_ticket(public_client(world, "acme_admin"))
    victim = Client(HTTP_HOST="acme.localhost")
    for origin in ("https://evil.example", "null", None):
        extra = {"HTTP_ORIGIN": origin} if origin else {}
        response = victim.post("/auth/handoff/", {"ticket": ticket, "nonce": nonce}, **extra)
        assert "/accounts/login/" in response["Location"] and "_auth_user_id" not in victim.session
    assert WorkspaceTicket.objects.get(pk=ticket).used_at is None


@pytest.mark.django_db
def test_the_page_lets_the_origin_reach_the_lender_host(world):
    _action, _ticket, _nonce, page = ask_for_ticket(public_client(world, "acme_admin"))
    assert page["Referrer-Policy"] == "strict-origin-when-cross-origin"  # "same-origin" would send "Origin: null"
