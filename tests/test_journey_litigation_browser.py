"""The litigation journey of issue 9 in a real browser (Playwright + Debian chromium), end to end:
the legal manager escalates two loans of one borrower to an engaged law firm → the firm's paralegal completes
the filing elements, uploads the exhibits, sees the pre-flight clear and generates the packet → the firm's
lawyer downloads it (a PDF with the defendant and the complaint in it), approves it and records 立案 with the
court and the case number → the matter is Filed with its court-fee deadline (诉讼费用交纳办法 art. 22), and the
case shows the limitation interrupted by the suit (民法典 art. 195(三)). The matter page once in Chinese.

It runs in a lender, a law firm and people of its own, created for this module and removed after it (the
lender's schema is dropped), so nothing it commits is seen by other tests. The downloaded packet is kept in
test-artifacts/browser/litigation-journey-packet.pdf with its pages as PNG images (pdftoppm), to be looked at.
Screenshots: test-artifacts/browser/litigation-journey-*.png.
"""

import base64
import datetime
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.browser_support import (  # noqa: F401
    ARTIFACTS,
    chromium,
    drop_journey_lender,
    in_lender,
    live_app,
    new_page,
    no_horizontal_overflow,
    off_the_event_loop,
    shot,
)
from tests.intake_support import id_number
from tests.litigation.support import DEBTOR_ID, pdf_bytes
from tests.world import PASSWORD

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect
SLUG = "litjourney"
BORROWER = "钱多多"
OTHER_BORROWER = "孙小宝"
COURT = "上海市浦东新区人民法院"
CASE_NUMBER = "(2026)沪0115民初8888号"
CONTRACTS = ("LITJ-0001", "LITJ-0002")  # the borrower's two loans: one matter
OTHER_CONTRACT = "LITJ-0003"


@pytest.fixture(scope="module")
def litjourney(world, django_db_blocker):
    """A lender with its legal manager and plaintiff particulars; an engaged, licensed and verified law firm with a fee
    agreement, a lawyer and a paralegal; three defaulted loans of two borrowers (valid ID, employer, address)."""
    from litigation.models import LegalFeeAgreement, PlaintiffProfile
    from tenants import services
    from tenants.models import EngagementStatus, LicenceKind, Role
    from tests.factories import CaseFactory, DebtorFactory

    with django_db_blocker.unblock():
        today = timezone.localdate()
        lender = services.create_lender(slug=SLUG, name="诉程消费金融 LitJourney")
        people = {
            "legal": services.add_member(
                organisation=lender.organisation,
                email="litjourney-legal@personas.test",
                full_name="法务经理周",
                role=Role.LEGAL_MANAGER,
                password=PASSWORD,
            ).user
        }
        firm = services.create_organisation(slug=f"{SLUG}-firm", name="明理律师事务所 LJ", kind="law_firm")
        licence = services.add_licence(
            organisation=firm,
            kind=LicenceKind.LAW_FIRM,
            number="LIC-LJ-FIRM",
            issuing_authority="上海市司法局",
            valid_from=today - datetime.timedelta(days=365),
            valid_to=today + datetime.timedelta(days=365),
        )
        services.verify_licence(licence=licence, by=world.people["platform"].user)
        engagement = services.engage_partner(lender=lender, partner=firm)
        services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
        for key, name, role in (("lawyer", "吴律师", Role.LAWYER), ("paralegal", "郑助理", Role.PARALEGAL)):
            people[key] = services.add_member(
                organisation=firm, email=f"litjourney-{key}@personas.test", full_name=name, role=role, password=PASSWORD
            ).user
        cases = {}
        with tenant_context(lender):
            PlaintiffProfile.objects.create(
                name=lender.name,
                unified_social_credit_code="91310000MA1LJ0001K",
                address="上海市黄浦区中山东一路18号",
                legal_representative="陈立本",
                legal_representative_title="董事长",
                phone="021-63001234",
                organisation_type="有限责任公司",
                service_address="上海市黄浦区中山东一路18号法律合规部",
                service_recipient="周法务",
                service_phone="021-63001235",
                service_email="legal@litjourney.example",
                updated_by=people["legal"],
            )
            LegalFeeAgreement.objects.create(
                firm=firm,
                reference="LJ-2026-01",
                fixed_fee=Decimal("600.00"),
                success_fee_percent=Decimal("10"),
                created_by=people["legal"],
            )
            debtors = {
                BORROWER: DebtorFactory(
                    name=BORROWER,
                    id_number=DEBTOR_ID,
                    address="广东省潮州市饶平县黄冈镇中山路18号",
                    employer="潮州市某贸易有限公司",
                    work_address="潮州市湘桥区永护路8号",
                ),
                OTHER_BORROWER: DebtorFactory(
                    name=OTHER_BORROWER,
                    id_number=id_number(4242, region="310101"),
                    address="上海市徐汇区漕溪北路88号",
                    employer="上海某科技有限公司",
                ),
            }
            for contract, debtor, amount, principal, days in (
                (CONTRACTS[0], BORROWER, "20000.00", "15000.00", 400),
                (CONTRACTS[1], BORROWER, "8000.00", "6000.00", 300),
                (OTHER_CONTRACT, OTHER_BORROWER, "12000.00", "9000.00", 350),
            ):
                cases[contract] = CaseFactory(
                    contract_no=contract,
                    debtor=debtors[debtor],
                    loan_amount=Decimal(amount),
                    principal_due=Decimal(principal),
                    interest_due=Decimal("500.00"),
                    annual_rate=Decimal("18"),
                    day_count_basis=360,
                    disbursed_on=today - datetime.timedelta(days=days),
                    term_months=12,
                    dpd=120,
                    accelerated_on=today - datetime.timedelta(days=90),
                )
        connections["default"].set_schema_to_public()
    yield {"lender": lender, "people": people, "firm": firm, "cases": cases}
    with django_db_blocker.unblock():
        drop_journey_lender(lender, org_ids=[lender.organisation_id, firm.pk], users=people.values())


