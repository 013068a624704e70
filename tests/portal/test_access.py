"""The access module: who may enter, and what partners see, only while it is placed or assigned."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing.models import Placement, PlacementStatus
from portal import access
from tenants import services
from tenants.models import EngagementStatus, Licence, LicenceStatus


def visible_contracts(world, persona, lender="acme"):
    principal = access.principal_for(world.people[persona].user, world.lenders[lender])
    with tenant_context(world.lenders[lender]):
        return set(access.visible_cases(principal).values_list("contract_no", flat=True))


@pytest.mark.django_db
def test_lender_staff_see_all_their_cases(world):
    from portal.models import Case

    with tenant_context(world.lenders["acme"]):
        every = set(Case.objects.values_list("contract_no", flat=True))
    assert visible_contracts(world, "acme_manager") == every
    # tests/world.py and tests/matrix_canaries.py (lender-only); the litigation areas add their matters' cases.
    assert every >= {"ACME-CANARY-001", "ACME-CANARY-002", "ACME-CANARY-003", "ACME-CANARY-004", "ACME-CANARY-005"}


@pytest.mark.django_db
def test_agency_admin_sees_active_placements_and_collectors_only_their_own(world):
    assert visible_contracts(world, "x_admin") == {"ACME-CANARY-001", "ACME-CANARY-002"}
    assert visible_contracts(world, "x_collector") == {"ACME-CANARY-001"}
    assert visible_contracts(world, "x_collector2") == set()
    assert visible_contracts(world, "y_admin") == set()  # its placement was recalled
    assert visible_contracts(world, "x_admin", lender="beta") == {"BETA-CANARY-001"}


@pytest.mark.django_db
def test_recall_and_expiry_end_access_at_once(world):
    with tenant_context(world.lenders["acme"]):
        placement = Placement.objects.get(case=world.cases["acme_unassigned"], status=PlacementStatus.ACTIVE)
        placement.status = PlacementStatus.RECALLED
        placement.save()
    assert "ACME-CANARY-002" not in visible_contracts(world, "x_admin")
    with tenant_context(world.lenders["acme"]):
        from django.db.models import F

        # The term ran out a moment after it began: over now, though nothing marked it expired yet.
        Placement.objects.filter(case=world.cases["acme_placed"]).update(ends_at=F("starts_at") + datetime.timedelta(microseconds=1))
    assert visible_contracts(world, "x_admin") == set()  # the term is over even before a sweeper marks it expired


@pytest.mark.django_db
@pytest.mark.parametrize("status", [EngagementStatus.SUSPENDED, EngagementStatus.ENDED])
def test_a_suspended_or_ended_engagement_closes_the_workspace(status, world, client_for):
    engagement = world.lenders["acme"].engagements.get(partner=world.orgs["xagency"])
    services.set_engagement_status(engagement=engagement, status=status)
    assert access.principal_for(world.people["x_admin"].user, world.lenders["acme"]) is None
    assert client_for("x_admin", host="acme").get("/cases/").status_code == 404
    assert [lender.organisation.slug for lender, _ in access.workspaces_for(world.people["x_admin"].user)] == ["beta"]


@pytest.mark.django_db
def test_engagement_transitions_are_enforced(world):
    from django.core.exceptions import ValidationError

    engagement = world.lenders["acme"].engagements.get(partner=world.orgs["xagency"])
    services.set_engagement_status(engagement=engagement, status=EngagementStatus.ENDED)
    with pytest.raises(ValidationError):
        services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)


@pytest.mark.django_db
def test_may_receive_cases_needs_a_verified_unexpired_licence(world):
    x = world.orgs["xagency"]
    assert access.may_receive_cases(x)
    today = timezone.localdate()
    assert not access.may_receive_cases(x, on=today + datetime.timedelta(days=400))  # after valid_to
    Licence.objects.filter(organisation=x).update(status=LicenceStatus.REJECTED)
    assert not access.may_receive_cases(x)
    assert not access.may_receive_cases(world.orgs["acme"])  # a lender is not a partner


@pytest.mark.django_db
def test_one_person_in_several_organisations_gets_each_workspace(world):
    user = world.people["x_admin"].user
    services.add_member(organisation=world.orgs["beta"], email=user.email, full_name="x", role="finance")
    workspaces = {lender.organisation.slug: p for lender, p in access.workspaces_for(user)}
    assert workspaces["acme"].organisation == world.orgs["xagency"]
    assert workspaces["beta"].organisation == world.orgs["beta"]  # their own membership wins over the engagement
    assert workspaces["beta"].roles == frozenset({"finance"})


@pytest.mark.django_db
def test_only_one_active_placement_per_case(world):
    from django.db import IntegrityError, transaction

    with tenant_context(world.lenders["acme"]):
        with pytest.raises(IntegrityError), transaction.atomic():
            Placement.objects.create(
                case=world.cases["acme_placed"], partner=world.orgs["yagency"], ends_at=timezone.now() + datetime.timedelta(days=5)
            )


@pytest.mark.django_db
def test_unknown_actions_fail_closed(world):
    principal = access.principal_for(world.people["acme_admin"].user, world.lenders["acme"])
    with pytest.raises(ValueError):
        access.can(principal, "case.delete_everything")
    assert not access.can(None, "case.list")


@pytest.mark.django_db
def test_partner_combined_work_list_spans_lenders_without_copying(world, client_for):
    page = client_for("x_admin").get("/").content.decode()
    assert "ACME-CANARY-001" in page and "ACME-CANARY-002" in page and "BETA-CANARY-001" in page
    assert "ACME-CANARY-003" not in page and "ACME-CANARY-004" not in page
    collector = client_for("x_collector").get("/").content.decode()
    assert "ACME-CANARY-001" in collector and "ACME-CANARY-002" not in collector
    from django.db import connection

    with connection.cursor() as cursor:  # the public schema holds no case table at all
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema='public' AND table_name='portal_case'")
        assert cursor.fetchone()[0] == 0
