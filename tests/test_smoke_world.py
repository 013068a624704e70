import pytest

from portal import access


@pytest.mark.django_db
def test_world_personas_reach_their_workspaces(world):
    acme = world.lenders["acme"]
    assert access.principal_for(world.people["acme_admin"].user, acme).is_lender_staff
    assert access.principal_for(world.people["x_admin"].user, acme).organisation == world.orgs["xagency"]
    assert access.principal_for(world.people["z_admin"].user, acme) is None
    assert access.principal_for(world.people["beta_admin"].user, acme) is None
