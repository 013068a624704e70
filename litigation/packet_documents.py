"""The filing packet (立案材料) as one document model: everything the packet prints, read from the matter once.

``build(matter, claim=…)`` reads the matter, its plaintiff profile, debtor, loans, exhibits and claim into frozen
dataclasses of display values (text as printed: Chinese dates, amounts with thousands separators); the templates
under ``templates/documents/`` only lay them out, in court order, and litigation.packets renders them to one PDF.
``inputs_for(matter)`` is the same model as a JSON-serialisable dict of strings — exhibits by their SHA-256, plus a
fingerprint of the layout — and so the packet's identity: the same inputs give the same bytes.

Nothing here depends on the moment of building: the document date is the cut-off date + 1 day (or an explicit
date), never the current time, and the packet is always in settings.DOCUMENT_LANGUAGE (zh-hans), whoever builds it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from portal.lib import filecrypt

from . import claims as claims_module, debt
from .models import EXHIBIT_KINDS, Cause, DocumentKind, LenderType, Matter, MatterDocument, PlaintiffProfile, Procedure

EXHIBIT_SCHEME = "exhibit"  # <img src="exhibit:<sha256>">: served from memory by ExhibitFetcher, nothing else is fetched
PNG, JPEG, PDF = "image/png", "image/jpeg", "application/pdf"

CAUSE_TITLES = {
    Cause.FINANCIAL_LOAN: "金融借款合同纠纷",  # 民事案件案由规定 108.1
    Cause.PRIVATE_LENDING: "民间借贷纠纷",  # 108.3
    Cause.CREDIT_CARD: "信用卡纠纷",  # 115.2
}
PROCEDURE_LABELS = {Procedure.ORDINARY: "普通程序", Procedure.SUMMARY: "简易程序", Procedure.SMALL_CLAIMS: "小额诉讼程序"}
EXHIBIT_LABELS = {
    DocumentKind.LOAN_CONTRACT: "借款合同",
    DocumentKind.DISBURSEMENT: "放款凭证",
    DocumentKind.REPAYMENT_HISTORY: "还款明细",
    DocumentKind.COLLECTION_NOTICE: "催收通知",
    DocumentKind.GUARANTEE: "担保合同",
    DocumentKind.IDENTITY: "主体资格材料",
    DocumentKind.OTHER: "其他证据",
}
REPAYMENT_METHODS = {  # 事实与理由 item 7 (domain doc §2.3)
    "equal_instalments": "等额本息",
    "equal_principal": "等额本金",
    "bullet": "到期一次性还本付息",
    "interest_only": "按月计息、到期一次性还本",
}
SEGMENT_LABELS = {
    debt.INTEREST: "期内利息",
    debt.PENALTY_INTEREST: "罚息",
    debt.COMPOUND_INTEREST: "复利",
    debt.PAYMENT: "还款",
    debt.CAP_REDUCTION: "上限调减",
}
COMPONENT_LABELS = {"principal": "本金", "interest": "期内利息", "penalty_interest": "罚息", "compound_interest": "复利", "fees": "费用"}
MEDIATION = {"yes": "是", "no": "否", "unsure": "暂不确定，想要了解更多内容"}
LAYOUT_FILES = (
    "templates/documents",
    "static/css/packet_pdf.css",
)


def money(amount: Decimal) -> str:
    """15000 → "15,000.00" (as the packet prints amounts, in 元)."""
    return debt.money_text(amount)


def cn_date(day: datetime.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def rate(value: Decimal | None) -> str:
    return debt.rate_text(value) if value is not None else ""


# ----------------------------------------------------------------- exhibits


class ExhibitError(Exception):
    """An exhibit's stored file cannot go into a packet (altered, not a PDF or image, unreadable)."""


@dataclass(frozen=True)
class LoadedExhibit:
    content: bytes
    content_type: str
    pages: int


def exhibit_documents(matter: Matter) -> list[MatterDocument]:
    """The matter's exhibits in court order (EXHIBIT_KINDS: contract, money lent, money repaid, demands …), then upload order."""
    order = {kind: index for index, kind in enumerate(EXHIBIT_KINDS)}
    documents = MatterDocument.objects.filter(matter=matter, is_exhibit=True, removed_at__isnull=True, kind__in=EXHIBIT_KINDS)
    return sorted(documents, key=lambda document: (order[document.kind], document.uploaded_at, str(document.pk)))