def sign_in(page, app, email):
    """Legal managers, lawyers and paralegals are not among tenants.models.ROLES_REQUIRING_2FA: a password is enough."""
    page.goto(app.url("/accounts/login/", host=SLUG))
    page.locator('input[name="username"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('main button[type="submit"]').click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def duplicate_ids(page):
    """Element ids used more than once on the page: a label then names the wrong field for a screen reader and a click."""
    return page.evaluate(
        """() => { const seen = {}; for (const el of document.querySelectorAll('[id]')) seen[el.id] = (seen[el.id] || 0) + 1;
                   return Object.keys(seen).filter(id => seen[id] > 1); }"""
    )


def unlabelled_fields(page):
    """Visible form fields with no label (no <label for>, no wrapping label, no aria-label)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main input, main select, main textarea')]
              .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
              .map(el => el.name)"""
    )


# The response's status, content type and body (base64) of a GET from the page, with the page's cookies.
FETCH = """async (url) => { const r = await fetch(url, {credentials: 'same-origin'}); const bytes = new Uint8Array(await r.arrayBuffer());
  let binary = ''; for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return {status: r.status, type: r.headers.get('content-type'), body: btoa(binary)}; }"""


def packet_images(pdf_path):
    """The packet's pages as PNG images (pdftoppm -r 60) beside the screenshots: test-artifacts/browser/litigation-packet-NN.png."""
    for old in ARTIFACTS.glob("litigation-packet-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf_path), str(ARTIFACTS / "litigation-packet")], check=True)
    return sorted(ARTIFACTS.glob("litigation-packet-*.png"))


def test_escalate_complete_generate_download_approve_and_file(litjourney, live_app, new_page, tmp_path):
    from litigation.models import Matter, PacketStatus, Stage
    from portal.models import LimitationEventKind

    lender, people, cases = litjourney["lender"], litjourney["people"], litjourney["cases"]
    today = timezone.localdate()

    # 1. The legal manager picks the borrower's two loans on the case list and escalates them to the law firm.
    manager = new_page()
    sign_in(manager, live_app, people["legal"].email)
    manager.goto(live_app.url("/cases/", host=SLUG))
    for contract in CONTRACTS:
        manager.get_by_label(contract, exact=True).check()
    manager.get_by_role("button", name="Escalate to litigation…").click()
    manager.get_by_role("button", name="Escalate the chosen cases…").click()
    expect(manager.get_by_role("heading", name="2 cases are chosen")).to_be_visible()
    hints = manager.locator("ul.hints")
    expect(hints).to_have_count(2)
    expect(hints.first).to_contain_text("Employer or workplace on file")
    expect(hints.first).to_contain_text("Limitation runs until")
    assert duplicate_ids(manager) == [] and unlabelled_fields(manager) == []
    shot(manager, "litigation-journey-01-escalation")
    team = manager.locator("#escalate-form")
    team.locator('select[name="team"]').select_option(str(litjourney["firm"].pk))
    team.locator('select[name="lawyer"]').select_option(label="吴律师")
    team.locator('select[name="paralegal"]').select_option(label="郑助理")
    team.locator('input[name="reason"]').fill("有固定工作，有能力还款但拒不还款")
    manager.get_by_role("button", name="Escalate 2 cases").click()
    expect(manager).to_have_url(re.compile(r"/litigation/[0-9a-f-]{36}/$"))
    expect(manager.locator("h1")).to_contain_text(BORROWER)
    expect(manager.locator("h1")).to_contain_text("Escalated")
    matter = in_lender(lender, lambda: Matter.objects.select_related("firm").get(debtor__name=BORROWER))
    assert matter.firm == litjourney["firm"] and matter.lawyer_id == people["lawyer"].pk and matter.paralegal_id == people["paralegal"].pk
    assert in_lender(lender, lambda: sorted(matter.loans.values_list("case__contract_no", flat=True))) == list(CONTRACTS)
    shot(manager, "litigation-journey-02-matter-escalated")
    manager.goto(live_app.url("/litigation/", host=SLUG))
    expect(manager.locator("main")).to_contain_text(matter.number)
    shot(manager, "litigation-journey-03-matter-list")

    # 2. The paralegal finds the matter on the firm's list, completes the elements and uploads the exhibits.
    paralegal = new_page()
    sign_in(paralegal, live_app, people["paralegal"].email)
    paralegal.goto(live_app.url("/litigation/", host=SLUG))
    expect(paralegal.locator("main")).not_to_contain_text(OTHER_BORROWER)  # not escalated: not the firm's
    paralegal.get_by_role("link", name=matter.number).click()
    expect(paralegal.locator("#preflight")).to_contain_text("No court chosen")
    expect(paralegal.locator("#preflight")).to_contain_text("No loan contract among the exhibits")
    shot(paralegal, "litigation-journey-04-paralegal-matter-before")
    elements = paralegal.locator("#elements form")
    elements.locator('input[name="court"]').fill(COURT)
    elements.locator('input[name="claim_cutoff"]').fill((today - datetime.timedelta(days=1)).isoformat())
    elements.locator('input[name="jurisdiction_clause"]').fill("第二十条：争议由贷款人住所地人民法院管辖")
    elements.get_by_role("button", name="Save the elements").click()
    expect(paralegal.locator("main")).to_contain_text("Filing elements saved.")
    for index, contract in enumerate(CONTRACTS):
        section = paralegal.locator("#loans section.loan").filter(has_text=contract)
        section.locator("summary").click()
        form = section.locator("form")
        form.locator('input[name$="-contract_name"]').fill("个人消费借款合同")
        form.locator('input[name$="-contract_signed_on"]').fill(cases[contract].disbursed_on.isoformat())
        form.locator('input[name$="-contract_place"]').fill("线上签订（上海市）")
        form.locator('input[name$="-penalty_rate"]').fill("24")
        form.locator('input[name$="-interest_paid_to"]').fill((today - datetime.timedelta(days=150 - index * 30)).isoformat())
        form.locator('input[name$="-due_date"]').fill(cases[contract].accelerated_on.isoformat())
        form.get_by_role("button", name="Save").click()
        expect(paralegal.locator("main")).to_contain_text(f"Elements of {contract} saved.")
    exhibits = (
        ("loan_contract", "借款合同", "证明原被告之间存在借款合同关系及约定的利率、罚息", 2),
        ("disbursement", "放款凭证", "证明原告已按约发放借款", 1),
        ("repayment_history", "还款明细", "证明被告的还款情况及逾期事实", 1),
    )
    for kind, title, proves, pages in exhibits:
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(pdf_bytes(kind, pages))
        upload = paralegal.locator("#documents details").filter(has=paralegal.locator('input[type="file"]'))
        upload.locator("summary").click()
        upload.locator('select[name="kind"]').select_option(kind)
        upload.locator('input[name="title"]').fill(title)
        upload.locator('input[name="source"]').fill("原告提供（原件核对一致）")
        upload.locator('input[name="proves"]').fill(proves)
        upload.locator('input[type="file"]').set_input_files(str(path))
        upload.get_by_role("button", name="Upload").click()
        expect(paralegal.locator("main")).to_contain_text(f"{title} uploaded ({pages} pages).")
    expect(paralegal.locator("#documents tbody tr")).to_have_count(3)
    expect(paralegal.locator("#preflight")).not_to_contain_text("Blocks")
    expect(paralegal.locator("#claim")).to_contain_text("Claim total")
    # Form fields' ids must be unique, or a label names the wrong field. (The per-loan collection-history sections
    # repeat id="collection-history", from outsourcing's partial: reported, not a form field.)
    paralegal_ids = [i for i in duplicate_ids(paralegal) if i.startswith("id_")]
    paralegal_unlabelled = unlabelled_fields(paralegal)
    shot(paralegal, "litigation-journey-05-elements-complete")
    paralegal.get_by_role("button", name="Generate packet").click()
    expect(paralegal.locator("main")).to_contain_text("Packet version 1 generated")
    expect(paralegal.locator("#packets")).to_contain_text("Built: awaiting the lawyer's review")
    expect(paralegal.locator("#packets").get_by_role("button", name="Approve")).to_have_count(0)  # a paralegal does not approve
    shot(paralegal, "litigation-journey-06-packet-generated")

    # 3. The lawyer sees the packet awaiting review on the dashboard, downloads and reads it, approves it and records 立案.
    lawyer = new_page()
    sign_in(lawyer, live_app, people["lawyer"].email)
    lawyer.goto(live_app.url("/", host=SLUG))
    expect(lawyer.locator("main")).to_contain_text(matter.number)
    shot(lawyer, "litigation-journey-07-lawyer-dashboard")
    lawyer.goto(live_app.url(f"/litigation/{matter.pk}/", host=SLUG))
    href = lawyer.locator("#packets").get_by_role("link", name="Open PDF").get_attribute("href")
    # Fetched by the page itself (Chromium resolves *.localhost; Playwright's own request client does not), with its session.
    fetched = lawyer.evaluate(FETCH, href)
    assert fetched["status"] == 200 and fetched["type"] == "application/pdf"
    content = base64.b64decode(fetched["body"])
    assert content.startswith(b"%PDF")
    pdf_path = ARTIFACTS / "litigation-journey-packet.pdf"
    pdf_path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], check=True, capture_output=True, text=True).stdout
    assert "民事起诉状" in text and BORROWER in text
    assert COURT in text and CONTRACTS[0] in text and CONTRACTS[1] in text
    assert "诉程消费金融" in text  # the plaintiff
    assert len(packet_images(pdf_path)) >= 8
    lawyer.locator("#packets").get_by_role("button", name="Approve").click()
    expect(lawyer.locator("#packets")).to_contain_text("Approved by the lawyer")
    shot(lawyer, "litigation-journey-08-packet-approved")
    # The repayment-plan fields of the stage form carry their own labels.
    assert not [name for name in unlabelled_fields(lawyer) if name.startswith("plan_")]

    stage_form = lawyer.locator("#stage-form")
    stage_form.locator('select[name="stage"]').select_option("filed")
    stage_form.locator('input[name="entered_on"]').fill(today.isoformat())
    stage_form.locator('input[name="court"]').fill(COURT)
    stage_form.locator('input[name="court_case_number"]').fill(CASE_NUMBER)
    stage_form.locator('select[name="procedure"]').select_option("summary")
    stage_form.get_by_role("button", name="Record").click()
    expect(lawyer.locator("main")).to_contain_text(f"Recorded: Filed on {today.isoformat()}.")
    expect(lawyer.locator("h1 .badge")).to_have_text("Filed")
    expect(lawyer.locator("#stages")).to_contain_text(CASE_NUMBER)
    # 诉讼费用交纳办法 art. 22: the acceptance fee within 7 days of the court's notice (a later working day after a holiday).
    expect(lawyer.locator("#deadlines")).to_contain_text("Court fee payment")
    filed = in_lender(lender, lambda: Matter.objects.get(pk=matter.pk))
    assert (filed.stage, filed.court, filed.court_case_number) == (Stage.FILED, COURT, CASE_NUMBER)
    fee_due = in_lender(lender, lambda: filed.deadlines.get(kind="fee_payment").due_on)
    assert today + datetime.timedelta(days=7) <= fee_due <= today + datetime.timedelta(days=14)
    expect(lawyer.locator("#deadlines")).to_contain_text(fee_due.isoformat())
    assert in_lender(lender, lambda: filed.packets.get().status) == PacketStatus.APPROVED
    shot(lawyer, "litigation-journey-09-filed")
    lawyer.set_viewport_size({"width": 400, "height": 900})
    lawyer.reload()
    overflow = not no_horizontal_overflow(lawyer)
    shot(lawyer, "litigation-journey-10-matter-narrow")
    lawyer.set_viewport_size({"width": 1280, "height": 900})

    # The case: the suit interrupted the limitation period (民法典 art. 195(三)), recorded with the 案号 as evidence.
    lawyer.goto(live_app.url(f"/cases/{cases[CONTRACTS[0]].pk}/", host=SLUG))
    expect(lawyer.locator("#limitation")).to_contain_text(str(LimitationEventKind.LEGAL_ACTION.label))
    expect(lawyer.locator("#limitation")).to_contain_text(CASE_NUMBER)
    shot(lawyer, "litigation-journey-11-case-limitation")

    # The legal office's pages, as the lawyer and the legal manager see them after the filing.
    lawyer.goto(live_app.url("/legal/deadlines/", host=SLUG))
    expect(lawyer.locator("main")).to_contain_text(matter.number)
    shot(lawyer, "litigation-journey-12-deadlines")
    lawyer.goto(live_app.url("/legal/court-fees/?amount=25000&procedure=summary", host=SLUG))
    expect(lawyer.locator("main")).to_contain_text("Acceptance fee payable")
    shot(lawyer, "litigation-journey-13-court-fees")
    lawyer.goto(live_app.url("/litigation/batches/new/", host=SLUG))
    shot(lawyer, "litigation-journey-14-batch")
    manager.goto(live_app.url("/legal/pipeline/", host=SLUG))
    expect(manager.locator("main")).to_contain_text("Filed")
    shot(manager, "litigation-journey-15-pipeline")

    # 4. The matter page in Chinese.
    chinese = new_page(locale="zh-CN")
    sign_in(chinese, live_app, people["lawyer"].email)
    chinese.goto(live_app.url(f"/litigation/{matter.pk}/", host=SLUG))
    expect(chinese.locator("html")).to_have_attribute("lang", re.compile(r"^zh"))
    expect(chinese.locator("h1")).to_contain_text(matter.number)
    expect(chinese.locator("h1 .badge")).to_have_text("已立案")
    expect(chinese.locator("#preflight")).to_contain_text("预检")
    shot(chinese, "litigation-journey-16-matter-zh")

    assert paralegal_ids == [], f"field ids used twice on the matter page: {paralegal_ids}"
    assert paralegal_unlabelled == [], f"fields without a label on the matter page: {paralegal_unlabelled}"
    assert not overflow, "the matter page scrolls sideways at 400px"


