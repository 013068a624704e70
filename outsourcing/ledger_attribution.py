"""Outsourcing's part of the fee ledger (portal.ledger): whom a recovery is attributed to, and its commission entries.

A payment made on a day a placement covered (commissions.placement_on: the same rule commission uses) is credited
to that placement's agency, cohort = the month the placement started (lender-local, Asia/Shanghai). Each
commission line — earned, clawback, adjustment — posts one entry, in the transaction that creates it
(commissions.py calls ``post_line``).
"""

from __future__ import annotations

from django.utils import timezone

from portal.ledger import hooks, sources
from portal.ledger.posting import first_of_month

from .models import CommissionLine, Placement


def cohort_month(placement: Placement):
    return first_of_month(timezone.localdate(placement.starts_at))


def attribute(case, paid_on) -> hooks.Attribution | None:
    from .commissions import placement_on

    placement = placement_on(getattr(case, "pk", case), paid_on)
    if placement is None:
        return None
    return hooks.Attribution(counterparty=placement.partner, cohort_month=cohort_month(placement))


def post_line(line: CommissionLine):
    """The line's entry: Dr agency_commission / Cr partner_payable (the agency), its sign its own; dated the line's
    date (the payment's, or the reversal's for a clawback or adjustment)."""
    placement = line.placement
    return sources.post_commission(
        line,
        case=line.case_id,
        agency=line.partner,
        commission=line.commission,
        occurred_on=line.paid_on,
        cohort_month=cohort_month(placement),
    )


def _lines():
    return CommissionLine.objects.select_related("placement", "partner").order_by("pk")


def register():
    hooks.register_attributor(attribute)
    hooks.register_source("outsourcing.commissionline", _lines, post_line)