def sniff(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def load_exhibit(document: MatterDocument) -> LoadedExhibit:
    """The exhibit's plain bytes, checked against the hash taken at upload, and its page count (PDF: counted)."""
    content = filecrypt.read(document.file.storage, document.file.name)
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise ExhibitError(_("the stored file does not match the file uploaded"))
    kind = sniff(content)
    if kind is None:
        raise ExhibitError(_("not a PDF, PNG or JPEG file"))
    if kind != PDF:
        return LoadedExhibit(content, kind, 1)
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(content)) as pdf:
            pages = len(pdf.pages)
    except pikepdf.PdfError as error:
        raise ExhibitError(_("the PDF cannot be read (%(error)s)") % {"error": str(error)[:80]}) from error
    if pages == 0:
        raise ExhibitError(_("the PDF has no pages"))
    return LoadedExhibit(content, kind, pages)


# ----------------------------------------------------------------- the model


@dataclass(frozen=True)
class Plaintiff:
    name: str
    address: str
    legal_representative: str
    legal_representative_title: str
    legal_representative_id_number: str
    phone: str
    credit_code: str
    organisation_type: str
    financial_institution: bool


@dataclass(frozen=True)
class Defendant:
    name: str
    gender: str  # 男 / 女, from digit 17 of the ID number (GB 11643: odd for men)
    birth_date: str  # digits 7–14 of the ID number
    ethnicity: str  # 民族: not recorded, a blank line to fill in
    employer: str
    phone: str
    address: str
    id_type: str
    id_number: str


@dataclass(frozen=True)
class Agent:
    name: str
    firm: str
    title: str
    phone: str
    special: bool  # 特别授权 (CPL art. 62; 民诉解释 art. 89: "全权代理" alone gives no special powers)


@dataclass(frozen=True)
class Service:
    address: str
    recipient: str
    phone: str
    email: str


@dataclass(frozen=True)
class ClaimLine:
    key: str
    label: str
    amount: Decimal

    @property
    def shown(self) -> str:
        return money(self.amount)


@dataclass(frozen=True)
class LoanFacts:
    """事实与理由 elements 1–9 of one loan (domain doc §2.3)."""

    contract_no: str
    contract_name: str
    signed_on: str
    place: str
    lender: str
    borrower: str
    agreed_amount: str
    disbursed_amount: str
    disbursed_on: str
    term_start: str
    term_end: str
    matured: bool
    annual_rate: str
    penalty_rate: str
    compound: bool
    repayment_method: str
    principal_repaid: str
    interest_paid: str
    interest_paid_to: str
    accelerated_on: str
    overdue_since: str
    overdue_days: str


@dataclass(frozen=True)
class StatementRow:
    start: str
    end: str
    days: str
    base: str
    rate: str
    kind: str
    formula: str
    amount: str


@dataclass(frozen=True)
class LoanStatement:
    """债权计算表 of one loan: header, lines, cap check and totals, as printed."""

    contract_no: str
    borrower: str
    disbursed_on: str
    loan_amount: str
    due_date: str
    repayment_method: str
    annual_rate: str
    penalty_rate: str
    compound: bool
    basis: str
    interest_from: str
    cutoff: str
    opening_principal: str
    rows: tuple[StatementRow, ...]
    cap_rule: str
    cap_limit: str
    cap_charged: str
    cap_allowed: str
    cap_reduction: str
    cap_applied: bool
    cap_lpr: str
    principal: str
    interest: str
    penalty_interest: str
    compound_interest: str
    fees: str
    total: str


@dataclass(frozen=True)
class Exhibit:
    number: int
    kind: str
    title: str
    source: str
    proves: str
    pages: int
    form: str  # 原件 / 复印件
    sha256: str
    content_type: str
    content: bytes = field(default=b"", repr=False, compare=False)  # not an input: identified by sha256

    @property
    def anchor(self) -> str:
        return f"exhibit-{self.number}"

    @property
    def is_pdf(self) -> bool:
        return self.content_type == PDF

    @property
    def page_range(self) -> range:
        return range(1, self.pages + 1)


