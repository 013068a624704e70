"""The fee ledger's part of the isolation matrix: acme books a recovery and a commission under a product whose
name is a canary, with a canary memo, so the net-recovery dashboard and its exports (which list products and,
on the case page, memos) leaking into another lender's or a partner's response are caught."""

import datetime
from decimal import Decimal

from django.db import transaction
from django_tenants.utils import tenant_context

PRODUCT_CANARY = "CANARY-ACME-NR-产品"
MEMO_CANARY = "CANARY-ACME-NR-MEMO"


def extend_world(world):
    from portal.ledger.models import Account, EntryKind
    from portal.ledger.posting import Leg, post

    with tenant_context(world.lenders["acme"]), transaction.atomic():
        case = world.cases["acme_placed"]
        dims = {"case": case, "counterparty": world.orgs["xagency"], "product": PRODUCT_CANARY, "cohort_month": datetime.date(2026, 1, 1)}
        amount, commission = Decimal("3456.78"), Decimal("345.68")
        post(
            kind=EntryKind.PAYMENT,
            source=("tests.matrix_ledger", "payment"),
            occurred_on=datetime.date(2026, 2, 3),
            legs=[Leg(Account.CASH, amount, **dims), Leg(Account.RECOVERIES, -amount, **dims)],
            memo=MEMO_CANARY,
        )
        post(
            kind=EntryKind.COMMISSION,
            source=("tests.matrix_ledger", "commission"),
            occurred_on=datetime.date(2026, 2, 3),
            legs=[Leg(Account.AGENCY_COMMISSION, commission, **dims), Leg(Account.PARTNER_PAYABLE, -commission, **dims)],
            memo=MEMO_CANARY,
        )
    world.canaries["acme"].extend([PRODUCT_CANARY, MEMO_CANARY])


def owner_kwargs(world):
    return {}


# The action guarding each ledger URL (see URL_ACTIONS in tests/test_isolation_matrix.py): the lender's finance.
URL_ACTIONS = {
    "net-recovery": "ledger.view",
    "net-recovery-export-csv": "ledger.view",
    "net-recovery-export-xlsx": "ledger.view",
}
