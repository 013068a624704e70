"""What an agency sees: cases with a placement in force, and a collector only those assigned to them."""

from django.db.models import Exists, OuterRef

from portal.access import Principal, register_partner_case_scope
from tenants.models import OrganisationKind, Role

from .models import Placement


def agency_case_scope(principal: Principal):
    placements = Placement.objects.active().filter(case=OuterRef("pk"), partner=principal.organisation)
    if not principal.has_role(Role.AGENCY_ADMIN):
        placements = placements.filter(assigned_to=principal.user)
    return Exists(placements)


def register():
    register_partner_case_scope(OrganisationKind.AGENCY, agency_case_scope)
