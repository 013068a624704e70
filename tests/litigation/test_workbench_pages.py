"""The legal workbench's pages (litigation.views): who sees which matter, and that every form does what it says.

The world (tests/matrix_litigation.py) gives acme two packet-ready matters: law firm L's and law firm M's. A law
firm's people see only their firm's open matters (issue item 8); acme's legal staff see every matter; collectors
never see litigation.
"""

import datetime
import hashlib

import pytest
from django_tenants.utils import tenant_context

from litigation import packets
from litigation.models import (
    ChecklistTick,
    DeadlineKind,
    DocumentKind,
    Matter,
    MatterDocument,
    Packet,
    PacketStatus,
    PreflightOverride,
    Stage,
)
from portal.audit.models import Action, AuditEvent
from portal.lib import filecrypt
from tests.litigation.support import pdf_bytes, png_bytes

DENIED = {403, 404}


@pytest.fixture
def lit(world):
    return world.litigation


def in_acme(world):
    return tenant_context(world.lenders["acme"])


def text(response):
    return response.content.decode("utf-8", "replace")


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# ----------------------------------------------------------------- who sees what


def test_legal_staff_see_every_matter_and_each_firm_only_its_own(world, lit, client_for):
    legal = text(client_for("acme_legal", host="acme").get("/litigation/"))
    assert lit.m_matter.number in legal and lit.l_matter.number in legal
    l_page = text(client_for("l_lawyer", host="acme").get("/litigation/"))
    assert lit.l_matter.number in l_page and "孙律测" in l_page
    assert lit.m_matter.number not in l_page and "庚金丝雀" not in l_page
    m_page = text(client_for("m_lawyer", host="acme").get("/litigation/"))
    assert lit.m_matter.number in m_page and lit.l_matter.number not in m_page


def test_matter_list_filters(world, lit, client_for):
    client = client_for("acme_legal", host="acme")
    by_contract = text(client.get("/litigation/", {"q": "LIT-L-0001"}))
    assert lit.l_matter.number in by_contract and lit.m_matter.number not in by_contract
    by_firm = text(client.get("/litigation/", {"firm": str(world.orgs["mfirm"].pk)}))
    assert lit.m_matter.number in by_firm and lit.l_matter.number not in by_firm
    filed = text(client.get("/litigation/", {"stage": Stage.FILED}))
    assert lit.m_matter.number not in filed and "No matter matches your search." in filed
    mine = text(client_for("l_paralegal", host="acme").get("/litigation/", {"mine": "on"}))
    assert lit.l_matter.number in mine


@pytest.mark.parametrize("persona", ["x_collector", "x_admin", "acme_finance", "acme_manager"])
def test_collectors_and_non_legal_staff_are_refused_the_matter_list(persona, client_for):
    assert client_for(persona, host="acme").get("/litigation/").status_code == 403


