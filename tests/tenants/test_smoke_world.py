import pytest

from portal import access

pytestmark = pytest.mark.embedded  # also proves the embedded PostgreSQL path (make test-embedded)


@pytest.mark.django_db
def test_world_personas_reach_their_workspaces(world):
    acme = world.lenders["acme"]
    assert access.principal_for(world.people["acme_admin"].user, acme).is_lender_staff
    assert access.principal_for(world.people["x_admin"].user, acme).organisation == world.orgs["xagency"]
    assert access.principal_for(world.people["z_admin"].user, acme) is None
    assert access.principal_for(world.people["beta_admin"].user, acme) is None


@pytest.mark.django_db
def test_a_lender_is_provisioned_and_served(world, client_for):
    from tenants import services

    lender = services.create_lender(slug="smoke", name="Smoke")
    services.add_member(
        organisation=lender.organisation, email="smoke@smoke.test", full_name="S", role="collections_manager", password="smoke-pass-2026"
    )
    from django.test import Client

    client = Client(HTTP_HOST="smoke.localhost")
    assert client.post("/accounts/login/", {"username": "smoke@smoke.test", "password": "smoke-pass-2026"}).status_code == 302
    assert client.get("/cases/").status_code == 200
