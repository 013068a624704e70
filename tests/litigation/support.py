"""Litigation objects for tests, made through the real services (escalation, stages) where one exists.

Inside a lender's schema (the ``acme`` fixture):

    profile = plaintiff(world)                        # the lender's particulars as plaintiff
    agreement = fee_agreement(world)                  # law firm L's fee agreement with acme
    matter = escalated_matter(world, cases=[case])    # litigation.escalation.escalate, in-house by default
    matter = complete_matter(world)                   # escalated to firm L, elements filled, exhibits uploaded: packet-ready
"""

import datetime
import hashlib
import zlib
from decimal import Decimal

from django.core.files.base import ContentFile

from litigation import escalation
from litigation.models import DocumentKind, LegalFeeAgreement, Matter, MatterDocument, PlaintiffProfile
from portal.lib import filecrypt
from tests.factories import CaseFactory, DebtorFactory

# A valid GB 11643 number (born 1980-01-01, male), the one tests/world.py gives its second canary.
DEBTOR_ID = "440524198001010013"


def legal_manager(world, lender="acme"):
    return world.people[f"{lender}_legal"].user


def plaintiff(world, lender="acme", **overrides) -> PlaintiffProfile:
    values = {
        "name": world.lenders[lender].name,
        "unified_social_credit_code": "91310000MA1FL1234X",
        "address": "上海市浦东新区陆家嘴环路1000号",
        "legal_representative": "王大明",
        "legal_representative_title": "董事长",
        "phone": "021-60001234",
        "organisation_type": "有限责任公司",
        "service_address": "上海市浦东新区陆家嘴环路1000号法务部",
        "service_recipient": "李法务",
        "service_phone": "021-60001235",
        "service_email": "legal@acme.example",
    } | overrides
    profile, _ = PlaintiffProfile.objects.update_or_create(pk=1, defaults=values)
    return profile


def fee_agreement(world, firm="lfirm", fixed="800.00", success="8") -> LegalFeeAgreement:
    agreement, _ = LegalFeeAgreement.objects.update_or_create(
        firm=world.orgs[firm],
        defaults={"fixed_fee": Decimal(fixed), "success_fee_percent": Decimal(success), "reference": f"{firm.upper()}-FEE"},
    )
    return agreement


def escalated_matter(world, *, cases=None, firm=None, lender="acme", lawyer=None, paralegal=None, reason="有能力还款但拒不还款") -> Matter:
    """Escalate ``cases`` (default: one new case) through litigation.escalation; returns the (first) matter."""
    if cases is None:
        cases = [CaseFactory(principal_due=Decimal("15000.00"), interest_due=Decimal("812.35"), dpd=120)]
    org = world.orgs[firm] if firm else None
    if org is not None:
        fee_agreement(world, firm=firm)
    matters = escalation.escalate(cases=cases, firm=org, lawyer=lawyer, paralegal=paralegal, by=legal_manager(world, lender), reason=reason)
    return matters[0]


def pdf_bytes(text: str = "exhibit", pages: int = 1) -> bytes:
    """A small valid PDF with ``pages`` pages, each showing ``text`` (ASCII) — a stand-in for a scanned exhibit."""
    objects = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font_ref = 3 + 2 * pages
    for i in range(pages):
        stream = f"BT /F1 18 Tf 72 720 Td ({text} page {i + 1}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_ref} 0 R >> >> >>".encode()
        )
        compressed = zlib.compress(stream)
        objects.append(f"<< /Length {len(compressed)} /Filter /FlateDecode >>\nstream\n".encode() + compressed + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png_bytes(width=40, height=30, rgb=(200, 30, 30)) -> bytes:
    """A small solid-colour PNG (a photographed receipt stand-in)."""
    import struct

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def add_document(matter, kind, *, title, content: bytes, content_type="application/pdf", pages=1, source="原告提供", proves="", by=None):
    """Store a document as an upload does: sealed at rest (portal.lib.filecrypt), hashed, counted in pages."""
    document = MatterDocument(
        matter=matter,
        kind=kind,
        title=title,
        source=source,
        proves=proves,
        content_type=content_type,
        size=len(content),
        pages=pages,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=f"{title}.pdf",
        uploaded_by=by,
    )
    document.file.name = filecrypt.save(document.file.storage, f"litigation/documents/{matter.pk}/{document.pk.hex}", content)
    document.save()
    return document


STANDARD_EXHIBITS = [
    (DocumentKind.LOAN_CONTRACT, "借款合同", "证明原被告之间存在借款合同关系及约定的利率、罚息", 2),
    (DocumentKind.DISBURSEMENT, "放款凭证", "证明原告已按约发放借款", 1),
    (DocumentKind.REPAYMENT_HISTORY, "还款明细", "证明被告的还款情况及逾期事实", 1),
    (DocumentKind.COLLECTION_NOTICE, "催收通知", "证明原告曾向被告催收，诉讼时效中断", 1),
]


def complete_matter(
    world,
    *,
    firm="lfirm",
    lender="acme",
    exhibits=STANDARD_EXHIBITS,
    debtor_name="赵六",
    debtor_id=DEBTOR_ID,
    mobile="13800138000",
    contract_no=None,
    principal="15000.00",
    lawyer=None,
    paralegal=None,
) -> Matter:
    """A matter a lawyer could file today: plaintiff particulars, one loan with every element, the four exhibits.
    Firm L's matters go to its lawyer and paralegal unless others are named."""
    plaintiff(world, lender)
    today = datetime.date.today()
    debtor = DebtorFactory(
        name=debtor_name, id_number=debtor_id, mobile=mobile, address="广东省潮州市饶平县黄冈镇中山路18号", employer="潮州市某贸易有限公司"
    )
    kwargs = {"contract_no": contract_no} if contract_no else {}
    case = CaseFactory(
        debtor=debtor,
        loan_amount=Decimal("20000.00"),
        principal_due=Decimal(principal),
        interest_due=Decimal("812.35"),
        annual_rate=Decimal("18"),
        day_count_basis=360,
        disbursed_on=today - datetime.timedelta(days=400),
        term_months=12,
        dpd=120,
        accelerated_on=today - datetime.timedelta(days=90),
        **kwargs,
    )
    if firm == "lfirm":
        lawyer = lawyer or world.people["l_lawyer"].user
        paralegal = paralegal or world.people["l_paralegal"].user
    matter = escalated_matter(world, cases=[case], firm=firm, lender=lender, lawyer=lawyer, paralegal=paralegal)
    matter.court = "上海市浦东新区人民法院"
    matter.claim_cutoff = today - datetime.timedelta(days=1)
    matter.save()
    loan = matter.loans.get()
    loan.contract_name = "个人消费借款合同"
    loan.contract_signed_on = case.disbursed_on
    loan.contract_place = "线上签订（上海市）"
    loan.penalty_rate = Decimal("27")
    loan.interest_paid_to = today - datetime.timedelta(days=150)
    loan.due_date = case.accelerated_on
    loan.save()
    for kind, title, proves, pages in exhibits:
        add_document(
            matter,
            kind,
            title=title,
            proves=proves,
            content=pdf_bytes(title.encode("ascii", "ignore").decode() or kind, pages),
            pages=pages,
        )
    return matter


def content_file(data: bytes, name="upload.pdf") -> ContentFile:
    return ContentFile(data, name=name)