def test_law_firm_l_never_opens_m_matter_document_or_packet(world, lit, client_for):
    client = client_for("l_lawyer", host="acme")
    m = lit.m_matter.pk
    for path in (
        f"/litigation/{m}/",
        f"/litigation/{m}/debt-statement/",
        f"/litigation/{m}/documents/{lit.m_document.pk}/",
        f"/litigation/{m}/packets/{lit.m_packet.pk}/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "庚金丝雀" not in text(response)
    # M's document asked for under L's own matter: still nothing.
    assert client.get(f"/litigation/{lit.l_matter.pk}/documents/{lit.m_document.pk}/").status_code == 404
    assert client.get(f"/litigation/{lit.l_matter.pk}/packets/{lit.m_packet.pk}/").status_code == 404


def test_law_firm_m_never_opens_l_matter_document_or_packet(world, lit, client_for):
    with in_acme(world):
        l_packet = packets.build_packet(Matter.objects.get(pk=lit.l_matter.pk), by=world.people["l_lawyer"].user)
    client = client_for("m_lawyer", host="acme")
    lm = lit.l_matter.pk
    for path in (f"/litigation/{lm}/", f"/litigation/{lm}/documents/{lit.l_document.pk}/", f"/litigation/{lm}/packets/{l_packet.pk}/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "孙律测" not in text(response)
    assert client_for("l_lawyer", host="acme").get(f"/litigation/{lm}/packets/{l_packet.pk}/").status_code == 200


def test_law_firm_loses_the_matter_when_it_is_reassigned(world, lit, client_for):
    path = f"/litigation/{lit.l_matter.pk}/"
    lawyer = client_for("l_lawyer", host="acme")
    assert lawyer.get(path).status_code == 200
    response = client_for("acme_legal", host="acme").post(f"{path}reassign/", {"team": "in_house"})
    assert response.status_code == 302
    with in_acme(world):
        assert Matter.objects.get(pk=lit.l_matter.pk).firm is None
    assert lawyer.get(path).status_code == 404
    assert lit.l_matter.number not in text(lawyer.get("/litigation/"))
    # Its cases go with it (litigation.access's law-firm case scope).
    with in_acme(world):
        case_id = lit.l_matter.loans.get().case_id
    assert client_for("l_paralegal", host="acme").get(f"/cases/{case_id}/").status_code == 404


def test_only_lender_staff_with_matter_escalate_may_reassign(lit, client_for):
    for persona in ("l_lawyer", "acme_lawyer"):
        response = client_for(persona, host="acme").post(f"/litigation/{lit.l_matter.pk}/reassign/", {"team": "in_house"})
        assert response.status_code == 403


# ----------------------------------------------------------------- the matter page


def test_matter_page_shows_what_a_lawyer_needs(world, lit, client_for):
    response = client_for("l_lawyer", host="acme").get(f"/litigation/{lit.l_matter.pk}/")
    assert response.status_code == 200
    body = text(response)
    for expected in (
        lit.l_matter.number,
        "孙律测",
        "律正律师事务所 L",
        "Pre-flight check",
        "Generate packet",
        "Record the next stage",
        "Loan contract uploaded",  # the escalated stage's checklist
        "Limitation period",
        "Payments",
        "Collection history",
        "借款合同",
        "12,345.00",  # principal on the books
    ):
        assert expected in body, expected
    assert "Reassign the matter" not in body  # lender staff only
    with in_acme(world):
        assert AuditEvent.objects.filter(action=Action.VIEW_PERSONAL_DATA, object_id=str(lit.l_matter.pk)).exists()


def test_paralegal_may_not_record_stages_nor_approve(world, lit, client_for):
    client = client_for("l_paralegal", host="acme")
    body = text(client.get(f"/litigation/{lit.l_matter.pk}/"))
    assert "Record the next stage" not in body
    today = datetime.date.today().isoformat()
    response = client.post(
        f"/litigation/{lit.l_matter.pk}/stage/", {"stage": "filed", "entered_on": today, "court": "x", "court_case_number": "y"}
    )
    assert response.status_code == 403


def test_record_filed_stage_with_court_and_case_number(world, lit, client_for):
    client = client_for("l_lawyer", host="acme")
    today = datetime.date.today()
    base = {"stage": "filed", "entered_on": today.isoformat(), "court": "上海市浦东新区人民法院", "procedure": "summary"}
    # 立案 without the 案号 is refused, in words, and nothing moves.
    refused = client.post(f"/litigation/{lit.l_matter.pk}/stage/", base, follow=True)
    assert any("court case number" in m for m in messages_of(refused))
    with in_acme(world):
        assert Matter.objects.get(pk=lit.l_matter.pk).stage == Stage.ESCALATED
    client.post(f"/litigation/{lit.l_matter.pk}/stage/", base | {"court_case_number": "(2026)沪0115民初1234号"})
    with in_acme(world):
        matter = Matter.objects.get(pk=lit.l_matter.pk)
        assert (matter.stage, matter.court_case_number, matter.procedure) == (Stage.FILED, "(2026)沪0115民初1234号", "summary")
        # 诉讼费用交纳办法 art. 22: the acceptance fee within 7 days of the court's notice (later if the 7th day is a holiday).
        fee = matter.deadlines.get(kind=DeadlineKind.FEE_PAYMENT)
        assert today + datetime.timedelta(days=7) <= fee.due_on <= today + datetime.timedelta(days=14)
    page = text(client.get(f"/litigation/{lit.l_matter.pk}/"))
    assert "(2026)沪0115民初1234号" in page and "Court fee paid (within 7 days of the notice)" in page


def test_agreed_mediation_records_its_repayment_plan(world, lit, client_for):
    client = client_for("l_lawyer", host="acme")
    today = datetime.date.today()
    post = {"stage": "pre_suit_mediation", "entered_on": today.isoformat(), "outcome": "agreed"}
    post |= {"plan_due_1": (today + datetime.timedelta(days=30)).isoformat(), "plan_amount_1": "1000.00"}
    post |= {"plan_due_2": (today + datetime.timedelta(days=60)).isoformat(), "plan_amount_2": "1500.00"}
    client.post(f"/litigation/{lit.l_matter.pk}/stage/", post)
    with in_acme(world):
        matter = Matter.objects.get(pk=lit.l_matter.pk)
        assert matter.stage == Stage.PRE_SUIT_MEDIATION
        assert [(p.amount, p.due_on) for p in matter.plan.order_by("due_on")] == [
            (1000, today + datetime.timedelta(days=30)),
            (1500, today + datetime.timedelta(days=60)),
        ]
    assert "Repayment plan" in text(client.get(f"/litigation/{lit.l_matter.pk}/"))


def test_tick_and_untick_the_checklist(world, lit, client_for):
    client = client_for("l_paralegal", host="acme")
    path = f"/litigation/{lit.l_matter.pk}/checklist/"
    response = client.post(path, {"stage": "escalated", "key": "contract", "done": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "checklist-items" in text(response)
    with in_acme(world):
        assert ChecklistTick.objects.filter(matter_id=lit.l_matter.pk, stage="escalated", key="contract").exists()
    client.post(path, {"stage": "escalated", "key": "contract", "done": "0"})
    with in_acme(world):
        assert not ChecklistTick.objects.filter(matter_id=lit.l_matter.pk, key="contract").exists()


def test_upload_pdf_and_png_evidence_then_download_and_remove(world, lit, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for("l_paralegal", host="acme")
    path = f"/litigation/{lit.l_matter.pk}/documents/"
    pdf = pdf_bytes("guarantee", pages=3)
    fields = {
        "kind": DocumentKind.GUARANTEE,
        "title": "保证合同",
        "source": "原告提供",
        "proves": "证明保证关系",
        "is_exhibit": "on",
        "stage": "escalated",
    }
    client.post(path, fields | {"file": SimpleUploadedFile("scan.pdf", pdf, content_type="application/pdf")})
    png = png_bytes()
    client.post(
        path,
        fields | {"title": "收据照片", "kind": DocumentKind.OTHER, "file": SimpleUploadedFile("photo.png", png, content_type="image/png")},
    )
    with in_acme(world):
        guarantee = MatterDocument.objects.get(matter_id=lit.l_matter.pk, title="保证合同")
        photo = MatterDocument.objects.get(matter_id=lit.l_matter.pk, title="收据照片")
        assert (guarantee.pages, guarantee.content_type, guarantee.sha256) == (3, "application/pdf", hashlib.sha256(pdf).hexdigest())
        assert (photo.pages, photo.content_type) == (1, "image/png")
        with guarantee.file.storage.open(guarantee.file.name, "rb") as handle:
            assert filecrypt.is_sealed(handle.read())  # sealed at rest
    download = client.get(f"/litigation/{lit.l_matter.pk}/documents/{guarantee.pk}/")
    assert download.status_code == 200 and download.content == pdf and download["Content-Security-Policy"] == "sandbox"
    with in_acme(world):
        assert AuditEvent.objects.filter(action=Action.DOWNLOAD, object_id=str(guarantee.pk)).exists()
    client.post(f"/litigation/{lit.l_matter.pk}/documents/{guarantee.pk}/remove/")
    with in_acme(world):
        assert MatterDocument.objects.get(pk=guarantee.pk).removed_at is not None


def test_a_file_that_is_not_pdf_or_image_is_refused_by_its_content(world, lit, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for("l_paralegal", host="acme")
    fake = SimpleUploadedFile("contract.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf")
    response = client.post(f"/litigation/{lit.l_matter.pk}/documents/", {"kind": "other", "title": "伪装", "file": fake}, follow=True)
    assert any("Only PDF, PNG or JPEG" in m for m in messages_of(response))
    with in_acme(world):
        assert not MatterDocument.objects.filter(matter_id=lit.l_matter.pk, title="伪装").exists()


def test_edit_matter_and_loan_elements(world, lit, client_for):
    client = client_for("l_paralegal", host="acme")
    elements = {
        "cause": "financial_loan",
        "procedure": "ordinary",
        "court": "上海市黄浦区人民法院",
        "claim_cutoff": "2026-06-30",
        "claim_until_paid": "on",
        "claim_enforcement_costs": "500.00",
        "enforcement_costs_detail": "律师费",
        "claim_litigation_costs": "on",
        "jurisdiction_clause": "第十五条：由贷款人住所地法院管辖",
        "mediation_willingness": "no",
        "special_authorisation": "on",
    }
    # Preservation without the amount to preserve is refused in words.
    refused = client.post(f"/litigation/{lit.l_matter.pk}/elements/", elements | {"preservation_requested": "on"}, follow=True)
    assert any("amount to preserve" in m for m in messages_of(refused))
    client.post(f"/litigation/{lit.l_matter.pk}/elements/", elements)
    with in_acme(world):
        loan = lit.l_matter.loans.get()
    prefix = f"loan{loan.pk}-"
    client.post(
        f"/litigation/{lit.l_matter.pk}/loans/{loan.pk}/elements/",
        {
            prefix + "contract_name": "循环贷款合同",
            prefix + "penalty_rate": "24",
            prefix + "apply_cap": "on",
            prefix + "due_date": "2026-01-15",
        },
    )
    with in_acme(world):
        matter = Matter.objects.get(pk=lit.l_matter.pk)
        assert (matter.court, matter.procedure, matter.mediation_willingness) == ("上海市黄浦区人民法院", "ordinary", "no")
        assert str(matter.claim_enforcement_costs) == "500.00" and matter.claim_cutoff == datetime.date(2026, 6, 30)
        loan.refresh_from_db()
        assert (loan.contract_name, str(loan.penalty_rate), loan.due_date) == ("循环贷款合同", "24.0000", datetime.date(2026, 1, 15))


def test_build_download_and_approve_a_packet(world, lit, client_for):
    lawyer = client_for("l_lawyer", host="acme")
    response = lawyer.post(f"/litigation/{lit.l_matter.pk}/packets/")
    assert response.status_code == 302
    with in_acme(world):
        packet = Packet.objects.get(matter_id=lit.l_matter.pk)
    download = lawyer.get(f"/litigation/{lit.l_matter.pk}/packets/{packet.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("inline") and lit.l_matter.number in download["Content-Disposition"]
    assert client_for("l_paralegal", host="acme").post(f"/litigation/{lit.l_matter.pk}/packets/{packet.pk}/approve/").status_code == 403
    lawyer.post(f"/litigation/{lit.l_matter.pk}/packets/{packet.pk}/approve/")
    with in_acme(world):
        packet.refresh_from_db()
        assert packet.status == PacketStatus.APPROVED and packet.approved_by_id == world.people["l_lawyer"].user.pk
    page = text(lawyer.get(f"/litigation/{lit.l_matter.pk}/"))
    assert packet.sha256[:12] in page and "Approved by the lawyer" in page


def test_a_blocked_packet_lists_its_problems_and_an_override_needs_a_reason(world, lit, client_for):
    with in_acme(world):
        MatterDocument.objects.filter(matter_id=lit.l_matter.pk, kind=DocumentKind.DISBURSEMENT).update(
            removed_at=datetime.datetime.now(datetime.UTC)
        )
    lawyer = client_for("l_lawyer", host="acme")
    blocked = lawyer.post(f"/litigation/{lit.l_matter.pk}/packets/", follow=True)
    assert any("disbursement" in m for m in messages_of(blocked))
    with in_acme(world):
        assert not Packet.objects.filter(matter_id=lit.l_matter.pk).exists()
    override = f"/litigation/{lit.l_matter.pk}/preflight/override/"
    no_reason = lawyer.post(override, {"code": "no_disbursement_proof", "reason": "  "}, follow=True)
    assert any("reason" in m for m in messages_of(no_reason))
    assert client_for("l_paralegal", host="acme").post(override, {"code": "no_disbursement_proof", "reason": "x"}).status_code == 403
    with in_acme(world):
        assert not PreflightOverride.objects.filter(matter_id=lit.l_matter.pk).exists()
    lawyer.post(override, {"code": "no_disbursement_proof", "reason": "放款凭证原件已提交法院"})
    with in_acme(world):
        assert PreflightOverride.objects.get(matter_id=lit.l_matter.pk, code="no_disbursement_proof").reason == "放款凭证原件已提交法院"
    lawyer.post(f"/litigation/{lit.l_matter.pk}/packets/")
    with in_acme(world):
        assert Packet.objects.filter(matter_id=lit.l_matter.pk).count() == 1


def test_debt_statement_page_shows_segments_formulas_and_conventions(world, lit, client_for):
    response = client_for("acme_legal", host="acme").get(f"/litigation/{lit.l_matter.pk}/debt-statement/")
    assert response.status_code == 200
    body = text(response)
    assert "LIT-L-0001" in body and "Conventions" in body and "Formula" in body
    # Penalty interest at 27% a year on the 12,345.00 principal after the due date (the loan's elements).
    assert "12,345.00" in body and "27.00%" in body
