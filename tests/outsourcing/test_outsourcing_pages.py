"""The outsourcing pages: agreements, allocation, manual placement, placements, recall and holds.

Includes isolation beyond the matrix: a recalled or expired placement
disappears at once from the agency's lists and detail pages, and an agency
never sees another agency's placements.
"""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import agreements, allocation
from outsourcing.models import AllocationBatch, BatchStatus, HoldRequest, HoldStatus, Placement, PlacementStatus
from tenants.models import LicenceStatus
from tests.factories import CaseFactory, place
from tests.matrix_outsourcing import terms

pytestmark = pytest.mark.django_db


def in_acme(world):
    return tenant_context(world.lenders["acme"])


def terms_form(**overrides):
    data = {"term_days": "45", "capacity": "500", "max_hold_days": "15", "allowed_actions": ["phone", "letter"]}
    for bucket in ("M1", "M2", "M3", "M4", "M5", "M6+"):
        for r in (1, 2, 3):
            data[f"rate_{bucket}_{r}"] = "18.25"
    data.update(overrides)
    return data


def test_a_manager_sets_up_and_revises_an_agreement(world, client_for):
    client = client_for("acme_manager", host="acme")
    listing = client.get("/outsourcing/agreements/").content.decode()
    assert "迅达催收 X" in listing and "远航催收 Y" in listing and "Set up" in listing
    y = world.orgs["yagency"]
    form = client.get(f"/outsourcing/agreements/new/?partner={y.pk}").content.decode()
    assert "Commission schedule" in form and "Round 3+" in form
    response = client.post("/outsourcing/agreements/new/", {"partner": str(y.pk), "reference": "WX-2026-07", **terms_form()})
    assert response.status_code == 302
    with in_acme(world):
        from outsourcing.models import Agreement

        agreement = Agreement.objects.get(partner=y)
        version = agreement.current_version
        assert version.number == 1 and version.term_days == 45 and str(version.rate_for("M4", 3)) == "0.1825"
        assert version.allowed_actions == ["phone", "letter"]
    detail = client.get(response["Location"]).content.decode()
    assert "In force: version 1" in detail and "18.25%" in detail
    bad = client.post(response["Location"], terms_form(rate_M2_1="120"))
    assert bad.status_code == 200 and "Ensure this value is less than or equal to 100" in bad.content.decode()
    assert client.post(response["Location"], terms_form(term_days="30", note="期限缩短")).status_code == 302
    detail = client.get(response["Location"]).content.decode()
    assert "In force: version 2" in detail and "期限缩短" in detail


def test_agreement_versions_cannot_be_edited_in_the_database(world):
    from django.db import DatabaseError, transaction

    with in_acme(world):
        version = world.outsourcing["agreement"].current_version
        with pytest.raises(DatabaseError), transaction.atomic():
            type(version).objects.filter(pk=version.pk).update(capacity=1)
        with pytest.raises(DatabaseError), transaction.atomic():
            version.rates.update(rate="0.5")


