"""The generic case page (/cases/<id>/) never shows an agency the debt's amounts: the workbench
shows them only in a call with the verified debtor, and this older page must not be the way round it."""

import pytest

from portal.audit.models import Action, AuditEvent
from tests.matrix_workbench import in_acme, make_case

# make_case: loan 20,000.00; principal 15,000.00 + interest 812.35 = balance 15,812.35.
AMOUNTS = ("¥20,000.00", "¥15,000.00", "¥812.35", "¥15,812.35")


@pytest.fixture
def case(world):
    with in_acme(world):
        case, _placement = make_case(world, "CASE-PAGE-001", agency="xagency", collector="x_collector")
    return case


def body(client, case):
    response = client.get(f"/cases/{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["x_collector", "x_admin"])
def test_agency_staff_see_no_amounts_and_are_sent_to_the_workbench(persona, world, client_for, case):
    page = body(client_for(persona, host="acme"), case)
    for amount in AMOUNTS:
        assert amount not in page, f"{persona} sees {amount}"
    assert "¥" not in page  # no money at all: not the balance, not a fee, not a payment
    assert "data-amounts-hidden" in page and f'href="/workbench/cases/{case.pk}/"' in page
    # Enough is left to tell which case it is.
    assert "CASE-PAGE-001" in page and "王测试" in page and "随心贷" in page and case.debtor.id_number_masked in page
    # The address as the workbench shows it: its start only (access.address_for).
    assert "南京东路100号" not in page and "上海市黄浦区…" in page


@pytest.mark.django_db
def test_the_audit_records_that_no_debt_details_were_shown_to_the_agency(world, client_for, case):
    body(client_for("x_collector", host="acme"), case)
    with in_acme(world):
        event = AuditEvent.objects.filter(action=Action.VIEW_PERSONAL_DATA, case_id=str(case.pk)).latest("at")
        assert event.detail["debt_details"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["acme_manager", "acme_admin"])
def test_lender_staff_still_see_every_amount(persona, world, client_for, case):
    page = body(client_for(persona, host="acme"), case)
    for amount in AMOUNTS:
        assert amount in page, f"{persona} misses {amount}"
    assert "data-amounts-hidden" not in page


@pytest.mark.django_db
def test_the_page_still_closes_to_an_agency_the_case_is_not_placed_with(world, client_for, case):
    assert client_for("y_admin", host="acme").get(f"/cases/{case.pk}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["x_collector", "x_admin"])
def test_the_case_list_and_dashboard_give_an_agency_no_per_case_amount(persona, world, client_for, case):
    client = client_for(persona, host="acme")
    listing = client.get("/cases/?q=CASE-PAGE-001").content.decode()
    assert "CASE-PAGE-001" in listing and "¥15,812.35" not in listing and "¥" not in listing.split("<tbody")[1]
    more = client.get("/cases/?q=CASE-PAGE-001", HTTP_HX_REQUEST="true").content.decode()  # the rows htmx loads
    assert "CASE-PAGE-001" in more and "¥" not in more
    dashboard = client.get("/").content.decode()
    ending = dashboard.split("Placements ending soonest")[1]
    assert "CASE-PAGE-001" in ending and "¥" not in ending
    assert "¥" not in dashboard  # the bucket totals too: a partner's dashboard counts cases (access: portfolio.view_amounts)


@pytest.mark.django_db
def test_the_lenders_case_list_still_shows_the_balance(world, client_for, case):
    listing = client_for("acme_manager", host="acme").get("/cases/?q=CASE-PAGE-001").content.decode()
    assert "¥15,812.35" in listing


@pytest.mark.django_db
def test_the_combined_work_list_and_placement_page_give_an_agency_no_amount(world, client_for, case):
    with in_acme(world):
        placement_id = case.placements.get().pk
    worklist = client_for("x_admin").get("/").content.decode()
    assert "CASE-PAGE-001" in worklist and "¥15,812.35" not in worklist
    page = client_for("x_admin", host="acme").get(f"/outsourcing/placements/{placement_id}/").content.decode()
    assert page and "CASE-PAGE-001" in page and "¥" not in page
    lender_page = client_for("acme_manager", host="acme").get(f"/outsourcing/placements/{placement_id}/").content.decode()
    assert "Balance at placement" in lender_page
