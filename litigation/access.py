"""Which matters a person sees, and through them which cases: the one place for litigation.

The lender's legal staff (legal manager, admin, in-house lawyers and paralegals) see every matter.
A law firm's lawyers and paralegals see the matters assigned to their firm, only while the matter is
open and still assigned to it; and the cases in those matters (registered with portal.access as the
law firm's case scope, so the case page, the isolation matrix and every list agree). Collectors and
agencies never see a matter: "matter.view" is not theirs.
"""

from django.db.models import Exists, OuterRef, Q

from portal.access import Principal, can, not_found, register_partner_case_scope
from tenants.models import OrganisationKind

from .models import Matter, MatterLoan, Stage


def visible_matters(principal: Principal | None):
    if principal is None or not can(principal, "matter.view"):
        return Matter.objects.none()
    if principal.is_lender_staff:
        return Matter.objects.all()
    if principal.kind != OrganisationKind.LAW_FIRM:
        return Matter.objects.none()
    return Matter.objects.filter(firm=principal.organisation).exclude(stage=Stage.CLOSED)


def figure_matters(principal: Principal | None):
    """The matters whose figures (pipeline, legal costs) this principal may see: the lender's staff who may see
    litigation figures at all (pipeline.view or legalcost.record: finance has no matter pages), every matter; a law
    firm, only the matters it may open (visible_matters)."""
    if principal is None or not (can(principal, "pipeline.view") or can(principal, "legalcost.record")):
        return Matter.objects.none()
    if principal.is_lender_staff:
        return Matter.objects.all()
    return visible_matters(principal)


def get_visible_matter(request, matter_id) -> Matter:
    """The matter, or 404 (audited; never 403, which would confirm it exists)."""
    matter = (
        visible_matters(getattr(request, "principal", None))
        .select_related("debtor", "firm", "lawyer", "paralegal")
        .filter(pk=matter_id)
        .first()
    )
    if matter is None:
        raise not_found(request, "litigation.matter", matter_id)
    return matter


def law_firm_case_scope(principal: Principal):
    """The cases in an open matter assigned to the principal's firm."""
    loans = MatterLoan.objects.filter(case=OuterRef("pk"), active=True, matter__firm=principal.organisation).exclude(
        matter__stage=Stage.CLOSED
    )
    if not can(principal, "matter.view"):
        return Q(pk__in=[])
    return Exists(loans)


def register():
    register_partner_case_scope(OrganisationKind.LAW_FIRM, law_firm_case_scope)
