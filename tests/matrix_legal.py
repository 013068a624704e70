"""The legal office's part of the isolation matrix (/legal/: deadlines, pipeline, costs, settings, court fees).

``extend_world`` gives acme its own objects, independent of the other areas' matters: a matter escalated to law
firm L (L's own: its markers are not canaries, since L may see it), an in-house matter with a cost line whose
limitation deadline the deadline URL uses, and L's fee agreement. What L must not see carries a canary marker
(world.canaries["acme"]).
"""

import datetime
from decimal import Decimal

from django_tenants.utils import tenant_context

CANARIES = ["辰金丝雀", "CANARY-ACME-LEGALCOST"]


def extend_world(world):
    from litigation import costs
    from litigation.models import Deadline, DeadlineKind
    from tests.factories import CaseFactory, DebtorFactory
    from tests.litigation.support import escalated_matter, fee_agreement, legal_manager

    with tenant_context(world.lenders["acme"]):
        agreement = fee_agreement(world, firm="lfirm")
        firm_case = CaseFactory(
            debtor=DebtorFactory(name="律甲"), contract_no="ACME-LEGAL-L-001", principal_due=Decimal("9000.00"), dpd=150
        )
        firm_matter = escalated_matter(world, cases=[firm_case], firm="lfirm", reason="有能力还款但拒不还款")
        inhouse_case = CaseFactory(
            debtor=DebtorFactory(name="辰金丝雀"), contract_no="ACME-CANARY-LEGAL-002", principal_due=Decimal("7000.00"), dpd=300
        )
        inhouse_matter = escalated_matter(world, cases=[inhouse_case], reason="CANARY-ACME-LEGAL in-house")
        cost = costs.record_cost(
            matter=inhouse_matter,
            kind="court_fee",
            amount=Decimal("375.00"),
            incurred_on=datetime.date.today(),
            by=legal_manager(world),
            note="CANARY-ACME-LEGALCOST 案件受理费",
        )
        deadline = Deadline.objects.get(matter=inhouse_matter, kind=DeadlineKind.LIMITATION)
    world.legal = {"agreement": agreement, "matter": firm_matter, "cost": cost, "inhouse_matter": inhouse_matter, "deadline": deadline}
    world.canaries.setdefault("acme", []).extend(CANARIES)


def owner_kwargs(world):
    return {
        "matter_id": world.legal["matter"].pk,
        "deadline_id": world.legal["deadline"].pk,
        "fee_agreement_id": world.legal["agreement"].pk,
    }


# The action guarding each legal-office URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "deadlines": "matter.view",
    "deadline-done": "matter.edit",
    "pipeline": "pipeline.view",
    "costs": ("legalcost.record", "pipeline.view"),
    "costs-export": ("legalcost.record", "pipeline.view"),
    "matter-costs": "matter.view",
    "cost-create": "legalcost.record",
    "recovery-create": "legalcost.record",
    "settings": "legal.manage",
    "fee-agreement-create": "legal.manage",
    "fee-agreement-edit": "legal.manage",
    "court-fees": "courtfee.calculate",
}


def post_bodies(world):
    """Bodies for the POST URLs whose forms the crawled owners (acme admin, agency X) are not shown."""
    return {
        "deadline-done": {"next": "/legal/deadlines/"},
        "cost-create": {
            "kind": "service_cost",
            "amount": "120.00",
            "incurred_on": datetime.date.today().isoformat(),
            "recoverable": "on",
            "note": "isolation matrix",
        },
        "recovery-create": {"amount": "10.00", "received_on": datetime.date.today().isoformat(), "source": "court_refund"},
    }
