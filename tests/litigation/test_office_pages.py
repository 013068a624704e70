"""The legal office's pages: who may open them, what they show, and what their forms accept and refuse."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from litigation.models import Deadline, DeadlineKind, LegalCost, LegalFeeAgreement, PlaintiffProfile, Stage
from litigation.stages import record_stage
from tenants import services
from tenants.models import EngagementStatus
from tests.factories import CaseFactory
from tests.litigation.support import escalated_matter, legal_manager

FORBIDDEN_PERSONAS = ["x_collector", "x_admin"]
PAGES = ["/legal/deadlines/", "/legal/pipeline/", "/legal/costs/", "/legal/costs/export.csv", "/legal/settings/", "/legal/court-fees/"]


def _text(response):
    return response.content.decode()


def in_acme(world):
    """A request leaves the connection on the public schema: read acme's rows again inside its schema."""
    return tenant_context(world.lenders["acme"])


@pytest.mark.parametrize("persona", FORBIDDEN_PERSONAS)
@pytest.mark.parametrize("path", PAGES)
def test_collectors_and_agencies_are_refused_every_legal_page(persona, path, client_for):
    assert client_for(persona, host="acme").get(path).status_code == 403


@pytest.mark.parametrize(
    "persona,path",
    [
        ("acme_finance", "/legal/deadlines/"),  # finance has no matter pages
        ("acme_manager", "/legal/pipeline/"),  # collections manager: no litigation figures
        ("l_paralegal", "/legal/pipeline/"),
        ("acme_lawyer", "/legal/settings/"),
        ("l_lawyer", "/legal/settings/"),
        ("acme_manager", "/legal/court-fees/"),
    ],
)
def test_roles_without_the_action_are_refused(persona, path, client_for):
    assert client_for(persona, host="acme").get(path).status_code == 403


# ----------------------------------------------------------------- deadlines


@pytest.fixture
def deadline_matters(acme):
    today = timezone.localdate()
    firm_matter = escalated_matter(acme, firm="lfirm", lawyer=acme.people["l_lawyer"].user)
    inhouse = escalated_matter(acme)
    overdue = Deadline.objects.get(matter=firm_matter, kind=DeadlineKind.LIMITATION)
    Deadline.objects.filter(pk=overdue.pk).update(due_on=today - datetime.timedelta(days=3))
    later = Deadline.objects.get(matter=inhouse, kind=DeadlineKind.LIMITATION)
    Deadline.objects.filter(pk=later.pk).update(due_on=today + datetime.timedelta(days=20))
    return firm_matter, inhouse, overdue, later


def test_deadlines_page_shows_overdue_first_then_the_next_30_days(deadline_matters, client_for):
    firm_matter, inhouse, overdue, later = deadline_matters
    page = _text(client_for("acme_legal", host="acme").get("/legal/deadlines/"))
    week, _, rest = page.partition("Later, within 30 days")
    assert firm_matter.number in week and "Overdue by 3 days" in week
    assert inhouse.number in rest and inhouse.number not in week
    assert "Mark done" in page


def test_a_law_firm_sees_only_its_own_matters_deadlines(deadline_matters, client_for):
    firm_matter, inhouse, overdue, later = deadline_matters
    page = _text(client_for("l_lawyer", host="acme").get("/legal/deadlines/"))
    assert firm_matter.number in page and inhouse.number not in page


def test_mark_a_deadline_done(deadline_matters, client_for, acme):
    firm_matter, inhouse, overdue, later = deadline_matters
    response = client_for("acme_legal", host="acme").post(f"/legal/deadlines/{overdue.pk}/done/", {"next": "/legal/deadlines/"})
    assert response.status_code == 302 and response["Location"] == "/legal/deadlines/"
    with in_acme(acme):
        overdue.refresh_from_db()
    assert overdue.done_at is not None and overdue.done_by == acme.people["acme_legal"].user
    assert firm_matter.number not in _text(client_for("acme_legal", host="acme").get("/legal/deadlines/")).partition("Later")[0]