def test_allocation_preview_then_commit(world, client_for):
    with in_acme(world):
        agreements.create_agreement(partner=world.orgs["yagency"], created_by=world.people["acme_manager"].user, terms=terms())
        cases = CaseFactory.create_batch(10, product="页面分案", dpd=40)
    client = client_for("acme_manager", host="acme")
    page = client.get("/outsourcing/allocation/").content.decode()
    assert "页面分案" in page and "Rule-based allocation" in page
    x, y = world.orgs["xagency"].pk, world.orgs["yagency"].pk
    response = client.post(
        "/outsourcing/allocation/",
        {
            "products": ["页面分案"],
            "buckets": ["M2"],
            "mode": "percent",
            f"include_{x}": "on",
            f"share_{x}": "60",
            f"include_{y}": "on",
            f"share_{y}": "40",
            "seed": "77",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    preview = client.get(response["Location"]).content.decode()
    assert "Allocation preview" in preview and "<meter" in preview and "60.00%" in preview and "Place these 10 cases" in preview
    assert "Random seed 77" in preview
    batch_id = response["Location"].rstrip("/").split("/")[-1]
    committed = client.post(f"/outsourcing/allocation/{batch_id}/commit/", {"action": "commit"}, follow=True).content.decode()
    assert "10 cases placed" in committed
    with in_acme(world):
        assert Placement.objects.active().filter(case__in=cases).count() == 10
    listing = client.get(f"/outsourcing/placements/?batch={batch_id}").content.decode()
    assert cases[0].contract_no in listing


def test_allocation_refusals_are_explained_and_block_the_commit(world, client_for):
    with in_acme(world):
        CaseFactory.create_batch(4, product="页面拒绝")
    licence = world.orgs["xagency_licence"]
    type(licence).objects.filter(pk=licence.pk).update(status=LicenceStatus.REJECTED)
    client = client_for("acme_manager", host="acme")
    x = world.orgs["xagency"].pk
    response = client.post(
        "/outsourcing/allocation/", {"products": ["页面拒绝"], "mode": "percent", f"include_{x}": "on", f"share_{x}": "100"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "has no verified, unexpired collection licence" in page and "Place these" not in page
    batch_id = response["Location"].rstrip("/").split("/")[-1]
    refused = client.post(f"/outsourcing/allocation/{batch_id}/commit/", {"action": "commit"}, follow=True).content.decode()
    assert "no verified, unexpired collection licence" in refused
    with in_acme(world):
        assert not Placement.objects.filter(case__product="页面拒绝").exists()


def test_bad_shares_are_explained(world, client_for):
    client = client_for("acme_manager", host="acme")
    x, y = world.orgs["xagency"].pk, world.orgs["yagency"].pk
    response = client.post(
        "/outsourcing/allocation/", {"mode": "percent", f"include_{x}": "on", f"share_{x}": "60", f"include_{y}": "on", f"share_{y}": "30"}
    )
    assert response.status_code == 200 and "must add up to 100%" in response.content.decode()


def test_a_large_commit_shows_a_progress_bar(world, client_for, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(allocation, "SYNC_LIMIT", 1)
    with in_acme(world):
        CaseFactory.create_batch(3, product="页面后台")
    client = client_for("acme_manager", host="acme")
    x = world.orgs["xagency"].pk
    response = client.post(
        "/outsourcing/allocation/", {"products": ["页面后台"], "mode": "percent", f"include_{x}": "on", f"share_{x}": "100"}
    )
    batch_id = response["Location"].rstrip("/").split("/")[-1]
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/outsourcing/allocation/{batch_id}/commit/", {"action": "commit"})
    page = client.get(f"/outsourcing/allocation/{batch_id}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
    with in_acme(world):
        from portal.jobs.services import execute

        execute(AllocationBatch.objects.get(pk=batch_id).job_id)
    status = client.get(f"/outsourcing/allocation/{batch_id}/status/").content.decode()
    assert "hx-trigger" not in status and "3 cases placed" in status


def test_manual_placement_from_a_filtered_list(world, client_for):
    with in_acme(world):
        ticked = CaseFactory.create_batch(2, product="手工委案")
        typed = CaseFactory(product="手工委案")
    client = client_for("acme_manager", host="acme")
    page = client.get("/outsourcing/place/?products=手工委案").content.decode()
    assert ticked[0].contract_no in page and 'name="case"' in page
    response = client.post(
        "/outsourcing/place/",
        {"partner": str(world.orgs["xagency"].pk), "case": [str(c.pk) for c in ticked], "contracts": typed.contract_no},
    )
    assert response.status_code == 302
    with in_acme(world):
        assert Placement.objects.active().filter(case__in=[*ticked, typed], partner=world.orgs["xagency"]).count() == 3
    again = client.post("/outsourcing/place/", {"partner": str(world.orgs["xagency"].pk), "contracts": f"{typed.contract_no}, NO-SUCH-1"})
    assert "No case has the contract number NO-SUCH-1" in again.content.decode()
    refused = client.post("/outsourcing/place/", {"partner": str(world.orgs["yagency"].pk), "contracts": "ACME-CANARY-004"}, follow=True)
    assert "There is no agreement with 远航催收 Y yet" in refused.content.decode()


def test_recalled_placement_disappears_at_once_from_the_agencys_pages(world, client_for):
    with in_acme(world):
        case = CaseFactory(product="撤案页面")
    placed = place(world, [case])[0]
    agency = client_for("x_admin", host="acme")
    assert case.contract_no in agency.get("/outsourcing/placements/").content.decode()
    assert agency.get(f"/outsourcing/placements/{placed.pk}/").status_code == 200
    other = client_for("y_admin", host="acme")
    assert case.contract_no not in other.get("/outsourcing/placements/").content.decode()
    assert other.get(f"/outsourcing/placements/{placed.pk}/").status_code == 404
    lender = client_for("acme_manager", host="acme")
    response = lender.post("/outsourcing/placements/recall/", {"placement": [str(placed.pk)], "reason": "债务人投诉"}, follow=True)
    assert "1 placement recalled; the agency no longer sees the case." in response.content.decode()
    assert case.contract_no not in agency.get("/outsourcing/placements/").content.decode()
    assert agency.get(f"/outsourcing/placements/{placed.pk}/").status_code == 404
    assert agency.get(f"/cases/{case.pk}/").status_code == 404
    detail = lender.get(f"/outsourcing/placements/{placed.pk}/").content.decode()
    assert "Recalled" in detail and "债务人投诉" in detail


def test_expired_placement_disappears_before_any_sweeper_runs(world, client_for):
    with in_acme(world):
        case = CaseFactory(product="到期页面", dpd=120)  # overdue on the day of the old placement too
    placed = place(world, [case], now=timezone.now() - datetime.timedelta(days=61))[0]
    agency = client_for("x_admin", host="acme")
    assert case.contract_no not in agency.get("/outsourcing/placements/").content.decode()
    assert agency.get(f"/outsourcing/placements/{placed.pk}/").status_code == 404
    lender = client_for("acme_manager", host="acme")
    assert "Term over" in lender.get(f"/outsourcing/placements/{placed.pk}/").content.decode()
    assert case.contract_no not in lender.get("/outsourcing/placements/").content.decode()  # "in force" is the default view
    assert case.contract_no in lender.get("/outsourcing/placements/?status=ended").content.decode()


def test_an_agency_asks_for_a_hold_and_the_lender_approves(world, client_for):
    with in_acme(world):
        case = CaseFactory(product="留案页面")
    placed = place(world, [case])[0]
    agency = client_for("x_admin", host="acme")
    until = (placed.last_day + datetime.timedelta(days=10)).isoformat()
    detail = agency.get(f"/outsourcing/placements/{placed.pk}/").content.decode()
    assert "Ask to keep the case" in detail
    response = agency.post(f"/outsourcing/placements/{placed.pk}/hold/", {"until": until, "reason": "已约定下月还款"}, follow=True)
    assert "Hold requested" in response.content.decode() and "Awaiting decision" in response.content.decode()
    lender = client_for("acme_manager", host="acme")
    listing = lender.get("/outsourcing/placements/").content.decode()
    assert "Hold requests awaiting your decision" in listing and "已约定下月还款" in listing
    with in_acme(world):
        hold = HoldRequest.objects.get(placement=placed, status=HoldStatus.PENDING)
    response = lender.post(f"/outsourcing/holds/{hold.pk}/decide/", {"decision": "approve", "note": "同意留案"}, follow=True)
    assert "Hold approved" in response.content.decode()
    with in_acme(world):
        placed.refresh_from_db()
        assert placed.last_day.isoformat() == until and placed.held_until is not None  # held through the whole of that day
    assert "Approved" in agency.get(f"/outsourcing/placements/{placed.pk}/").content.decode()


def test_roles_that_may_not(world, client_for):
    placement_id = world.outsourcing["placement"].pk
    collector = client_for("x_collector", host="acme")
    assert collector.get("/outsourcing/placements/").status_code == 403
    assert collector.get(f"/outsourcing/placements/{placement_id}/").status_code == 403
    agency = client_for("x_admin", host="acme")
    for path in ("/outsourcing/allocation/", "/outsourcing/agreements/", "/outsourcing/place/"):
        assert agency.get(path).status_code == 403
    assert agency.post("/outsourcing/placements/recall/", {"placement": [str(placement_id)], "reason": "x"}).status_code == 403
    assert agency.post(f"/outsourcing/holds/{world.outsourcing['hold'].pk}/decide/", {"decision": "approve"}).status_code == 403
    finance = client_for("acme_finance", host="acme")
    listing = finance.get("/outsourcing/placements/")
    assert listing.status_code == 200 and "Recall the chosen placements" not in listing.content.decode()
    assert finance.post("/outsourcing/placements/recall/", {"placement": [str(placement_id)], "reason": "x"}).status_code == 403
    manager = client_for("acme_manager", host="acme")
    assert manager.post(f"/outsourcing/placements/{placement_id}/hold/", {"until": "2099-01-01", "reason": "x"}).status_code == 403
    with in_acme(world):
        assert Placement.objects.get(pk=placement_id).status == PlacementStatus.ACTIVE


def test_empty_states(world, client_for):
    client = client_for("y_admin", host="acme")
    page = client.get("/outsourcing/placements/").content.decode()
    assert "Nothing is placed with you here right now." in page
    assert "ACME-CANARY" not in page
    with in_acme(world):
        batch = AllocationBatch.objects.get(pk=world.outsourcing["batch"].pk)
        assert batch.status == BatchStatus.PREVIEWED
