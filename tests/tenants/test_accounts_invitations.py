"""Adding people (issue item 9): an invitation, never a silently attached account or a password chosen by an admin."""

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from portal.forms import InvitationForm
from tenants import services
from tenants.models import Invitation, Membership, User
from tests.world import PASSWORD

NEW_PASSWORD = "a-long-own-choice-2026"


def verified_client(world, key, host=None):
    """A signed-in client for a persona, two-factor verified (a device is made inside the test where the cast has none)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    persona = world.people[key]
    user = User.objects.get(pk=persona.user.pk)
    device = (
        persona.device
        or TOTPDevice.objects.filter(user=user, confirmed=True).first()
        or TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    )
    client = Client(HTTP_HOST=world.host(host) if host else "localhost")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def link_in(message):
    return re.search(r"https?://\S+/accounts/invitation/(\S+?)/", message.body)


def invite_path(message):
    match = link_in(message)
    return f"/accounts/invitation/{match.group(1)}/"


@pytest.mark.django_db
def test_inviting_an_email_that_has_an_account_attaches_nothing_until_its_owner_accepts(world):
    victim = world.people["y_collector"]  # has an account (agency Y); acme's admin tries to claim it
    User.objects.filter(pk=victim.user.pk).update(full_name="王秀英 Victim")
    admin = verified_client(world, "acme_admin", host="acme")
    response = admin.post("/team/", {"email": victim.email, "full_name": "Someone", "role": "finance"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=victim.user, organisation=world.orgs["acme"]).exists()
    page = admin.get("/team/").content.decode()
    assert "An invitation was sent to" in page
    assert "王秀英" not in page  # nothing about the existing account is shown to the inviter
    # A stranger holding the link cannot accept it for the victim: no account is created, nothing attached.
    path = invite_path(mail.outbox[-1])
    stranger = Client(HTTP_HOST="localhost")
    answer = stranger.post(path, {"full_name": "Mallory", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "already has an account" in answer.content.decode()
    assert not Membership.objects.filter(user=victim.user, organisation=world.orgs["acme"]).exists()
    assert User.objects.get(pk=victim.user.pk).check_password(PASSWORD)  # the password was not touched
    # Another signed-in person cannot accept it either.
    other = Client(HTTP_HOST="localhost")
    other.force_login(world.people["x_collector"].user, backend="django.contrib.auth.backends.ModelBackend")
    assert "another account" in other.post(path).content.decode()
    assert not Membership.objects.filter(organisation=world.orgs["acme"], role="finance", user__email=victim.email).exists()
    # Its owner, signed in as themselves, accepts; then (finance needs 2FA) is asked to enrol before using it.
    owner = Client(HTTP_HOST="localhost")
    owner.force_login(User.objects.get(pk=victim.user.pk), backend="django.contrib.auth.backends.ModelBackend")
    assert owner.post(path).status_code == 302
    assert Membership.objects.filter(user=victim.user, organisation=world.orgs["acme"], role="finance", is_active=True).exists()
    assert owner.get("/")["Location"].startswith("/accounts/2fa/")


def test_no_screen_lets_an_admin_choose_a_password():
    assert "password" not in InvitationForm().fields


@pytest.mark.django_db
def test_admin_cannot_set_a_password_even_by_posting_one(world):
    admin = verified_client(world, "acme_admin", host="acme")
    admin.post(
        "/team/", {"email": "newbie@acme.test", "full_name": "Newbie", "role": "collections_manager", "password": "chosen-by-admin-2026"}
    )
    assert not User.objects.filter(email="newbie@acme.test").exists()  # no account until the invitee accepts
    path = invite_path(mail.outbox[-1])
    invitee = Client(HTTP_HOST="localhost")
    assert invitee.post(path, {"full_name": "Newbie", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    user = User.objects.get(email="newbie@acme.test")
    assert user.check_password(NEW_PASSWORD) and not user.check_password("chosen-by-admin-2026")
    assert Membership.objects.filter(user=user, organisation=world.orgs["acme"], role="collections_manager").exists()
    assert invitee.get("/").status_code == 200  # signed in; this role does not require 2FA


@pytest.mark.django_db
def test_a_new_invitee_with_a_2fa_role_must_enrol_before_the_membership_is_usable(world):
    _invitation, token = services.invite_member(
        organisation=world.orgs["xagency"], email="boss@x.test", role="agency_admin", full_name="Boss"
    )
    invitee = Client(HTTP_HOST="localhost")
    invitee.post(f"/accounts/invitation/{token}/", {"full_name": "Boss", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert invitee.get("/")["Location"].startswith("/accounts/2fa/")
    assert invitee.get("/partner/xagency/team/")["Location"].startswith("/accounts/2fa/")


@pytest.mark.django_db
def test_the_invitee_password_is_checked_by_the_validators(world):
    _invitation, token = services.invite_member(organisation=world.orgs["acme"], email="weak@acme.test", role="lawyer")
    invitee = Client(HTTP_HOST="localhost")
    response = invitee.post(
        f"/accounts/invitation/{token}/", {"full_name": "Weak", "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200 and not User.objects.filter(email="weak@acme.test").exists()
    # The refusal did not use up the link.
    assert (
        invitee.post(
            f"/accounts/invitation/{token}/", {"full_name": "Weak", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ).status_code
        == 302
    )


@pytest.mark.django_db
def test_an_invitation_link_works_once(world):
    _invitation, token = services.invite_member(organisation=world.orgs["acme"], email="once@acme.test", role="lawyer")
    first = Client(HTTP_HOST="localhost")
    assert first.get(f"/accounts/invitation/{token}/").status_code == 200  # opening it (a mail scanner) uses nothing
    assert (
        first.post(
            f"/accounts/invitation/{token}/", {"full_name": "Once", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ).status_code
        == 302
    )
    second = Client(HTTP_HOST="localhost")
    assert second.get(f"/accounts/invitation/{token}/").status_code == 404
    assert (
        second.post(
            f"/accounts/invitation/{token}/",
            {"full_name": "Twice", "new_password1": NEW_PASSWORD + "x", "new_password2": NEW_PASSWORD + "x"},
        ).status_code
        == 404
    )
    assert User.objects.get(email="once@acme.test").check_password(NEW_PASSWORD)
    with pytest.raises(ValidationError):
        services.accept_invitation(token=token, user=User.objects.get(email="once@acme.test"))


@pytest.mark.django_db
def test_an_expired_invitation_is_refused(world):
    invitation, token = services.invite_member(organisation=world.orgs["acme"], email="late@acme.test", role="lawyer")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    client = Client(HTTP_HOST="localhost")
    assert (
        client.post(
            f"/accounts/invitation/{token}/", {"full_name": "Late", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ).status_code
        == 404
    )
    assert not User.objects.filter(email="late@acme.test").exists()


@pytest.mark.django_db
def test_a_tampered_or_revoked_invitation_is_refused(world):
    invitation, token = services.invite_member(organisation=world.orgs["acme"], email="edit@acme.test", role="lawyer")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    client = Client(HTTP_HOST="localhost")
    assert (
        client.post(
            f"/accounts/invitation/{tampered}/", {"full_name": "T", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ).status_code
        == 404
    )
    services.revoke_invitation(invitation=invitation)
    assert (
        client.post(
            f"/accounts/invitation/{token}/", {"full_name": "T", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        ).status_code
        == 404
    )
    assert not User.objects.filter(email="edit@acme.test").exists()


@pytest.mark.django_db
def test_the_token_is_stored_only_as_a_digest(world):
    invitation, token = services.invite_member(organisation=world.orgs["acme"], email="digest@acme.test", role="lawyer")
    invitation.refresh_from_db()
    assert token not in invitation.token_hash and invitation.token_hash == services.token_digest(token)


@pytest.mark.django_db
def test_partner_admins_and_platform_staff_invite_too(world):
    x_admin = verified_client(world, "x_admin")
    assert x_admin.post("/partner/xagency/team/", {"email": "c9@x.test", "full_name": "C9", "role": "collector"}).status_code == 302
    assert mail.outbox[-1].to == ["c9@x.test"] and link_in(mail.outbox[-1])
    staff = verified_client(world, "platform")
    org = world.orgs["lfirm"]
    assert (
        staff.post(
            f"/platform/organisations/{org.pk}/", {"member-email": "p9@l.test", "member-full_name": "P9", "member-role": "paralegal"}
        ).status_code
        == 302
    )
    assert mail.outbox[-1].to == ["p9@l.test"]
    assert not User.objects.filter(email__in=["c9@x.test", "p9@l.test"]).exists()
    assert Invitation.objects.filter(organisation=org, email="p9@l.test", roles=["paralegal"]).exists()