def test_marking_done_needs_matter_edit_and_a_visible_matter(deadline_matters, client_for, acme):
    firm_matter, inhouse, overdue, later = deadline_matters
    assert client_for("acme_admin", host="acme").post(f"/legal/deadlines/{overdue.pk}/done/").status_code == 403
    assert client_for("l_lawyer", host="acme").post(f"/legal/deadlines/{later.pk}/done/").status_code == 404  # in-house matter
    with in_acme(acme):
        later.refresh_from_db()
    assert later.done_at is None


# ----------------------------------------------------------------- pipeline

PAGE_COURT = "测试市页面人民法院"


@pytest.fixture
def pipeline_matters(acme):
    manager = legal_manager(acme)
    case = CaseFactory(principal_due=Decimal("12000.00"), interest_due=Decimal("0"), penalty_due=Decimal("0"), fees_due=Decimal("0"))
    filed = escalated_matter(acme, cases=[case], firm="lfirm")
    record_stage(
        matter=filed, stage=Stage.FILED, entered_on=timezone.localdate(), court=PAGE_COURT, court_case_number="（2026）页1号", by=manager
    )
    return filed


def test_pipeline_page_shows_the_funnel_of_a_court(pipeline_matters, client_for):
    page = _text(client_for("acme_legal", host="acme").get("/legal/pipeline/", {"court": PAGE_COURT}))
    assert "<svg" in page and "Matters at each step" in page
    assert "1 · ¥12,000.00" in page  # escalated and filed: one matter claiming 12,000
    assert "0 · ¥0.00" in page  # nobody recovered yet
    assert PAGE_COURT in page and "By legal team" in page


@pytest.mark.parametrize("persona", ["acme_finance", "acme_admin", "acme_lawyer"])
def test_lender_roles_with_pipeline_view_see_every_matter(persona, pipeline_matters, client_for):
    page = _text(client_for(persona, host="acme").get("/legal/pipeline/", {"court": PAGE_COURT}))
    assert "1 · ¥12,000.00" in page


def test_a_law_firms_lawyer_sees_only_the_firms_pipeline(pipeline_matters, acme, client_for):
    inhouse_case = CaseFactory(principal_due=Decimal("7777.00"))
    record_stage(
        matter=escalated_matter(acme, cases=[inhouse_case]),
        stage=Stage.FILED,
        entered_on=timezone.localdate(),
        court=PAGE_COURT,
        court_case_number="（2026）页2号",
        by=legal_manager(acme),
    )
    lender_page = _text(client_for("acme_legal", host="acme").get("/legal/pipeline/", {"court": PAGE_COURT}))
    firm_page = _text(client_for("l_lawyer", host="acme").get("/legal/pipeline/", {"court": PAGE_COURT}))
    assert "2 · " in lender_page
    assert "1 · ¥12,000.00" in firm_page and "7,777" not in firm_page and "By legal team" not in firm_page


# ----------------------------------------------------------------- costs


@pytest.fixture
def cost_matter(acme):
    return escalated_matter(acme, firm="lfirm")


def test_record_a_cost_on_a_matter(cost_matter, client_for, acme):
    client = client_for("l_paralegal", host="acme")
    page = _text(client.get(f"/legal/matters/{cost_matter.pk}/costs/"))
    assert "No costs recorded yet." in page and "Record the cost" in page
    body = {"kind": "court_fee", "amount": "375.00", "incurred_on": timezone.localdate().isoformat(), "recoverable": "on", "note": ""}
    response = client.post(f"/legal/matters/{cost_matter.pk}/costs/new/", body)
    assert response.status_code == 302
    with in_acme(acme):
        cost = LegalCost.objects.get(matter=cost_matter)
    assert cost.amount == Decimal("375.00") and cost.recoverable and not cost.paid_by_firm
    page = _text(client.get(f"/legal/matters/{cost_matter.pk}/costs/"))
    assert "¥375.00" in page and "Court acceptance fee" in page


