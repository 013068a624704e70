"""Statements and invoices (portal.fees, /fees/): their part of the isolation matrix.

``extend_world`` gives acme a statement of agency X that is *under review* — the first state a partner sees —
for a month long past (13 months back, so no test month meets it): one commission line on X's placement of
ACME-CANARY-001 (the case X works, so X's own pages may show it), written directly (tests.portal.fees.support.
direct_line), and one open line dispute by X's admin, whose id builds the dispute URL. Its payment reference is a canary:
agency Y, beta's people and the unengaged agency must never meet it. The committed draft of agency X for the
current month (matrix_statements.py) is the statement the matrix's object URLs use: a draft, so no partner may
open it at all.
"""

import datetime

from django.utils import timezone
from django_tenants.utils import tenant_context

REFERENCE_CANARY = "CANARY-ACME-FEES-X-PAY-001"
MONTHS_BACK = 13


def months_back(n: int) -> datetime.date:
    first = timezone.localdate().replace(day=1)
    for _ in range(n):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first


def extend_world(world):
    from portal.fees import services
    from tests.portal.fees.support import direct_line

    with tenant_context(world.lenders["acme"]):
        period = months_back(MONTHS_BACK)
        line = direct_line(
            world,
            agency="xagency",
            case_key="acme_placed",
            paid_on=period.replace(day=10),
            amount="640.00",
            reference=REFERENCE_CANARY,
            rate="0.1200",
        )
        finance = world.people["acme_finance"].user
        statement = services.draft(kind="commission", partner=world.orgs["xagency"], period=period, created_by=finance)
        statement = services.send_for_review(statement=statement, sent_by=finance)
        dispute = services.open_dispute(statement=statement, line_id=line.pk, reason="费率应为 10%", opened_by=world.people["x_admin"].user)
    world.canaries["acme"].append(REFERENCE_CANARY)
    world.fees = {"acme_x_review": statement, "acme_x_line": line, "acme_x_dispute": dispute}


def owner_kwargs(world):
    return {"dispute_id": world.fees["acme_x_dispute"].pk}


READ = ("statement.view", "statement.review")  # lender staff read every statement; a partner its own, from review on

# The action guarding each URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "statement-list": READ,
    "statement-detail": READ,
    "statement-csv": READ,
    "statement-xlsx": READ,
    "statement-pdf": READ,
    "statement-draft": "statement.manage",
    "statement-refresh": "statement.manage",
    "statement-send": "statement.manage",
    "statement-approve": "statement.manage",
    "statement-issue": "statement.manage",
    "statement-pay": "statement.manage",
    "statement-discard": "statement.manage",
    "dispute-resolve": "statement.manage",
    "statement-accept": "statement.review",
    "statement-dispute": "statement.review",
}


def post_bodies(world):
    """Forms no owner's page shows in the world's state (the draft has no dispute, accept or resolve form)."""
    return {
        "statement-issue": {"confirm": "1"},
        "statement-pay": {"confirm": "1"},
        "statement-accept": {"confirm": "1"},
        "statement-dispute": {"line_id": str(world.fees["acme_x_line"].pk), "reason": "isolation matrix"},
        "dispute-resolve": {"outcome": "upheld", "resolution": "isolation matrix"},
    }
