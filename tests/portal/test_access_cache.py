"""Cached access decisions change the moment a committed change affects them.

These tests run in autocommit (outside the per-test transaction) because the
cache is used only outside transactions; they restore what they change.
"""

import pytest
from django.test import Client

from portal import access
from tenants import services
from tenants.models import EngagementStatus

pytestmark = pytest.mark.embedded


def test_suspending_an_engagement_takes_effect_on_the_next_request(world, django_db_blocker):
    acme = world.lenders["acme"]
    user = world.people["x_collector"].user  # no second factor needed: the point is the cached decision
    with django_db_blocker.unblock():
        engagement = acme.engagements.get(partner=world.orgs["xagency"])
        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        try:
            assert client.get("/cases/").status_code == 200  # decision now cached
            generation = access.access_generation()
            services.set_engagement_status(engagement=engagement, status=EngagementStatus.SUSPENDED)
            assert access.access_generation() > generation
            assert client.get("/cases/").status_code == 404
        finally:
            services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
        assert client.get("/cases/").status_code == 200


def test_a_new_role_is_seen_at_once_and_a_removed_one_is_gone(world, django_db_blocker):
    beta = world.lenders["beta"]
    user = world.people["y_admin"].user
    with django_db_blocker.unblock():
        assert access.principal_for(user, beta) is None  # cached "no"
        membership = services.add_member(organisation=world.orgs["beta"], email=user.email, full_name="y", role="finance")
        try:
            assert access.principal_for(user, beta).roles == frozenset({"finance"})
        finally:
            services.deactivate_membership(membership=membership)
        assert access.principal_for(user, beta) is None
        membership.delete()


def test_host_routing_is_cached_and_follows_domain_changes(world, django_db_blocker):
    from tenants.models import Domain

    with django_db_blocker.unblock():
        client = Client(HTTP_HOST="beta-alias.localhost")
        assert client.get("/accounts/login/").status_code == 404  # unknown host
        alias = Domain.objects.create(domain="beta-alias.localhost", tenant=world.lenders["beta"], is_primary=False)
        try:
            response = client.get("/accounts/login/")
            assert response.status_code == 200 and world.lenders["beta"].name in response.content.decode()
        finally:
            alias.delete()
        assert client.get("/accounts/login/").status_code == 404
