"""The demo's litigation (诉讼催收): matters at every stage, each complete enough to build its filing packet.

Written through the services real work uses: the plaintiff's particulars and a law firm's fee agreement as the
legal manager records them, escalation (litigation.escalation: recalls placements, one matter per borrower), the
filing elements a paralegal completes, evidence uploaded as files (sealed at rest), stages recorded by
litigation.stages (deadlines, limitation interruption). The exhibits are small documents rendered from the case's
own figures (a loan contract, a disbursement voucher, a repayment statement, a collection notice), so a packet built
from a demo matter reads like one built from a real file. Idempotent: a lender that has matters gets no more.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.html import escape

from litigation import costs, court_fees, escalation, stages
from litigation.models import (
    DocumentKind,
    LegalFeeAgreement,
    Matter,
    MatterDocument,
    Outcome,
    PlaintiffProfile,
    Procedure,
    Stage,
)
from portal.fees.documents import font_configuration
from portal.lib import filecrypt
from portal.lib.money import format_cny
from portal.models import Case, CaseStatus

MATTERS_PER_LENDER = 4  # one per stage the screens show (each renders four exhibits: about a second)
COURTS = ("上海市浦东新区人民法院", "上海金融法院", "广州互联网法院")


@dataclass(frozen=True)
class PlaintiffSpec:
    credit_code: str
    address: str
    representative: str
    title: str
    phone: str
    organisation_type: str
    lender_type: str = "financial_institution"


PLAINTIFFS = {
    "acme": PlaintiffSpec("91310000MA1FL8Y21K", "上海市浦东新区陆家嘴环路1000号25层", "周建国", "董事长", "021-68881234", "有限责任公司"),
    "beta": PlaintiffSpec(
        "91440300MA5FQ7LX3B", "深圳市南山区粤海街道科技南路18号9层", "陈晓明", "执行董事", "0755-86661234", "有限责任公司"
    ),
}


def _render(html: str) -> bytes:
    """A one-page exhibit as a PDF (WeasyPrint; fetches nothing)."""
    from weasyprint import CSS, HTML

    css = CSS(
        string="@page { size: A4; margin: 2.2cm } body { font-family: 'Noto Serif CJK SC', serif; font-size: 11pt; line-height: 1.7 }"
        " h1 { text-align: center; font-size: 17pt } table { border-collapse: collapse; width: 100% }"
        " td, th { border: 0.5pt solid #000; padding: 3pt 5pt; font-size: 10pt } .r { text-align: right }",
        font_config=font_configuration(),
    )
    return HTML(string=html).write_pdf(stylesheets=[css], font_config=font_configuration(), pdf_identifier=False)


def _exhibits(*, case: Case, lender_name: str) -> list[tuple[str, str, str, bytes]]:
    """(kind, title, what it proves, PDF bytes) for the case's four usual exhibits."""
    debtor = case.debtor
    signed = case.disbursed_on or case.overdue_since
    rate = case.annual_rate or Decimal("0")
    contract = f"""<h1>个人消费借款合同</h1><p>合同编号：{escape(case.contract_no)}</p>
<p>贷款人（甲方）：{escape(lender_name)}</p><p>借款人（乙方）：{escape(debtor.name)}　身份证号：{escape(debtor.id_number_masked)}</p>
<p>第一条 借款金额：人民币{format_cny(case.loan_amount)}元。</p>
<p>第二条 借款期限：{case.term_months or 12}个月，自{signed:%Y年%m月%d日}起。</p>
<p>第三条 借款年利率为{rate}%，按日计息，日利率＝年利率÷{case.day_count_basis}。</p>
<p>第四条 乙方逾期还款的，自逾期之日起就逾期本金按借款利率上浮50%计收罚息；甲方有权宣布全部借款提前到期。</p>
<p>第五条 乙方还款依次冲抵费用、利息、本金。</p>
<p>第六条 因本合同发生的争议，由甲方住所地人民法院管辖。</p>
<p>本合同以数据电文形式于{signed:%Y年%m月%d日}在线签订，双方电子签名与手写签名具有同等效力。</p>"""
    voucher = f"""<h1>放款凭证</h1><table><tr><th>合同编号</th><td>{escape(case.contract_no)}</td></tr>
<tr><th>收款人</th><td>{escape(debtor.name)}</td></tr><tr><th>放款金额</th><td>人民币{format_cny(case.loan_amount)}元</td></tr>
<tr><th>放款日期</th><td>{signed:%Y-%m-%d}</td></tr><tr><th>放款状态</th><td>成功</td></tr></table>
<p>特此证明。　{escape(lender_name)}（资金清算部）</p>"""
    rows = (
        "".join(
            f"<tr><td>{p.paid_on:%Y-%m-%d}</td><td class='r'>{format_cny(p.amount)}</td><td>{escape(p.reference)}</td></tr>"
            for p in case.payments.order_by("paid_on")[:30]
        )
        or "<tr><td colspan='3'>借款人逾期后未再还款</td></tr>"
    )
    history = f"""<h1>还款明细</h1><p>合同编号：{escape(case.contract_no)}　借款人：{escape(debtor.name)}</p>
<p>逾期起始日：{case.overdue_since:%Y-%m-%d}　截至目前尚欠本金：人民币{format_cny(case.principal_due)}元</p>
<table><tr><th>还款日期</th><th>金额（元）</th><th>流水号</th></tr>{rows}</table>"""
    notice_day = case.overdue_since + datetime.timedelta(days=30)
    notice = f"""<h1>逾期还款催告函</h1><p>{escape(debtor.name)}：</p>
<p>您于{signed:%Y年%m月%d日}与我司签订的借款合同（编号{escape(case.contract_no)}）项下借款已于{case.overdue_since:%Y年%m月%d日}逾期，
截至本函发出之日尚欠本金人民币{format_cny(case.principal_due)}元。请于收到本函之日起七日内清偿，否则我司将依法提起诉讼。</p>
<p style="text-align:right">{escape(lender_name)}<br>{notice_day:%Y年%m月%d日}</p><p>送达方式：短信及电子邮件，已送达。</p>"""
    return [
        (
            DocumentKind.LOAN_CONTRACT,
            "个人消费借款合同",
            "证明原被告之间存在借款合同关系，以及借款金额、利率、罚息和管辖的约定",
            _render(contract),
        ),
        (DocumentKind.DISBURSEMENT, "放款凭证", "证明原告已按约向被告发放借款", _render(voucher)),
        (DocumentKind.REPAYMENT_HISTORY, "还款明细", "证明被告的还款情况及逾期事实", _render(history)),
        (DocumentKind.COLLECTION_NOTICE, "逾期还款催告函", "证明原告已向被告催收，诉讼时效中断", _render(notice)),
    ]