def test_the_legal_manager_records_court_costs_the_court_refunded_in_chinese(litjourney, live_app, new_page):
    """After a judgment for the lender (诉讼费用交纳办法 art. 29: the loser bears the costs) the court refunds the acceptance
    fee: the legal manager records it on the matter's costs page in Chinese. The date picker comes filled with today
    (an ISO date: a locale-formatted one would leave it blank and block the form), and the ledger gets its entry."""
    from litigation import costs, escalation, stages
    from litigation.models import CostRecovery, Outcome, Stage
    from portal.ledger.models import Account, LedgerLeg

    lender, people, cases = litjourney["lender"], litjourney["people"], litjourney["cases"]
    today = timezone.localdate()

    def judged():
        by = people["legal"]
        [matter] = escalation.escalate(cases=[cases[OTHER_CONTRACT]], firm=None, by=by, reason="有能力还款但拒不还款")
        stages.record_stage(
            matter=matter, stage=Stage.FILED, entered_on=today, by=by, court=COURT, court_case_number="(2026)沪0115民初9999号"
        )
        costs.record_cost(matter=matter, kind="court_fee", amount=Decimal("126.00"), incurred_on=today, by=by)
        stages.record_stage(matter=matter, stage=Stage.JUDGMENT, entered_on=today, by=by, outcome=Outcome.WON, amount=Decimal("9500.00"))
        return matter

    matter = in_lender(lender, judged)
    page = new_page(locale="zh-CN")
    sign_in(page, live_app, people["legal"].email)
    page.goto(live_app.url(f"/legal/matters/{matter.pk}/costs/", host=SLUG))
    expect(page.locator("#recovered-title")).to_have_text("向债务人收回的诉讼费用")
    expect(page.locator('input[name="received_on"]')).to_have_value(today.isoformat())
    shot(page, "litigation-journey-17-costs-recovered-form-zh")
    form = page.locator(f'form[action$="/legal/matters/{matter.pk}/costs/recovered/"]')
    form.locator('input[name="amount"]').fill("126.00")
    form.locator('select[name="source"]').select_option("court_refund")
    form.get_by_role("button", name="记录收回").click()
    expect(page.locator("main")).to_contain_text("已在")
    expect(page.locator("main")).to_contain_text("待收回：¥0.00")
    shot(page, "litigation-journey-18-costs-recovered-zh")
    recovery = in_lender(lender, lambda: CostRecovery.objects.get(matter=matter))
    assert (recovery.amount, recovery.received_on, recovery.source) == (Decimal("126.00"), today, "court_refund")
    legs = in_lender(
        lender, lambda: set(LedgerLeg.objects.filter(transaction__source_id=str(recovery.pk)).values_list("account", "amount"))
    )
    assert legs == {(Account.CASH, Decimal("126.00")), (Account.COURT_COSTS_RECOVERED, Decimal("-126.00"))}


@pytest.fixture(scope="module", autouse=True)
def _pdftoppm():
    """poppler-utils is installed by the project (bin/system-deps.sh): without it the packet cannot be read back, and
    that is a failure, not a skip."""
    missing = [tool for tool in ("pdftoppm", "pdftotext") if shutil.which(tool) is None]
    assert not missing, f"poppler-utils is missing ({', '.join(missing)}): run make system-deps"
