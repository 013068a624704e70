"""Outsourcing's part of the isolation matrix, and the helpers its tests share.

``extend_world`` gives acme committed objects for every outsourcing URL: an
agreement with agency X, a previewed allocation batch and a pending hold
request on X's placement of ACME-CANARY-001. It adds no placement, so what
each persona may see stays exactly as tests/world.py built it.
"""

import datetime
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing.models import BUCKETS, ROUNDS, HoldRequest, Placement, PlacementStatus


def terms(**overrides):
    """A complete set of agreement terms (rates as fractions): 15% in round 1, +1% per bucket and per round."""
    rates = {(bucket, r): Decimal("0.15") + Decimal("0.01") * (BUCKETS.index(bucket) + r - 1) for bucket in BUCKETS for r in ROUNDS}
    base = {"term_days": 60, "capacity": 1000, "max_hold_days": 30, "allowed_actions": ["phone", "sms"], "rates": rates}
    base.update(overrides)
    return base


def extend_world(world):
    from outsourcing import agreements, allocation

    manager = world.people["acme_manager"].user
    with tenant_context(world.lenders["acme"]):
        agreement = agreements.create_agreement(partner=world.orgs["xagency"], created_by=manager, terms=terms(), reference="ACME-X-2026")
        batch = allocation.prepare_batch(
            rules={"filters": {"buckets": ["M6+"]}, "mode": "percent", "champion": [[str(world.orgs["xagency"].pk), "100"]]},
            seed=20261129,
            created_by=manager,
        )
        placed = Placement.objects.get(case=world.cases["acme_placed"], status=PlacementStatus.ACTIVE)
        hold = HoldRequest.objects.create(
            placement=placed,
            reason="承诺还款日在委托期限之后",
            until=placed.ends_at + datetime.timedelta(days=10),
            requested_by=world.people["x_admin"].user,
            requested_at=timezone.now(),
        )
    world.outsourcing = {"agreement": agreement, "batch": batch, "placement": placed, "hold": hold}


def owner_kwargs(world):
    return {
        "agreement_id": world.outsourcing["agreement"].pk,
        "batch_id": world.outsourcing["batch"].pk,
        "placement_id": world.outsourcing["placement"].pk,
        "hold_id": world.outsourcing["hold"].pk,
    }


# ----------------------------------------------------------------- helpers for tests/test_outsourcing_*.py


def make_cases(n, *, dpd=45, region="上海", product="随心贷", principal="1000.00", prefix="OUT", status=None):
    """``n`` cases in the current schema, without the import's evidence: tests.factories.CaseFactory(imported=False).

    Kept for the test modules not yet written against tests.factories; new tests use CaseFactory directly.
    """
    from portal.models import CaseStatus
    from tests.factories import CaseFactory

    return CaseFactory.create_batch(
        n,
        dpd=dpd,
        region=region,
        product=product,
        principal_due=principal,
        prefix=prefix,
        status=status or CaseStatus.INTERNAL,
        imported=False,
    )


# The action guarding each outsourcing URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "agreement-list": "agreement.manage",
    "agreement-create": "agreement.manage",
    "agreement-detail": "agreement.manage",
    "allocation": "placement.manage",
    "allocation-batch": "placement.manage",
    "allocation-progress": "placement.manage",
    "allocation-commit": "placement.manage",
    "placement-manual": "placement.manage",
    "placement-list": "placement.view",
    "placement-recall": "placement.manage",
    "placement-detail": "placement.view",
    "placement-hold-request": "placement.request_hold",
    "hold-decide": "placement.manage",
    "scorecards": "scorecard.view",
    "scorecards-export": "scorecard.view",
}


def post_bodies(world):
    """Bodies for the POST-only URLs whose form the world's state does not show (a hold is already pending)."""
    until = (world.outsourcing["placement"].ends_at + datetime.timedelta(days=5)).date().isoformat()
    return {
        "placement-hold-request": {"until": until, "reason": "isolation matrix: promised to pay after the term"},
        "hold-decide": {"decision": "approve", "note": "isolation matrix"},
    }
