"""The case list's filters (bucket, status, product, partner, limitation due) and its bulk selection,
which hands the chosen cases to the manual placement page."""

import datetime
import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from config.views import cases as case_views
from outsourcing import placement
from outsourcing.models import Placement, PlacementStatus
from portal.models import Case, CaseStatus
from tests.matrix_outsourcing import make_cases

pytestmark = pytest.mark.django_db


def contracts(page):
    return set(re.findall(r">(FLT-[A-Z0-9-]+)</a>", page))


@pytest.fixture
def portfolio(world):
    """One case per situation, each named by it."""
    today = timezone.localdate()
    now = timezone.now()
    with tenant_context(world.lenders["acme"]):
        made = {}
        for name, dpd in [("M1", 30), ("M2", 31), ("M3", 75), ("M6", 151)]:
            made[name] = make_cases(1, dpd=dpd, prefix=f"FLT-{name}")[0]
        made["CARD"] = make_cases(1, dpd=75, prefix="FLT-CARD", product="信用卡")[0]
        made["SETTLED"] = make_cases(1, dpd=75, prefix="FLT-SETTLED", status=CaseStatus.SETTLED)[0]
        made["XNOW"] = make_cases(1, dpd=75, prefix="FLT-XNOW")[0]
        placement.place_cases(cases=[made["XNOW"]], partner=world.orgs["xagency"], placed_by=world.people["acme_manager"].user)
        made["XGONE"] = make_cases(1, dpd=75, prefix="FLT-XGONE")[0]  # placed with X once, recalled
        Placement.objects.create(
            case=made["XGONE"],
            partner=world.orgs["xagency"],
            status=PlacementStatus.RECALLED,
            starts_at=now - datetime.timedelta(days=30),
            ends_at=now + datetime.timedelta(days=30),
            ended_at=now - datetime.timedelta(days=1),
        )
        for name, days in [("EXPIRED", -1), ("DUE10", 10), ("DUE200", 200), ("DUETODAY", 0)]:
            case = make_cases(1, dpd=75, prefix=f"FLT-{name}")[0]
            Case.objects.filter(pk=case.pk).update(limitation_expires_on=today + datetime.timedelta(days=days))
            made[name] = case
    return {name: case.contract_no for name, case in made.items()}


def listed(client, query):
    response = client.get(f"/cases/?q=FLT-&{query}")
    assert response.status_code == 200
    return contracts(response.content.decode())


def test_bucket_filter_uses_the_bucket_boundaries(world, client_for, portfolio):
    client = client_for("acme_manager", host="acme")
    assert listed(client, "bucket=M1") == {portfolio["M1"]}  # 30 days past due: still M1
    assert listed(client, "bucket=M2") == {portfolio["M2"]}  # 31 days: M2
    assert listed(client, "bucket=M6%2B") == {portfolio["M6"]}  # 151 days: M6+
    assert listed(client, "bucket=M1&bucket=M2") == {portfolio["M1"], portfolio["M2"]}
    assert portfolio["M3"] in listed(client, "bucket=M3")


def test_status_and_product_filters(world, client_for, portfolio):
    client = client_for("acme_manager", host="acme")
    assert listed(client, "status=settled") == {portfolio["SETTLED"]}
    assert listed(client, "product=信用卡") == {portfolio["CARD"]}
    assert portfolio["SETTLED"] in listed(client, "status=bogus")  # an unknown value filters nothing


def test_partner_filter_means_placed_with_that_agency_now(world, client_for, portfolio):
    client = client_for("acme_manager", host="acme")
    assert listed(client, f"partner={world.orgs['xagency'].pk}") == {portfolio["XNOW"]}
    assert listed(client, f"partner={world.orgs['yagency'].pk}") == set()
    page = client.get("/cases/").content.decode()
    assert "迅达催收 X" in page and "远航催收 Y" in page  # the engaged agencies to choose from


def test_limitation_filter_expired_or_due_within_days(world, client_for, portfolio):
    """The limitation date (诉讼时效, 民法典 art. 188): expired means the day is past; "within N days" includes today."""
    client = client_for("acme_manager", host="acme")
    assert listed(client, "limitation=expired") == {portfolio["EXPIRED"]}
    assert listed(client, "limitation=30") == {portfolio["DUETODAY"], portfolio["DUE10"]}
    assert listed(client, "limitation=365") == {portfolio["DUETODAY"], portfolio["DUE10"], portfolio["DUE200"]}


