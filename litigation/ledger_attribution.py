"""Litigation's part of the fee ledger (portal.ledger): whom a recovery is attributed to, and legal-cost entries.

A payment made on a day a law firm's engagement on the case covered (from the day of escalation to the day the
matter closed, both included: fee_lines.matter_for_payment, the rule the success fee uses) is credited to the
firm, cohort = the month of escalation, with the matter. A matter handled in-house has no counterparty: nothing to attribute. Each legal
cost line posts one entry in the transaction that records it (costs.record_cost calls ``post_cost``): its kind
picks the account (portal.ledger.sources.LEGAL_COST_ACCOUNTS), ``paid_by_firm`` whether the firm is owed it. Court
costs got back from the debtor (CostRecovery, costs.record_recovery) post ``post_recovery``: Cr court_costs_recovered.
"""

from __future__ import annotations

from django.utils import timezone

from portal.ledger import hooks, sources
from portal.ledger.posting import first_of_month

from .models import CostRecovery, LegalCost, Matter


def cohort_month(matter: Matter):
    return first_of_month(timezone.localdate(matter.escalated_at))


def attribute(case, paid_on) -> hooks.Attribution | None:
    """The firm whose engagement covers that day (fee_lines.matter_for_payment: the one rule its success fee uses too)."""
    from .fee_lines import matter_for_payment

    matter = matter_for_payment(getattr(case, "pk", case), paid_on)
    if matter is None:
        return None
    return hooks.Attribution(counterparty=matter.firm, cohort_month=cohort_month(matter), matter_id=matter.pk)


def _matter_dimensions(matter: Matter) -> dict:
    return {
        "cases": list(matter.loans.values_list("case_id", flat=True)),
        "firm": matter.firm,
        "matter_id": matter.pk,
        "cohort_month": cohort_month(matter),
    }


def post_cost(cost: LegalCost):
    return sources.post_legal_cost(
        cost,
        kind=cost.kind,
        amount=cost.amount,
        occurred_on=cost.incurred_on,
        paid_by_firm=cost.paid_by_firm,
        created_by=cost.recorded_by,
        **_matter_dimensions(cost.matter),
    )


def post_recovery(recovery: CostRecovery):
    return sources.post_costs_recovered(
        recovery,
        amount=recovery.amount,
        occurred_on=recovery.received_on,
        received_by_firm=recovery.received_by_firm,
        created_by=recovery.recorded_by,
        **_matter_dimensions(recovery.matter),
    )


def _recoveries():
    return CostRecovery.objects.select_related("matter", "matter__firm", "recorded_by").order_by("pk")


def _costs():
    return LegalCost.objects.select_related("matter", "matter__firm", "recorded_by").order_by("pk")


def register():
    hooks.register_attributor(attribute)
    hooks.register_source("litigation.legalcost", _costs, post_cost)
    hooks.register_source("litigation.costrecovery", _recoveries, post_recovery)
