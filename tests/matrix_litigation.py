"""Litigation's part of the isolation matrix: two law firms' matters in acme, and the ids of the legal workbench's URLs.

``extend_world`` gives acme:

* a second law firm, M (律信律师事务所 M), licensed and engaged, with a fee agreement and one lawyer persona
  ``m_lawyer`` (not in tests/world.CAST: the matrix's outsiders stay the other lender's and the unengaged agency's);
* M's matter on a NEW case whose contract, debtor and ID number are canaries (``ACME-CANARY-LIT-…``, 庚金丝雀):
  packet-ready, with an exhibit, a built packet and a criminal referral. The URLs' ids (owner_kwargs) are M's,
  so everyone but acme's legal staff and M must be refused them;
* law firm L's packet-ready matter on a case of its own, whose markers (``world.litigation["l_markers"]``) are
  not acme's canaries: L's lawyer and paralegal see it on their lists, as they must, while
  tests/test_isolation_within_lender.py still finds no canary and no object of acme's open to them.

No case of tests/world.py is touched: what each persona may see of the world's cases stays as it was built.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django_tenants.utils import tenant_context

M_CONTRACT = "ACME-CANARY-LIT-001"
M_DEBTOR = "庚金丝雀"
L_CONTRACT = "LIT-L-0001"
L_DEBTOR = "孙律测"


def id_number(first17: str) -> str:
    """A valid GB 11643-1999 ID number from its first 17 digits (ISO 7064 MOD 11-2 check character)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


M_ID = id_number("31011519850309241")
L_ID = id_number("31011519870611513")


@dataclass
class LitigationWorld:
    m_matter: object
    m_document: object
    m_packet: object
    m_loan: object
    referral: object
    l_matter: object
    l_document: object
    l_markers: list


def _ready_matter(world, *, firm_key, lawyer, paralegal, contract_no, debtor_name, debtor_id, mobile, principal):
    """A matter a lawyer could file today (tests/litigation/support.complete_matter), with its loan and first exhibit."""
    from tests.litigation.support import complete_matter

    matter = complete_matter(
        world,
        firm=firm_key,
        lawyer=lawyer,
        paralegal=paralegal,
        contract_no=contract_no,
        debtor_name=debtor_name,
        debtor_id=debtor_id,
        mobile=mobile,
        principal=principal,
    )
    return matter, matter.loans.get(), matter.documents.order_by("uploaded_at", "id").first()


def extend_world(world):
    from litigation.models import CriminalReferral
    from tenants import services
    from tenants.models import EngagementStatus, LicenceKind, Role
    from tests.litigation.support import fee_agreement, plaintiff
    from tests.world import PASSWORD, Persona

    today = datetime.date.today()
    mfirm = services.create_organisation(slug="mfirm", name="律信律师事务所 M", kind="law_firm")
    licence = services.add_licence(
        organisation=mfirm,
        kind=LicenceKind.LAW_FIRM,
        number="LIC-mfirm",
        issuing_authority="上海市司法局",
        valid_from=today - datetime.timedelta(days=365),
        valid_to=today + datetime.timedelta(days=365),
    )
    services.verify_licence(licence=licence, by=world.people["platform"].user)
    engagement = services.engage_partner(lender=world.lenders["acme"], partner=mfirm)
    services.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE)
    membership = services.add_member(
        organisation=mfirm, email="m_lawyer@personas.test", full_name="m_lawyer", role=Role.LAWYER, password=PASSWORD
    )
    world.orgs["mfirm"] = mfirm
    world.orgs["mfirm_licence"] = licence
    world.people["m_lawyer"] = Persona(key="m_lawyer", email="m_lawyer@personas.test", role=Role.LAWYER, org="mfirm", user=membership.user)
    connection.set_schema_to_public()

    people = world.people
    with tenant_context(world.lenders["acme"]):
        plaintiff(world)
        fee_agreement(world, firm="lfirm")
        fee_agreement(world, firm="mfirm")
        m_matter, m_loan, m_document = _ready_matter(
            world,
            firm_key="mfirm",
            lawyer=people["m_lawyer"].user,
            paralegal=None,
            contract_no=M_CONTRACT,
            debtor_name=M_DEBTOR,
            debtor_id=M_ID,
            mobile="13711112222",
            principal="14321.00",
        )
        l_matter, _l_loan, l_document = _ready_matter(
            world,
            firm_key="lfirm",
            lawyer=people["l_lawyer"].user,
            paralegal=people["l_paralegal"].user,
            contract_no=L_CONTRACT,
            debtor_name=L_DEBTOR,
            debtor_id=L_ID,
            mobile="13733334444",
            principal="12345.00",
        )
        referral = CriminalReferral.objects.create(
            case=m_loan.case,
            reported_on=today,
            authority="上海市公安局浦东分局",
            report_number="沪公浦受字2026-0001",
            grounds="冒用他人身份借款 CANARY-ACME-LIT-REFERRAL",
            recorded_by=people["acme_legal"].user,
        )
        m_packet = _packet(m_matter, people["m_lawyer"].user)
    world.litigation = LitigationWorld(
        m_matter=m_matter,
        m_document=m_document,
        m_packet=m_packet,
        m_loan=m_loan,
        referral=referral,
        l_matter=l_matter,
        l_document=l_document,
        l_markers=[L_CONTRACT, L_DEBTOR, L_ID],
    )
    world.canaries["acme"].extend([M_CONTRACT, M_DEBTOR, M_ID, m_matter.number])


def _packet(matter, by):
    """M's packet, built by the packet service (litigation.packets): the matrix's packet URLs then open a real file."""
    from litigation import packets

    return packets.build_packet(matter, by=by)


def owner_kwargs(world):
    lit = world.litigation
    return {
        "matter_id": lit.m_matter.pk,
        "document_id": lit.m_document.pk,
        "packet_id": lit.m_packet.pk,
        "loan_id": lit.m_loan.pk,
    }


# The action guarding each litigation URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "matter-list": "matter.view",
    "escalate": "matter.escalate",
    "referral-create": "referral.manage",
    "matter-detail": "matter.view",
    "debt-statement": "matter.view",
    "stage-record": "matter.record_stage",
    "checklist-tick": "matter.edit",
    "matter-elements": "matter.edit",
    "loan-elements": "matter.edit",
    "document-upload": "matter.edit",
    "document-download": "matter.view",
    "document-remove": "matter.edit",
    "preflight-override": "packet.approve",
    "packet-build": "packet.build",
    "packet-download": "matter.view",
    "packet-approve": "packet.approve",
    "matter-reassign": "matter.escalate",
}


def post_bodies(world):
    """Bodies for the litigation forms the crawled owners (acme's admin, agency X) are not shown."""
    today = datetime.date.today().isoformat()
    return {
        "stage-record": {
            "stage": "filed",
            "entered_on": today,
            "court": "上海市浦东新区人民法院",
            "court_case_number": "(2026)沪0115民初1号",
        },
        "checklist-tick": {"stage": "escalated", "key": "contract", "done": "1"},
        "matter-elements": {
            "cause": "financial_loan",
            "procedure": "summary",
            "court": "上海市浦东新区人民法院",
            "mediation_willingness": "yes",
        },
        "loan-elements": {
            f"loan{world.litigation.m_loan.pk}-contract_name": "个人消费借款合同",
            f"loan{world.litigation.m_loan.pk}-penalty_rate": "27",
        },
        "preflight-override": {"code": "limitation", "reason": "isolation matrix"},
        "referral-create": {"reported_on": today, "authority": "isolation matrix", "grounds": "isolation matrix"},
    }