@dataclass(frozen=True)
class Fees:
    amount: str
    acceptance_fee: str
    summary_fee: str
    payable_fee: str
    halved: bool
    procedure: str
    preservation_fee: str
    preserved_amount: str
    enforcement_fee: str
    payment_order_fee: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str

    @property
    def anchor(self) -> str:
        return f"section-{self.key}"


@dataclass(frozen=True)
class PacketDocument:
    matter_number: str
    cause: str
    cause_title: str
    court: str
    procedure: str
    cutoff: str
    date: str  # the document date, printed under every signature
    issued_on: str  # the same date, ISO (the PDF's creation date)
    plaintiff: Plaintiff
    defendant: Defendant
    agent: Agent | None
    service: Service
    claims: tuple[ClaimLine, ...]
    principal: str
    interest: str
    penalty_interest: str
    compound_interest: str
    interest_total: str  # 欠利息: contractual + compound + penalty interest (the 2024 template's first figure on line 2)
    fees_claimed: str
    enforcement_costs: str
    enforcement_costs_detail: str
    total: str
    claim_until_paid: bool
    claim_litigation_costs: bool
    jurisdiction_clause: str
    preservation_requested: bool
    preservation_amount: str
    preservation_assets: str
    mediation_willingness: str
    facts_note: str
    loans: tuple[LoanFacts, ...]
    statements: tuple[LoanStatement, ...]
    exhibits: tuple[Exhibit, ...]
    fees: Fees
    sections: tuple[Section, ...]
    layout: str  # fingerprint of the templates and stylesheet

    @property
    def lender_word(self) -> str:
        return "出借人" if self.cause == Cause.PRIVATE_LENDING else "贷款人"  # §2.4: 民间借贷 says 出借人


# ----------------------------------------------------------------- building


def claim_lines(claim: claims_module.Claim) -> tuple[ClaimLine, ...]:
    """The complaint's claim lines (诉讼请求, §2.3 items 1, 2, 5, 7): each a figure of the claim, printed once."""
    return (
        ClaimLine("principal", "本金", claim.principal),
        ClaimLine("interest", "期内利息", claim.interest),
        ClaimLine("compound_interest", "复利", claim.compound_interest),
        ClaimLine("penalty_interest", "罚息（违约金）", claim.penalty_interest),
        ClaimLine("fees", "合同约定的费用", claim.fees),
        ClaimLine("enforcement_costs", "实现债权的费用", claim.enforcement_costs),
    )


def _defendant(matter: Matter) -> Defendant:
    debtor = matter.debtor
    number = debtor.id_number.strip().upper()
    gender, born = "", ""
    if len(number) == 18 and number[:17].isdigit():
        gender = "男" if int(number[16]) % 2 else "女"  # GB 11643: the sequence's last digit, odd for men
        try:
            born = cn_date(datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14])))
        except ValueError:
            born = ""
    return Defendant(
        name=debtor.name,
        gender=gender,
        birth_date=born,
        ethnicity="",
        employer=debtor.employer,
        phone=debtor.mobile or debtor.home_phone or debtor.work_phone,
        address=debtor.address,
        id_type="居民身份证",
        id_number=number,
    )


def _plaintiff(profile: PlaintiffProfile | None) -> Plaintiff:
    get = lambda name: (getattr(profile, name, "") or "") if profile else ""  # noqa: E731
    return Plaintiff(
        name=get("name"),
        address=get("address"),
        legal_representative=get("legal_representative"),
        legal_representative_title=get("legal_representative_title"),
        legal_representative_id_number=get("legal_representative_id_number"),
        phone=get("phone"),
        credit_code=get("unified_social_credit_code"),
        organisation_type=get("organisation_type"),
        financial_institution=(get("lender_type") or LenderType.FINANCIAL_INSTITUTION) == LenderType.FINANCIAL_INSTITUTION,
    )


