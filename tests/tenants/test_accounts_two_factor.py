"""Two-factor authentication (issue item 9): offered to everyone, required for finance, lender admins,
platform staff and agency admins."""

import pytest
from django.test import Client

from portal import access
from tenants import services
from tenants.models import Role


@pytest.mark.django_db
@pytest.mark.parametrize(
    "org,role,required",
    [
        ("acme", Role.FINANCE, True),
        ("acme", Role.LENDER_ADMIN, True),
        ("platform", Role.PLATFORM_STAFF, True),
        ("xagency", Role.AGENCY_ADMIN, True),
        ("acme", Role.COLLECTIONS_MANAGER, False),
        ("acme", Role.LAWYER, False),
        ("xagency", Role.COLLECTOR, False),
        ("lfirm", Role.PARALEGAL, False),
    ],
)
def test_which_roles_require_a_second_factor(world, org, role, required):
    membership = services.add_member(
        organisation=world.orgs[org], email=f"2fa-{role}@roles.test", full_name="R", role=role, password="role-pass-2026"
    )
    assert access.requires_two_factor(membership.user) is required
    client = Client(HTTP_HOST="localhost")
    client.force_login(membership.user, backend="django.contrib.auth.backends.ModelBackend")
    home = client.get("/")
    assert (home.status_code == 302 and home["Location"].startswith("/accounts/2fa/")) is required


@pytest.mark.django_db
def test_two_factor_is_offered_on_the_account_page_to_everyone(world, client_for):
    page = client_for("x_collector").get("/accounts/")
    assert page.status_code == 200 and "/accounts/2fa/setup/" in page.content.decode()
    assert "/accounts/password/change/" in page.content.decode()