def test_a_refused_cost_is_explained(cost_matter, client_for, acme):
    client = client_for("acme_legal", host="acme")
    body = {"kind": "court_fee", "amount": "-375.00", "incurred_on": timezone.localdate().isoformat(), "note": ""}
    response = client.post(f"/legal/matters/{cost_matter.pk}/costs/new/", body)
    assert response.status_code == 400
    assert "A negative amount corrects an earlier line" in _text(response)
    body |= {"amount": "12.345"}
    assert "Ensure that there are no more than 2 decimal places." in _text(client.post(f"/legal/matters/{cost_matter.pk}/costs/new/", body))
    with in_acme(acme):
        assert not LegalCost.objects.filter(matter=cost_matter).exists()


def test_cost_pages_refuse_who_may_not(cost_matter, client_for, acme):
    assert client_for("acme_finance", host="acme").get(f"/legal/matters/{cost_matter.pk}/costs/").status_code == 403
    assert client_for("acme_admin", host="acme").post(f"/legal/matters/{cost_matter.pk}/costs/new/", {}).status_code == 403
    with in_acme(acme):
        other = escalated_matter(acme)  # in-house: not the law firm's
    assert client_for("l_lawyer", host="acme").get(f"/legal/matters/{other.pk}/costs/").status_code == 404