def _agent(matter: Matter) -> Agent | None:
    lawyer = matter.lawyer
    if lawyer is None:
        return None
    firm = matter.firm.name if matter.firm_id else ""
    return Agent(
        name=lawyer.full_name or lawyer.email,
        firm=firm,
        title="律师" if firm else "法务人员",
        phone=lawyer.phone,
        special=matter.special_authorisation,
    )


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _loan_facts(loan, statement: debt.DebtStatement, *, lender: str, borrower: str, cutoff: datetime.date) -> LoanFacts:
    from portal.payments.models import Payment

    case = loan.case
    paid = Payment.objects.filter(case=case, reversal__isnull=True).with_effective_split()
    interest_paid = sum((row.effective_to_interest + row.effective_to_penalty for row in paid), Decimal("0.00"))
    term_end = _add_months(case.disbursed_on, case.term_months) if case.disbursed_on and case.term_months else None
    overdue_days = (cutoff - case.overdue_since).days if case.overdue_since and case.overdue_since <= cutoff else 0
    return LoanFacts(
        contract_no=case.contract_no,
        contract_name=loan.contract_name or "借款合同",
        signed_on=cn_date(loan.contract_signed_on),
        place=loan.contract_place,
        lender=lender,
        borrower=borrower,
        agreed_amount=money(case.loan_amount),
        disbursed_amount=money(case.loan_amount),
        disbursed_on=cn_date(case.disbursed_on),
        term_start=cn_date(case.disbursed_on),
        term_end=cn_date(term_end),
        matured=bool(loan.due_date and loan.due_date <= cutoff),
        annual_rate=rate(case.annual_rate),
        penalty_rate=rate(loan.penalty_rate),
        compound=loan.compound,
        repayment_method=REPAYMENT_METHODS.get(case.repayment_method, ""),
        principal_repaid=money(max(Decimal("0.00"), case.loan_amount - statement.principal)),
        interest_paid=money(interest_paid),
        interest_paid_to=cn_date(loan.interest_paid_to),
        accelerated_on=cn_date(loan.due_date),
        overdue_since=cn_date(case.overdue_since),
        overdue_days=str(overdue_days),
    )


def _statement(loan, statement: debt.DebtStatement, *, borrower: str, repayment_method: str) -> LoanStatement:
    terms, cap = statement.terms, statement.cap
    rows = []
    for segment in statement.segments:
        if segment.kind == debt.PAYMENT:
            allocation = next((a for a in statement.allocations if a.on == segment.start and a.amount == segment.amount), None)
            formula = (
                f"还款 {money(segment.amount)}：费用 {money(allocation.fees)}，期内利息 {money(allocation.interest)}，"
                f"罚息 {money(allocation.penalty_interest)}，复利 {money(allocation.compound_interest)}，本金 {money(allocation.principal)}"
                if allocation
                else f"还款 {money(segment.amount)}"
            )
            rows.append(
                StatementRow(
                    cn_date(segment.start),
                    "",
                    "",
                    money(segment.base),
                    "",
                    SEGMENT_LABELS[segment.kind],
                    formula,
                    f"-{money(segment.amount)}",
                )
            )
        elif segment.kind == debt.CAP_REDUCTION:
            formula = f"按年利率 {rate(segment.rate)}% 上限调减{COMPONENT_LABELS.get(segment.component, segment.component)}"
            rows.append(
                StatementRow(
                    cn_date(segment.start),
                    "",
                    "",
                    "",
                    rate(segment.rate),
                    SEGMENT_LABELS[segment.kind],
                    formula,
                    f"-{money(segment.amount)}",
                )
            )
        else:
            rows.append(
                StatementRow(
                    cn_date(segment.start),
                    cn_date(segment.end),
                    str(segment.days),
                    money(segment.base),
                    rate(segment.rate),
                    SEGMENT_LABELS[segment.kind],
                    segment.formula,
                    money(segment.amount),
                )
            )
    lpr = f"{cn_date(cap.lpr_date)}一年期LPR {rate(cap.lpr)}%" if cap and cap.lpr is not None else ""
    return LoanStatement(
        contract_no=loan.case.contract_no,
        borrower=borrower,
        disbursed_on=cn_date(loan.case.disbursed_on),
        loan_amount=money(loan.case.loan_amount),
        due_date=cn_date(terms.due_date),
        repayment_method=repayment_method,
        annual_rate=rate(terms.annual_rate),
        penalty_rate=rate(terms.penalty_rate),
        compound=terms.compound,
        basis=str(terms.basis),
        interest_from=cn_date(terms.interest_from),
        cutoff=cn_date(terms.cutoff),
        opening_principal=money(terms.principal),
        rows=tuple(rows),
        cap_rule="法发〔2017〕22号第二条（年利率24%）"
        if cap and cap.rule == debt.RULE_FINANCIAL
        else "法释〔2020〕17号第二十五、二十八、二十九条（一年期LPR四倍）",
        cap_limit=rate(cap.limit) if cap else "",
        cap_charged=money(cap.charged) if cap else "",
        cap_allowed=money(cap.allowed) if cap else "",
        cap_reduction=money(cap.reduction) if cap else "0.00",
        cap_applied=bool(cap and cap.applied),
        cap_lpr=lpr,
        principal=money(statement.principal),
        interest=money(statement.interest),
        penalty_interest=money(statement.penalty_interest),
        compound_interest=money(statement.compound_interest),
        fees=money(statement.fees),
        total=money(statement.total),
    )


