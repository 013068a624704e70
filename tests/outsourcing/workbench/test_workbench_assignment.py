"""Who sees what on the workbench: the agency admin assigns, a collector sees only what is assigned
to them, and a recall takes a case away from the queue and the case page at once."""

import pytest
from django.utils import timezone

from outsourcing.models import Placement, PlacementStatus
from outsourcing.workbench import services
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import CollectorAssignment
from tests.matrix_workbench import in_acme, make_case


def queue_page(client):
    response = client.get("/workbench/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_collector_sees_only_the_cases_assigned_to_them(world, client_for):
    mine = queue_page(client_for("x_collector", host="acme"))
    assert "ACME-CANARY-001" in mine and "ACME-CANARY-002" not in mine  # 002 is placed with X but unassigned
    assert "ACME-CANARY-003" not in mine and "ACME-CANARY-004" not in mine
    colleague = queue_page(client_for("x_collector2", host="acme"))
    assert "ACME-CANARY" not in colleague and "Your queue is empty" in colleague
    assert client_for("x_collector2", host="acme").get(f"/workbench/cases/{world.cases['acme_placed'].pk}/").status_code == 404


@pytest.mark.django_db
def test_a_collector_of_another_agency_sees_nothing_of_x(world, client_for):
    page = queue_page(client_for("y_collector", host="acme"))
    assert "ACME-CANARY" not in page
    assert client_for("y_admin", host="acme").get(f"/workbench/cases/{world.cases['acme_placed'].pk}/").status_code == 404


@pytest.mark.django_db
def test_a_recalled_placement_vanishes_from_the_queue_and_the_case_page_at_once(world, client_for):
    with in_acme(world):
        case, placement = make_case(world, "WB-RECALL-001")
    client = client_for("x_collector", host="acme")
    assert "WB-RECALL-001" in queue_page(client)
    assert client.get(f"/workbench/cases/{case.pk}/").status_code == 200
    with in_acme(world):
        Placement.objects.filter(pk=placement.pk).update(status=PlacementStatus.RECALLED, ended_at=timezone.now())
    assert "WB-RECALL-001" not in queue_page(client)
    gone = client.get(f"/workbench/cases/{case.pk}/")
    assert gone.status_code == 404 and "WB-RECALL-001" not in gone.content.decode()
    refused = client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"})
    assert refused.status_code == 404


@pytest.mark.django_db
def test_an_expired_term_also_closes_the_case(world, client_for):
    with in_acme(world):
        case, placement = make_case(world, "WB-EXPIRE-001")
        Placement.objects.filter(pk=placement.pk).update(ends_at=timezone.now())
    client = client_for("x_collector", host="acme")
    assert "WB-EXPIRE-001" not in queue_page(client)
    assert client.get(f"/workbench/cases/{case.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_agency_admin_assigns_an_unassigned_case_and_it_reaches_the_collectors_queue(world, client_for):
    admin = client_for("x_admin", host="acme")
    page = admin.get("/workbench/assign/").content.decode()
    # Unassigned first: ACME-CANARY-002 (unassigned) is listed before ACME-CANARY-001 (assigned).
    assert page.index("ACME-CANARY-002") < page.index("ACME-CANARY-001")
    with in_acme(world):
        placement = Placement.objects.get(case=world.cases["acme_unassigned"], status=PlacementStatus.ACTIVE)
    response = admin.post(
        "/workbench/assign/", {"placement": [str(placement.pk)], "collector": world.people["x_collector2"].user.pk}, follow=True
    )
    assert "1 case(s) assigned" in response.content.decode()
    assert "ACME-CANARY-002" in queue_page(client_for("x_collector2", host="acme"))
    with in_acme(world):
        history = CollectorAssignment.objects.get(placement=placement)
        assert history.collector == world.people["x_collector2"].user and history.previous_collector is None
        assert history.assigned_by == world.people["x_admin"].user


@pytest.mark.django_db
def test_collectors_cannot_assign(world, client_for):
    assert client_for("x_collector", host="acme").get("/workbench/assign/").status_code == 403
    assert client_for("acme_manager", host="acme").get("/workbench/assign/").status_code == 403


@pytest.mark.django_db
def test_cases_go_only_to_the_agencys_own_collectors(world):
    with in_acme(world):
        placement = Placement.objects.get(case=world.cases["acme_unassigned"], status=PlacementStatus.ACTIVE)
        with pytest.raises(WorkbenchError):
            services.assign_cases(
                placement_ids=[placement.pk],
                collector=world.people["y_collector"].user,
                agency=world.orgs["xagency"],
                assigned_by=world.people["x_admin"].user,
                now=timezone.now(),
            )
        placement.refresh_from_db()
        assert placement.assigned_to is None


@pytest.mark.django_db
def test_assignment_is_all_or_nothing_when_a_case_was_recalled_meanwhile(world):
    with in_acme(world):
        case, recalled = make_case(world, "WB-ASSIGN-002", collector=None)
        Placement.objects.filter(pk=recalled.pk).update(status=PlacementStatus.RECALLED)
        open_one = Placement.objects.get(case=world.cases["acme_unassigned"], status=PlacementStatus.ACTIVE)
        with pytest.raises(WorkbenchError):
            services.assign_cases(
                placement_ids=[open_one.pk, recalled.pk],
                collector=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                assigned_by=world.people["x_admin"].user,
                now=timezone.now(),
            )
        open_one.refresh_from_db()
        assert open_one.assigned_to is None and not CollectorAssignment.objects.filter(placement=open_one).exists()


@pytest.mark.django_db
def test_an_agency_cannot_assign_another_agencys_placement(world, client_for):
    with in_acme(world):
        _case, y_placement = make_case(world, "WB-ASSIGN-003", agency="yagency", collector=None)
    response = client_for("x_admin", host="acme").post(
        "/workbench/assign/", {"placement": [str(y_placement.pk)], "collector": world.people["x_collector"].user.pk}, follow=True
    )
    assert "no longer placed with your agency" in response.content.decode()
    with in_acme(world):
        y_placement.refresh_from_db()
        assert y_placement.assigned_to is None


@pytest.mark.django_db
def test_unassigning_returns_the_case_to_the_pool(world):
    with in_acme(world):
        _case, placement = make_case(world, "WB-ASSIGN-004")
        changed = services.assign_cases(
            placement_ids=[placement.pk],
            collector=None,
            agency=world.orgs["xagency"],
            assigned_by=world.people["x_admin"].user,
            now=timezone.now(),
        )
        placement.refresh_from_db()
        assert changed == 1 and placement.assigned_to is None
        assert CollectorAssignment.objects.get(placement=placement).previous_collector == world.people["x_collector"].user
