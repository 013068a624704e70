"""The management screens: platform staff, lender admins, agency admins."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tenants import services
from tenants.models import Domain, EngagementStatus, Invitation, Lender, Licence, LicenceStatus, Membership, Organisation, User

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.django_db
def test_staff_create_a_lender_from_the_screen(world, client_for):
    client = client_for("platform")
    response = client.post("/platform/lenders/", {"slug": "delta", "name": "德尔塔消费金融"}, follow=True)
    assert response.status_code == 200
    lender = Lender.objects.get(schema_name="l_delta")
    assert Domain.objects.get(tenant=lender).domain == "delta.localhost"
    assert "delta.localhost" in response.content.decode()


@pytest.mark.django_db
def test_a_taken_short_name_is_explained(world, client_for):
    response = client_for("platform").post("/platform/lenders/", {"slug": "acme", "name": "Another"})
    assert response.status_code == 200 and "already taken" in response.content.decode()


@pytest.mark.django_db
def test_licence_documents_are_checked_by_content(world, client_for):
    client = client_for("platform")
    org = world.orgs["zagency"]
    today = timezone.localdate()
    form = {
        "licence-kind": "collection",
        "licence-number": "LIC-NEW-1",
        "licence-issuing_authority": "广东省地方金融监督管理局",
        "licence-valid_from": today.isoformat(),
        "licence-valid_to": (today + datetime.timedelta(days=365)).isoformat(),
    }
    fake = SimpleUploadedFile("licence.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf")
    response = client.post(f"/platform/organisations/{org.pk}/", {**form, "licence-document": fake})
    assert response.status_code == 200 and "judged by the file" in response.content.decode()
    assert not Licence.objects.filter(number="LIC-NEW-1").exists()
    real = SimpleUploadedFile("licence.pdf", PDF, content_type="application/octet-stream")
    assert client.post(f"/platform/organisations/{org.pk}/", {**form, "licence-document": real}).status_code == 302
    licence = Licence.objects.get(number="LIC-NEW-1")
    assert licence.status == LicenceStatus.PENDING and licence.document.name.startswith(f"licences/{org.pk}/")
    download = client.get(f"/platform/licences/{licence.pk}/document/")
    assert download["Content-Disposition"].startswith("attachment") and download["Content-Security-Policy"] == "sandbox"
    assert client.post(f"/platform/licences/{licence.pk}/verify/", {"decision": "approve"}).status_code == 302
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.VERIFIED and licence.verified_by == world.people["platform"].user


@pytest.mark.django_db
def test_licence_end_before_start_is_refused(world, client_for):
    today = timezone.localdate()
    response = client_for("platform").post(
        f"/platform/organisations/{world.orgs['zagency'].pk}/",
        {
            "licence-kind": "collection",
            "licence-number": "LIC-BAD",
            "licence-issuing_authority": "x",
            "licence-valid_from": today.isoformat(),
            "licence-valid_to": (today - datetime.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 200 and not Licence.objects.filter(number="LIC-BAD").exists()


@pytest.mark.django_db
def test_staff_create_a_partner_and_invite_its_admin(world, client_for, mailoutbox):
    client = client_for("platform")
    response = client.post("/platform/organisations/", {"slug": "newfirm", "name": "新律所", "kind": "law_firm"})
    org = Organisation.objects.get(slug="newfirm")
    assert response["Location"] == f"/platform/organisations/{org.pk}/"
    client.post(
        f"/platform/organisations/{org.pk}/",
        {"member-email": "boss@newfirm.test", "member-full_name": "Boss", "member-role": "lawyer", "member-password": "a-strong-pass-2026"},
    )
    # An invitation, not an account: the invitee chooses the password (the one posted here is ignored).
    assert Invitation.objects.filter(organisation=org, email="boss@newfirm.test", roles=["lawyer"]).exists()
    assert mailoutbox[-1].to == ["boss@newfirm.test"]
    assert not User.objects.filter(email="boss@newfirm.test").exists()
    assert not Membership.objects.filter(organisation=org).exists()


@pytest.mark.django_db
def test_lender_admin_invites_and_removes_team_members(world, client_for, mailoutbox):
    client = client_for("acme_admin", host="acme")
    response = client.post(
        "/team/", {"email": "analyst@acme.test", "full_name": "分析师", "role": "finance", "password": "a-strong-pass-2026"}
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(organisation=world.orgs["acme"], email="analyst@acme.test", roles=["finance"]).exists()
    assert mailoutbox[-1].to == ["analyst@acme.test"]
    assert not Membership.objects.filter(user__email="analyst@acme.test").exists()  # nothing until the invitee accepts
    membership = services.add_member(
        organisation=world.orgs["acme"], email="member@acme.test", full_name="成员", role="finance", password="a-strong-pass-2026"
    )
    assert client.post(f"/team/{membership.pk}/deactivate/").status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active
    # A role that does not exist for a lender is not offered.
    bad = client.post("/team/", {"email": "c@acme.test", "full_name": "C", "role": "collector"})
    assert bad.status_code == 200 and not Invitation.objects.filter(email="c@acme.test").exists()


@pytest.mark.django_db
def test_an_admin_cannot_remove_their_own_admin_role(world, client_for):
    own = Membership.objects.get(user=world.people["acme_admin"].user)
    client_for("acme_admin", host="acme").post(f"/team/{own.pk}/deactivate/")
    own.refresh_from_db()
    assert own.is_active


@pytest.mark.django_db
def test_team_members_of_another_organisation_cannot_be_touched(world, client_for):
    beta_member = Membership.objects.get(user=world.people["beta_manager"].user)
    assert client_for("acme_admin", host="acme").post(f"/team/{beta_member.pk}/deactivate/").status_code == 404
    beta_member.refresh_from_db()
    assert beta_member.is_active


@pytest.mark.django_db
def test_agency_admin_manages_the_agency_team_on_the_public_site(world, client_for):
    client = client_for("x_admin")
    assert client.get("/partner/xagency/team/").status_code == 200
    client.post("/partner/xagency/team/", {"email": "c3@x.test", "full_name": "催收员三", "role": "collector"})
    assert Invitation.objects.filter(email="c3@x.test", organisation=world.orgs["xagency"], roles=["collector"]).exists()
    assert not Membership.objects.filter(user__email="c3@x.test").exists()
    assert client_for("x_collector").get("/partner/xagency/team/").status_code == 404


@pytest.mark.django_db
def test_lender_admin_engages_and_activates_a_partner(world, client_for):
    client = client_for("acme_admin", host="acme")
    page = client.get("/engagements/").content.decode()
    assert world.orgs["zagency"].name in page  # offered: not yet engaged
    client.post("/engagements/", {"partner": world.orgs["zagency"].pk})
    engagement = world.lenders["acme"].engagements.get(partner=world.orgs["zagency"])
    assert engagement.status == EngagementStatus.PENDING
    client.post(f"/engagements/{engagement.pk}/status/", {"status": "active"})
    engagement.refresh_from_db()
    assert engagement.status == EngagementStatus.ACTIVE and engagement.started_on == timezone.localdate()
    assert client_for("z_admin", host="acme").get("/").status_code == 200  # the door is open now
    response = client.post(f"/engagements/{engagement.pk}/status/", {"status": "pending"}, follow=True)
    assert "cannot go from" in response.content.decode()


@pytest.mark.django_db
def test_managers_without_admin_role_cannot_manage_partners_or_team(world, client_for):
    client = client_for("acme_manager", host="acme")
    assert client.get("/engagements/").status_code == 403
    assert client.get("/team/").status_code == 403
    assert client.get("/audit/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona,host,expected",
    [
        ("acme_manager", "acme", "Cases by bucket"),
        ("x_admin", "acme", "Placements ending soonest"),
        ("y_admin", "acme", "Nothing is placed with you here right now."),
        ("acme_admin", "acme", "Partners"),
    ],
)
def test_each_role_has_a_dashboard(persona, host, expected, world, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    response = client_for(persona, host=host).get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and expected in response.content.decode()


@pytest.mark.django_db
def test_case_list_pages_with_a_cursor_not_an_offset(world, client_for, django_assert_max_num_queries):
    from django_tenants.utils import tenant_context

    from tests.world import _case

    with tenant_context(world.lenders["beta"]):
        for i in range(55):
            _case(f"BETA-PAGE-{i:03d}", "翻页测试", "11010519491231002X", f"P{i}", 10 + i)
    client = client_for("beta_manager", host="beta")
    first = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert first.count("/cases/") >= 50 and "cursor=" in first
    cursor = first.split("cursor=")[1].split('"')[0].split("&")[0]
    second = client.get(f"/cases/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert "BETA-PAGE" in second or "BETA-CANARY" in second
    assert "<html" not in second  # HTMX gets rows only


@pytest.mark.django_db
def test_staff_record_and_verify_a_practitioner_certificate(world, client_for):
    from tenants.models import PractitionerCertificate

    client = client_for("platform")
    org = world.orgs["xagency"]
    membership = Membership.objects.get(user=world.people["x_collector2"].user)
    page = client.get(f"/platform/organisations/{org.pk}/").content.decode()
    assert "CERT-X-001" in page
    client.post(
        f"/platform/organisations/{org.pk}/",
        {
            "cert-membership": membership.pk,
            "cert-number": "CERT-X-002",
            "cert-issuing_authority": "中国银行业协会",
            "cert-valid_to": "2027-12-31",
        },
    )
    certificate = PractitionerCertificate.objects.get(number="CERT-X-002")
    client.post(f"/platform/certificates/{certificate.pk}/verify/", {"decision": "approve"})
    certificate.refresh_from_db()
    assert certificate.status == LicenceStatus.VERIFIED and certificate.verified_by == world.people["platform"].user


@pytest.mark.django_db
def test_staff_disable_an_account_and_it_is_signed_out_everywhere(world, client_for):
    from django.test import Client

    from tests.world import PASSWORD

    victim = world.people["y_collector"]
    session = Client(HTTP_HOST="acme.localhost")
    session.post("/accounts/login/", {"username": victim.email, "password": PASSWORD})
    assert session.get("/cases/").status_code == 200
    client_for("platform").post(f"/platform/users/{victim.user.pk}/disable/")
    assert "/accounts/login/" in session.get("/cases/")["Location"]
    assert session.post("/accounts/login/", {"username": victim.email, "password": PASSWORD}).status_code == 200  # cannot sign in again