def test_lender_wide_costs_page_and_csv_export(cost_matter, acme, client_for):
    from litigation.costs import record_cost

    record_cost(
        matter=cost_matter,
        kind="service_cost",
        amount=Decimal("60.00"),
        incurred_on=timezone.localdate(),
        by=legal_manager(acme),
        note="公告费",
    )
    client = client_for("acme_finance", host="acme")
    page = _text(client.get("/legal/costs/", {"kind": "service_cost"}))
    assert cost_matter.number in page and "¥60.00" in page and timezone.localdate().strftime("%Y-%m") in page
    response = client.get("/legal/costs/export.csv", {"kind": "service_cost"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Matter"
    line = next(row for row in rows if row[0] == cost_matter.number)
    assert line[4] == "Service costs" and line[5] == "60.00" and line[8] == "公告费"
    assert all(row[4] == "Service costs" for row in rows[1:])


# ----------------------------------------------------------------- settings


def test_plaintiff_particulars_prefilled_with_the_lenders_name_then_saved(acme, client_for):
    PlaintiffProfile.objects.filter(pk=1).delete()
    client = client_for("acme_legal", host="acme")
    page = _text(client.get("/legal/settings/"))
    assert acme.lenders["acme"].name in page and "Not saved yet" in page
    body = {
        "name": "安信消费金融有限公司",
        "unified_social_credit_code": "91310000MA1FL1234X",
        "organisation_type": "有限责任公司",
        "lender_type": "financial_institution",
        "address": "上海市浦东新区陆家嘴环路1000号",
        "legal_representative": "王大明",
        "service_email": "legal@acme.example",
    }
    assert client.post("/legal/settings/", body).status_code == 302
    with in_acme(acme):
        profile = PlaintiffProfile.objects.get(pk=1)
    assert profile.name == "安信消费金融有限公司" and profile.updated_by == acme.people["acme_legal"].user
    response = client.post("/legal/settings/", body | {"unified_social_credit_code": "123"})
    assert response.status_code == 400 and "A unified social credit code has 18 characters." in _text(response)


@pytest.fixture
def second_firm(acme):
    """Law firm N engaged with acme (active), and law firm O not engaged."""
    engaged = services.create_organisation(slug="nfirm", name="律新律师事务所 N", kind="law_firm")
    engagement = services.engage_partner(lender=acme.lenders["acme"], partner=engaged)
    services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
    stranger = services.create_organisation(slug="ofirm", name="律远律师事务所 O", kind="law_firm")
    return engaged, stranger


def test_only_engaged_law_firms_without_an_agreement_can_be_chosen(second_firm, client_for, acme):
    engaged, stranger = second_firm
    client = client_for("acme_legal", host="acme")
    page = _text(client.get("/legal/settings/fee-agreements/new/"))
    assert engaged.name in page and stranger.name not in page
    assert "律正律师事务所 L" not in page  # L already has its agreement
    refused = client.post("/legal/settings/fee-agreements/new/", {"firm": stranger.pk, "fixed_fee": "500", "success_fee_percent": "5"})
    assert refused.status_code == 400 and "Select a valid choice" in _text(refused)
    too_much = client.post("/legal/settings/fee-agreements/new/", {"firm": engaged.pk, "fixed_fee": "500", "success_fee_percent": "150"})
    assert too_much.status_code == 400 and "The success fee is a percentage from 0 to 100." in _text(too_much)
    created = client.post(
        "/legal/settings/fee-agreements/new/",
        {"firm": engaged.pk, "reference": "N-2026", "fixed_fee": "500.00", "success_fee_percent": "6.5"},
    )
    assert created.status_code == 302
    with in_acme(acme):
        agreement = LegalFeeAgreement.objects.get(firm=engaged)
    assert (agreement.fixed_fee, agreement.success_fee_percent) == (Decimal("500.00"), Decimal("6.5"))
    assert engaged.name in _text(client.get("/legal/settings/"))


def test_edit_a_fee_agreement(acme, client_for):
    agreement = LegalFeeAgreement.objects.get(firm=acme.orgs["lfirm"])
    client = client_for("acme_admin", host="acme")
    page = _text(client.get(f"/legal/settings/fee-agreements/{agreement.pk}/"))
    assert "律正律师事务所 L" in page and "matters escalated from now on" in page
    response = client.post(
        f"/legal/settings/fee-agreements/{agreement.pk}/", {"reference": "L-2027", "fixed_fee": "900.00", "success_fee_percent": "9"}
    )
    assert response.status_code == 302
    with in_acme(acme):
        agreement.refresh_from_db()
    assert (agreement.reference, agreement.fixed_fee, agreement.success_fee_percent) == ("L-2027", Decimal("900.00"), Decimal("9"))


# ----------------------------------------------------------------- court fees


def test_court_fee_calculator_shows_every_fee_with_its_article(client_for):
    # By hand, 诉讼费用交纳办法 arts. 13–14 on 35,000: acceptance 50 + 2.5% × 25,000 = 675.00; halved (summary, art. 16) 337.50;
    # preservation 30 + 1% × 34,000 = 370.00; payment order 675 / 3 = 225.00; enforcement 50 + 1.5% × 25,000 = 425.00.
    page = _text(client_for("l_paralegal", host="acme").get("/legal/court-fees/", {"amount": "35000", "procedure": "summary"}))
    for figure in ("¥675.00", "¥337.50", "¥370.00", "¥225.00", "¥425.00"):
        assert figure in page
    assert "Acceptance fee payable" in page and "Art. 14(三)" in page and "Art. 13(一)" in page
    assert "The part above ¥20,000,000.00" in page  # the bracket table


def test_court_fee_calculator_ordinary_procedure_pays_the_full_fee(client_for):
    page = _text(client_for("acme_finance", host="acme").get("/legal/court-fees/", {"amount": "35000", "procedure": "ordinary"}))
    assert "The full fee" in page


@pytest.mark.parametrize("amount,message", [("-5", "Ensure this value is greater than or equal to 0."), ("abc", "Enter a number.")])
def test_court_fee_calculator_explains_bad_input(amount, message, client_for):
    page = _text(client_for("acme_legal", host="acme").get("/legal/court-fees/", {"amount": amount, "procedure": "summary"}))
    assert message in page and "Acceptance fee payable" not in page