def test_filters_combine_and_are_kept_across_pages(world, client_for):
    with tenant_context(world.lenders["acme"]):
        make_cases(55, dpd=75, prefix="FLT-MANY")
        make_cases(3, dpd=15, prefix="FLT-FEW")
    client = client_for("acme_manager", host="acme")
    first = client.get("/cases/?q=FLT-&bucket=M3&status=internal").content.decode()
    assert len(contracts(first)) == 50 and all(c.startswith("FLT-MANY") for c in contracts(first))
    more = re.search(r'hx-get="\?cursor=([^"&]+)&amp;([^"]+)"', first)
    assert more and "bucket=M3" in more.group(2) and "status=internal" in more.group(2) and "q=FLT-" in more.group(2)
    url = f"/cases/?cursor={more.group(1)}&{more.group(2).replace('&amp;', '&')}"
    rest = contracts(client.get(url, HTTP_HX_REQUEST="true").content.decode())
    assert len(rest) == 5 and not rest & contracts(first) and all(c.startswith("FLT-MANY") for c in rest)
    assert 'value="M3" checked' in first and 'value="internal" selected' in first


def test_a_partner_cannot_use_the_lenders_filters(world, client_for, portfolio):
    client = client_for("x_admin", host="acme")
    page = client.get(f"/cases/?q=FLT-&partner={world.orgs['yagency'].pk}&limitation=expired").content.decode()
    assert contracts(page) == {portfolio["XNOW"]}  # its own case, filters it may not use ignored
    assert 'name="partner"' not in page and 'name="limitation"' not in page
    assert listed(client, "bucket=M1") == set() and listed(client, "bucket=M3") == {portfolio["XNOW"]}


@pytest.mark.parametrize("persona,selects", [("acme_manager", True), ("acme_admin", True), ("acme_finance", False), ("x_admin", False)])
def test_only_lender_staff_who_place_get_the_bulk_selection(persona, selects, world, client_for, portfolio):
    client = client_for(persona, host="acme")
    page = client.get("/cases/?q=FLT-").content.decode()
    assert ('name="select_all"' in page) is selects and ('name="case"' in page) is selects
    response = client.post("/cases/", {"q": "FLT-", "select_all": "1"})
    assert (response.status_code == 200) is selects
    if not selects:
        assert response.status_code == 403


def _handed_over(page):
    form = page.split('action="/outsourcing/place/"')[1].split("</form>")[0]
    return set(re.search(r'name="contracts" value="([^"]*)"', form).group(1).split())


def test_ticked_cases_are_placed_through_the_manual_placement_page(world, client_for, portfolio):
    client = client_for("acme_manager", host="acme")
    with tenant_context(world.lenders["acme"]):
        chosen = list(Case.objects.filter(contract_no__in=[portfolio["M2"], portfolio["M3"]]).values_list("pk", flat=True))
    page = client.post("/cases/", {"q": "FLT-", "case": [str(pk) for pk in chosen]}).content.decode()
    assert _handed_over(page) == {portfolio["M2"], portfolio["M3"]}
    assert "迅达催收 X" in page  # the agency is chosen here, from the placement form's own list
    placed = client.post("/outsourcing/place/", {"contracts": " ".join(_handed_over(page)), "partner": world.orgs["xagency"].pk})
    assert placed.status_code == 302
    with tenant_context(world.lenders["acme"]):
        assert set(Placement.objects.active().filter(partner=world.orgs["xagency"]).values_list("case__contract_no", flat=True)) >= {
            portfolio["M2"],
            portfolio["M3"],
        }


def test_select_all_takes_every_case_matching_the_filter_not_just_the_page(world, client_for, portfolio):
    client = client_for("acme_manager", host="acme")
    page = client.post("/cases/", {"q": "FLT-", "bucket": ["M1", "M2"], "select_all": "1"}).content.decode()
    assert _handed_over(page) == {portfolio["M1"], portfolio["M2"]}
    everything = client.post("/cases/", {"q": "FLT-", "select_all": "1"}).content.decode()
    assert _handed_over(everything) == set(portfolio.values())


def test_a_selection_too_big_for_one_placement_is_refused_not_cut(world, client_for, portfolio, monkeypatch):
    monkeypatch.setattr(case_views, "BULK_PLACE_LIMIT", 2)
    client = client_for("acme_manager", host="acme")
    response = client.post("/cases/", {"q": "FLT-", "bucket": "M3", "select_all": "1"}, follow=True)
    assert "place at most 2 at once" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/cases/?q=FLT-&bucket=M3")
    nothing = client.post("/cases/", {"q": "FLT-"}, follow=True)
    assert "Choose at least one case." in nothing.content.decode()