def _store_exhibit(matter: Matter, kind: str, title: str, proves: str, content: bytes, by) -> MatterDocument:
    document = MatterDocument(
        matter=matter,
        kind=kind,
        title=title,
        source="原告提供",
        proves=proves,
        content_type="application/pdf",
        size=len(content),
        pages=max(1, content.count(b"/Type /Page") - content.count(b"/Type /Pages")),
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=f"{title}.pdf",
        uploaded_by=by,
    )
    document.file.name = filecrypt.save(document.file.storage, f"litigation/documents/{matter.pk}/{document.pk.hex}", content)
    document.save()
    return document


def _candidates(today: datetime.date, count: int) -> list[Case]:
    """Large, long-overdue cases worked in-house (the agencies' portfolios stay as allocated), still well inside
    limitation, with the rate and dates a complaint needs."""
    return list(
        Case.objects.filter(
            status__in=[CaseStatus.INTERNAL, CaseStatus.NEW],
            limitation_expires_on__gt=today + datetime.timedelta(days=200),
            annual_rate__isnull=False,
            disbursed_on__isnull=False,
            principal_due__gte=Decimal("3000"),
            matter_loans__isnull=True,
        )
        .select_related("debtor")
        .order_by("-principal_due", "contract_no")[:count]
    )


def seed_litigation(*, lender_slug: str, lender_name: str, legal_manager, law_firm=None, lawyer=None, paralegal=None, today=None) -> int:
    """Matters for one lender (in its schema), if it has none yet. Returns how many were created."""
    today = today or timezone.localdate()
    if Matter.objects.exists():
        return 0
    spec = PLAINTIFFS["beta"] if lender_slug.endswith("beta") else PLAINTIFFS["acme"]  # tests seed a prefixed cast
    PlaintiffProfile.objects.update_or_create(
        pk=1,
        defaults={
            "name": lender_name,
            "unified_social_credit_code": spec.credit_code,
            "address": spec.address,
            "legal_representative": spec.representative,
            "legal_representative_title": spec.title,
            "phone": spec.phone,
            "organisation_type": spec.organisation_type,
            "lender_type": spec.lender_type,
            "service_address": spec.address + "法务部",
            "service_recipient": "法务部收件人",
            "service_phone": spec.phone,
            "updated_by": legal_manager,
        },
    )
    if law_firm is not None:
        LegalFeeAgreement.objects.get_or_create(
            firm=law_firm,
            defaults={
                "fixed_fee": Decimal("800.00"),
                "success_fee_percent": Decimal("8"),
                "reference": "法律服务协议-2026-01",
                "created_by": legal_manager,
            },
        )
    cases = _candidates(today, MATTERS_PER_LENDER)
    matters = []
    for index, case in enumerate(cases):
        [matter] = escalation.escalate(
            cases=[case],
            firm=law_firm,
            lawyer=lawyer,
            paralegal=paralegal,
            by=legal_manager,
            reason="借款人有稳定收入但拒不还款，委外催收无果",
        )
        matter.court = COURTS[index % len(COURTS)]
        matter.claim_cutoff = today - datetime.timedelta(days=1)
        matter.procedure = Procedure.SMALL_CLAIMS if case.principal_due < Decimal("20000") else Procedure.SUMMARY
        matter.claim_enforcement_costs = Decimal("2000.00") if law_firm is not None else Decimal("0.00")
        matter.enforcement_costs_detail = "律师费" if law_firm is not None else ""
        matter.jurisdiction_clause = "借款合同第六条：由贷款人住所地人民法院管辖"
        matter.save()
        loan = matter.loans.get()
        loan.contract_name = "个人消费借款合同"
        loan.contract_signed_on = case.disbursed_on
        loan.contract_place = "线上签订"
        loan.penalty_rate = (case.annual_rate * Decimal("1.5")).quantize(Decimal("0.0001"))  # 上浮50%, the contract's 第四条
        loan.interest_paid_to = case.last_payment_on or case.overdue_since
        loan.due_date = case.accelerated_on or case.overdue_since
        loan.save()
        for kind, title, proves, content in _exhibits(case=case, lender_name=lender_name):
            _store_exhibit(matter, kind, title, proves, content, paralegal or legal_manager)
        matters.append(matter)
    recorder = lawyer or legal_manager
    # One matter per stage the screens show: filed, in mediation with a plan, judged and served, and two still to file.
    if len(matters) > 0:
        stages.record_stage(
            matter=matters[0],
            stage=Stage.FILED,
            entered_on=today - datetime.timedelta(days=20),
            court=matters[0].court,
            court_case_number=f"（{today.year}）沪0115民初{3100 + len(lender_slug)}号",
            procedure=matters[0].procedure,
            by=recorder,
        )
    if len(matters) > 1:
        agreed = today - datetime.timedelta(days=45)
        stages.record_stage(
            matter=matters[1],
            stage=Stage.PRE_SUIT_MEDIATION,
            entered_on=agreed,
            outcome=Outcome.AGREED,
            effective_on=agreed,
            note="诉前调解达成分期还款协议",
            instalments=[(agreed + datetime.timedelta(days=30 * n), Decimal("1000.00")) for n in range(1, 7)],
            by=recorder,
        )
    if len(matters) > 2:
        filed = today - datetime.timedelta(days=120)
        stages.record_stage(
            matter=matters[2],
            stage=Stage.FILED,
            entered_on=filed,
            court=matters[2].court,
            court_case_number=f"（{today.year}）沪74民初{820 + len(lender_slug)}号",
            by=recorder,
        )
        balance = sum((loan.case.balance for loan in matters[2].loans.select_related("case")), Decimal("0.00"))
        stages.record_stage(
            matter=matters[2],
            stage=Stage.JUDGMENT,
            entered_on=today - datetime.timedelta(days=30),
            outcome=Outcome.WON,
            amount=balance,
            served_on=today - datetime.timedelta(days=25),
            effective_on=today - datetime.timedelta(days=9),  # the 15-day appeal window passed unused (CPL art. 171)
            performance_due_on=today + datetime.timedelta(days=1),  # "within ten days of the judgment taking effect"
            by=recorder,
        )
        # The acceptance fee advanced on filing (诉讼费用交纳办法 art. 13; halved in summary procedure, art. 16). The
        # judgment puts it on the debtor (art. 29); the court refunded it after the judgment took effect.
        fee = court_fees.payable_acceptance_fee(balance, procedure=matters[2].procedure or Procedure.ORDINARY)
        costs.record_cost(matter=matters[2], kind="court_fee", amount=fee, incurred_on=filed, by=recorder, note="案件受理费")
        costs.record_recovery(
            matter=matters[2],
            amount=fee,
            received_on=today - datetime.timedelta(days=3),
            source="court_refund",
            by=recorder,
            note="判决生效后法院退还预交的受理费",
        )
    return len(matters)


def demo_matter_ids() -> list[str]:
    """The lender's matters, the ones still to be filed (whose packet a paralegal would build now) first."""
    order = {Stage.ESCALATED: 0, Stage.FILED: 1}
    matters = sorted(Matter.objects.order_by("number"), key=lambda m: (order.get(m.stage, 2), m.number))
    return [str(m.pk) for m in matters]
