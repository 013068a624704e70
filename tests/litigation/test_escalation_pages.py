"""Escalation on screen (issue item 1): from a case's page and from the case list's selection, to the in-house team or
an engaged law firm; the hints; refusals in words; criminal referrals; the litigation panels on the case page."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from litigation import case_panels
from litigation.models import CriminalReferral, Matter, MatterLoan, Stage
from outsourcing.models import Placement, PlacementStatus
from portal.models import Case, CaseStatus, RiskFlag
from tests.factories import CaseFactory, DebtorFactory


@pytest.fixture(autouse=True)
def panels():
    """The litigation panels on the case page (litigation/apps.py registers them at start-up)."""
    case_panels.register()


def in_acme(world):
    return tenant_context(world.lenders["acme"])


def text(response):
    return response.content.decode("utf-8", "replace")


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def new_case(world, contract_no, *, name="钱七", employer="上海某公司", principal="8000.00", mobile="13755556666"):
    with in_acme(world):
        debtor = DebtorFactory(name=name, mobile=mobile, employer=employer)
        return CaseFactory(debtor=debtor, contract_no=contract_no, principal_due=Decimal(principal), interest_due=Decimal("0.00"), dpd=200)


def test_escalate_one_case_from_its_page_to_the_in_house_team(world, client_for):
    case = new_case(world, "ESC-PAGE-001")
    client = client_for("acme_legal", host="acme")
    page = text(client.get(f"/cases/{case.pk}/"))
    assert f"/litigation/escalate/?case={case.pk}" in page and "This case is in no matter." in page
    screen = client.get("/litigation/escalate/", {"case": str(case.pk)})
    assert screen.status_code == 200
    body = text(screen)
    # The hints (escalation.hints): employer on file, the balance against the 3,000 CNY threshold, previous agencies.
    assert "Employer or workplace on file" in body and "against the threshold of ¥3,000.00" in body and "previous placements" in body
    assert "律正律师事务所 L" in body and "800.00" in body  # an engaged firm with its fee agreement
    response = client.post(
        "/litigation/escalate/",
        {
            "contracts": "ESC-PAGE-001",
            "confirm": "1",
            "team": "in_house",
            "lawyer": world.people["acme_lawyer"].user.pk,
            "reason": "有能力还款但拒不还款",
        },
    )
    with in_acme(world):
        matter = Matter.objects.get(loans__case=case)
        assert matter.firm is None and matter.lawyer_id == world.people["acme_lawyer"].user.pk and matter.stage == Stage.ESCALATED
        assert Case.objects.get(pk=case.pk).status == CaseStatus.LITIGATION
    assert response.status_code == 302 and response["Location"] == f"/litigation/{matter.pk}/"
    page = text(client.get(f"/cases/{case.pk}/"))
    assert matter.number in page and "Escalate to litigation" not in page  # in a matter now: not eligible again


def test_escalate_a_selection_from_the_case_list_to_a_law_firm(world, client_for):
    first = new_case(world, "ESC-BULK-001", name="周一")
    second = new_case(world, "ESC-BULK-002", name="吴二")
    client = client_for("acme_legal", host="acme")
    # The case list's selection (a legal manager may select: matter.escalate), handed to the escalation page.
    bulk = client.post("/cases/", {"case": [str(first.pk), str(second.pk)]})
    assert bulk.status_code == 200
    assert 'action="/litigation/escalate/"' in text(bulk) and "ESC-BULK-001 ESC-BULK-002" in text(bulk)
    assert "Place the chosen cases" not in text(bulk)  # a legal manager does not place with agencies
    screen = client.post("/litigation/escalate/", {"contracts": "ESC-BULK-001 ESC-BULK-002"})
    assert screen.status_code == 200 and "周一" in text(screen) and "吴二" in text(screen)
    with in_acme(world):
        assert not Matter.objects.filter(loans__case__in=[first, second]).exists()  # showing the screen escalates nothing
    response = client.post(
        "/litigation/escalate/",
        {
            "contracts": "ESC-BULK-001 ESC-BULK-002",
            "confirm": "1",
            "team": str(world.orgs["lfirm"].pk),
            "lawyer": world.people["l_lawyer"].user.pk,
            "paralegal": world.people["l_paralegal"].user.pk,
            "reason": "批量移交诉讼",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/litigation/"
    with in_acme(world):
        matters = list(Matter.objects.filter(loans__case__in=[first, second]).distinct())
        assert len(matters) == 2  # two borrowers, two matters
        assert {m.firm_id for m in matters} == {world.orgs["lfirm"].pk}
        assert all(m.fixed_fee == Decimal("800.00") and m.success_fee_percent == Decimal("8") for m in matters)
    assert "周一" in text(client_for("l_lawyer", host="acme").get("/litigation/"))


def test_placement_still_works_from_the_selection(world, client_for):
    case = new_case(world, "ESC-PLACE-001")
    bulk = client_for("acme_manager", host="acme").post("/cases/", {"case": [str(case.pk)]})
    assert bulk.status_code == 200 and "Place the chosen cases" in text(bulk) and "/litigation/escalate/" not in text(bulk)


def test_a_placed_case_is_recalled_when_escalated(world, client_for):
    case = new_case(world, "ESC-PLACED-001")
    with in_acme(world):
        placement = Placement.objects.create(case=case, partner=world.orgs["xagency"], ends_at=timezone.now() + datetime.timedelta(days=30))
    client_for("acme_legal", host="acme").post(
        "/litigation/escalate/", {"contracts": "ESC-PLACED-001", "confirm": "1", "team": "in_house", "reason": "委外无果"}
    )
    with in_acme(world):
        placement.refresh_from_db()
        assert placement.status == PlacementStatus.RECALLED
        assert MatterLoan.objects.filter(case=case, active=True).exists()


def test_refusals_are_shown_in_words(world, client_for):
    case = new_case(world, "ESC-REFUSE-001")
    client = client_for("acme_legal", host="acme")
    body = {"contracts": "ESC-REFUSE-001", "confirm": "1", "team": "in_house"}
    # A lawyer of another team (law firm L's) for the in-house team.
    wrong = client.post("/litigation/escalate/", body | {"reason": "x", "lawyer": world.people["l_lawyer"].user.pk}, follow=True)
    assert any("is not a Lawyer of the chosen legal team" in m for m in messages_of(wrong))
    client.post("/litigation/escalate/", body | {"reason": "第一次"})
    again = client.post("/litigation/escalate/", body | {"reason": "第二次"}, follow=True)
    assert any("Already in an open matter: ESC-REFUSE-001" in m for m in messages_of(again))
    with in_acme(world):
        assert Matter.objects.filter(loans__case=case).count() == 1


@pytest.mark.parametrize("persona", ["acme_lawyer", "acme_manager", "l_lawyer", "x_admin"])
def test_who_may_not_escalate_is_refused(world, persona, client_for):
    case = new_case(world, "ESC-DENY-001")
    client = client_for(persona, host="acme")
    assert client.get("/litigation/escalate/", {"case": str(case.pk)}).status_code == 403
    assert (
        client.post("/litigation/escalate/", {"contracts": "ESC-DENY-001", "confirm": "1", "team": "in_house", "reason": "x"}).status_code
        == 403
    )
    with in_acme(world):
        assert not Matter.objects.filter(loans__case=case).exists()


def test_many_cases_show_counts_not_each_case(world, client_for):
    with in_acme(world):
        cases = [CaseFactory(contract_no=f"ESC-MANY-{n:03d}", principal_due=Decimal("1000.00")) for n in range(51)]
    response = client_for("acme_legal", host="acme").post("/litigation/escalate/", {"contracts": " ".join(c.contract_no for c in cases)})
    body = text(response)
    assert "for this selection of 51 cases, the counts" in body
    assert "Below the balance threshold" in body and "ESC-MANY-000</a>" not in body


def test_criminal_referral_from_the_case_page(world, client_for):
    case = new_case(world, "ESC-FRAUD-001")
    client = client_for("acme_manager", host="acme")  # referral.manage, without matter.view
    page = text(client.get(f"/cases/{case.pk}/"))
    assert "Criminal referrals" in page and "Escalate to litigation" not in page
    response = client.post(
        f"/litigation/cases/{case.pk}/referral/",
        {"reported_on": "2026-11-30", "authority": "上海市公安局徐汇分局", "report_number": "沪公徐2026-77", "grounds": "冒名借款"},
    )
    assert response.status_code == 302
    with in_acme(world):
        referral = CriminalReferral.objects.get(case=case)
        assert (referral.authority, referral.recorded_by_id) == ("上海市公安局徐汇分局", world.people["acme_manager"].user.pk)
        assert RiskFlag.FRAUD in Case.objects.get(pk=case.pk).risk_flags
    assert "沪公徐2026-77" in text(client.get(f"/cases/{case.pk}/"))
    # The fraud flag is a hint against a civil suit on the escalation screen.
    assert "Suspected fraud" in text(client_for("acme_legal", host="acme").get("/litigation/escalate/", {"case": str(case.pk)}))


def test_referral_refused_without_referral_manage(world, client_for):
    case = new_case(world, "ESC-FRAUD-002")
    for persona in ("acme_lawyer", "acme_finance", "l_lawyer"):
        response = client_for(persona, host="acme").post(
            f"/litigation/cases/{case.pk}/referral/", {"reported_on": "2026-11-30", "authority": "x", "grounds": "y"}
        )
        assert response.status_code == 403
    with in_acme(world):
        assert not CriminalReferral.objects.filter(case=case).exists()


def test_the_law_firm_sees_the_matter_panel_on_its_case(world, client_for):
    lit = world.litigation
    with in_acme(world):
        case_id = MatterLoan.objects.get(matter_id=lit.l_matter.pk).case_id
    page = text(client_for("l_lawyer", host="acme").get(f"/cases/{case_id}/"))
    assert lit.l_matter.number in page and "Escalate to litigation" not in page and "Criminal referrals" not in page