def layout_fingerprint() -> str:
    """SHA-256 of the packet templates and stylesheet and the renderers' versions: a new layout is a new input."""
    import pikepdf
    import weasyprint

    digest = hashlib.sha256(f"weasyprint {weasyprint.__version__}; pikepdf {pikepdf.__version__}".encode())
    base = Path(settings.BASE_DIR)
    for name in LAYOUT_FILES:
        path = base / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(str(file.relative_to(base)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def sections_for(preservation: bool) -> tuple[Section, ...]:
    """The packet's parts in court order (domain doc §3)."""
    parts = [
        Section("complaint", "民事起诉状"),
        Section("evidence", "证据目录及证据"),
        Section("calculation", "债权计算表"),
        Section("attorney", "授权委托书"),
        Section("representative", "法定代表人身份证明书"),
        Section("service", "送达地址确认书"),
    ]
    if preservation:
        parts.append(Section("preservation", "财产保全申请书"))
    parts.append(Section("fees", "诉讼费用计算表"))
    return tuple(parts)


def build(matter: Matter, *, claim: claims_module.Claim | None = None, today: datetime.date | None = None) -> PacketDocument:
    """The packet of ``matter`` as printed. ``today`` is the document date (default: the cut-off date + 1 day)."""
    with translation.override(settings.DOCUMENT_LANGUAGE):
        claim = claim or claims_module.claim_for(matter)
        return _build(matter, claim, today or claim.cutoff + datetime.timedelta(days=1))


def _build(matter: Matter, claim: claims_module.Claim, date: datetime.date) -> PacketDocument:
    plaintiff = _plaintiff(PlaintiffProfile.objects.filter(pk=1).first())
    defendant = _defendant(matter)
    profile = PlaintiffProfile.objects.filter(pk=1).first()
    exhibits = []
    for number, document in enumerate(exhibit_documents(matter), start=1):
        loaded = load_exhibit(document)
        exhibits.append(
            Exhibit(
                number=number,
                kind=EXHIBIT_LABELS.get(document.kind, ""),
                title=document.title,
                source=document.source or "原告提供",
                proves=document.proves,
                pages=loaded.pages,
                form="复印件",
                sha256=document.sha256,
                content_type=loaded.content_type,
                content=loaded.content,
            )
        )
    loans = tuple(
        _loan_facts(loan, statement, lender=plaintiff.name, borrower=defendant.name, cutoff=claim.cutoff) for loan, statement in claim.loans
    )
    statements = tuple(
        _statement(loan, statement, borrower=defendant.name, repayment_method=REPAYMENT_METHODS.get(loan.case.repayment_method, ""))
        for loan, statement in claim.loans
    )
    fees = claim.fees_due
    halved = matter.procedure in (Procedure.SUMMARY, Procedure.SMALL_CLAIMS)
    return PacketDocument(
        matter_number=matter.number,
        cause=matter.cause,
        cause_title=CAUSE_TITLES.get(matter.cause, ""),
        court=matter.court,
        procedure=PROCEDURE_LABELS.get(matter.procedure, ""),
        cutoff=cn_date(claim.cutoff),
        date=cn_date(date),
        issued_on=date.isoformat(),
        plaintiff=plaintiff,
        defendant=defendant,
        agent=_agent(matter),
        service=Service(
            address=(profile.service_address or profile.address) if profile else "",
            recipient=(profile.service_recipient or profile.legal_representative) if profile else "",
            phone=(profile.service_phone or profile.phone) if profile else "",
            email=profile.service_email if profile else "",
        ),
        claims=claim_lines(claim),
        principal=money(claim.principal),
        interest=money(claim.interest),
        penalty_interest=money(claim.penalty_interest),
        compound_interest=money(claim.compound_interest),
        interest_total=money(claim.interest + claim.compound_interest + claim.penalty_interest),
        fees_claimed=money(claim.fees),
        enforcement_costs=money(claim.enforcement_costs),
        enforcement_costs_detail=matter.enforcement_costs_detail,
        total=money(claim.total),
        claim_until_paid=matter.claim_until_paid,
        claim_litigation_costs=matter.claim_litigation_costs,
        jurisdiction_clause=matter.jurisdiction_clause,
        preservation_requested=matter.preservation_requested,
        preservation_amount=money(matter.preservation_amount) if matter.preservation_amount else "",
        preservation_assets=matter.preservation_assets,
        mediation_willingness=matter.mediation_willingness,
        facts_note=matter.facts_note,
        loans=loans,
        statements=statements,
        exhibits=tuple(exhibits),
        fees=Fees(
            amount=money(fees.amount),
            acceptance_fee=money(fees.acceptance_fee),
            summary_fee=money(fees.summary_procedure_fee),
            payable_fee=money(claim.payable_fee),
            halved=halved,
            procedure=PROCEDURE_LABELS.get(matter.procedure, ""),
            preservation_fee=money(fees.preservation_fee) if matter.preservation_requested else "",
            preserved_amount=money(matter.preservation_amount or claim.total) if matter.preservation_requested else "",
            enforcement_fee=money(fees.enforcement_fee),
            payment_order_fee=money(fees.payment_order_fee),
        ),
        sections=sections_for(matter.preservation_requested),
        layout=layout_fingerprint(),
    )


def _plain(value):
    """The model as JSON: dataclasses as dicts, everything else as a string (exhibit bytes left out: the hash stands for them)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "content"}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_inputs(document: PacketDocument) -> dict:
    return _plain(document)


def inputs_for(matter: Matter, *, claim: claims_module.Claim | None = None, today: datetime.date | None = None) -> dict:
    """Everything the packet prints, as a JSON-serialisable dict of strings: the packet's identity."""
    return as_inputs(build(matter, claim=claim, today=today))


def inputs_sha256(inputs: dict) -> str:
    import json

    return hashlib.sha256(json.dumps(inputs, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ----------------------------------------------------------------- the fetcher


def exhibit_url(sha256: str) -> str:
    return f"{EXHIBIT_SCHEME}:{sha256}"


def fetcher_for(document: PacketDocument):
    """A URL fetcher serving the packet's image exhibits from memory by ``exhibit:<sha256>`` and refusing every other URL."""
    return ExhibitFetcher({exhibit.sha256: (exhibit.content, exhibit.content_type) for exhibit in document.exhibits if not exhibit.is_pdf})


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _ExhibitFetcher(URLFetcher):
        """No network, no files, no data: URLs — only the images handed to it, by their hash."""

        def __init__(self, images: dict):
            super().__init__(allowed_protocols=(EXHIBIT_SCHEME,))
            self.images = images
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            scheme, _sep, key = url.partition(":")
            if scheme.lower() == EXHIBIT_SCHEME and key in self.images:
                content, content_type = self.images[key]
                return URLFetcherResponse(url, content, {"Content-Type": content_type})
            self.refused.append(url)
            raise ValueError(f"filing packets fetch nothing ({url[:80]})")

        def open(self, url, data=None, timeout=None):  # urllib's entry point: the same refusal
            return self.fetch(url if isinstance(url, str) else url.full_url)

    return _ExhibitFetcher


class ExhibitFetcher:
    """Factory wrapper so importing this module does not import WeasyPrint."""

    def __new__(cls, images: dict):
        return _fetcher_class()(images)
