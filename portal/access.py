"""Who may see and do what: the one place that decides.

Every view, API endpoint, export and job asks this module. A person acts in
a lender's workspace either as a member of the lender, or as a member of a
partner organisation with an *active* engagement; partners then see only
cases placed (agency admin) or assigned (collector) to them, only while the
placement is in force. Nothing else decides access ad hoc.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import caches
from django.db import connection
from django.http import Http404
from django.utils import timezone

from tenants.models import (
    PARTNER_KINDS,
    ROLES_REQUIRING_2FA,
    Engagement,
    EngagementStatus,
    Lender,
    LicenceKind,
    LicenceStatus,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
)

LENDER_ROLES = frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER, Role.LEGAL_MANAGER, Role.FINANCE, Role.LAWYER, Role.PARALEGAL})
ALL_TENANT_ROLES = LENDER_ROLES | {Role.AGENCY_ADMIN, Role.COLLECTOR}
LEGAL_ROLES = frozenset({Role.LENDER_ADMIN, Role.LEGAL_MANAGER, Role.LAWYER, Role.PARALEGAL})

# action -> roles that may perform it. Object-level visibility is separate
# (visible_cases); this table is function-level (ASVS 8.2.1).
PERMISSIONS: dict[str, frozenset[str]] = {
    "case.list": ALL_TENANT_ROLES,
    "case.view": ALL_TENANT_ROLES,
    # The full ID number is needed to manage the portfolio and to file suits;
    # partners' collectors verify identity against the last four digits.
    # Per-case debt amounts outside a call: the lender's staff only. A partner hears them on the workbench, in a
    # call with the verified debtor (seed §1; PIPL art. 6, data minimisation); portfolio totals are not per case.
    "case.view_amounts": LENDER_ROLES,
    # What else a partner's work does not need (PIPL art. 6, data minimisation; issue item 10). A partner's own
    # money records (its reports, its commission lines) stay visible to it; the lender's records do not.
    "portfolio.view_amounts": LENDER_ROLES,  # money per bucket on the dashboard; partners see counts only
    "payment.view_amounts": LENDER_ROLES,  # the lender's payments on a case (amounts) in a case's history
    "payment.view_reference": LENDER_ROLES,  # the lender's bank references, anywhere a case's history shows them
    "debtor.view_address": LENDER_ROLES,  # the full home address; partners see its first characters (address_for)
    "report.view_match": LENDER_ROLES,  # whether a partner's payment report matched a lender payment, and which
    # The whole collection history of a case, every agency's work, on the lender's case page (supervision).
    "case.view_collection_history": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER, Role.LEGAL_MANAGER}),
    "case.reveal_id": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER, Role.LEGAL_MANAGER, Role.LAWYER}),
    "audit.view": frozenset({Role.LENDER_ADMIN}),
    "audit.export": frozenset({Role.LENDER_ADMIN}),
    "team.manage": frozenset({Role.LENDER_ADMIN}),
    "engagement.manage": frozenset({Role.LENDER_ADMIN}),
    "job.view": ALL_TENANT_ROLES,
    "platform.manage": frozenset({Role.PLATFORM_STAFF}),
    "partner.worklist": frozenset({Role.AGENCY_ADMIN, Role.COLLECTOR, Role.LAWYER, Role.PARALEGAL}),
    "partner.team": frozenset({Role.AGENCY_ADMIN}),
    # Outsourcing (委外催收)
    "case.import": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER}),
    "api.integrate": frozenset({Role.LENDER_ADMIN}),  # issue and revoke integration tokens
    "agreement.manage": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER}),
    "placement.manage": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER}),  # place, recall, decide holds
    "placement.view": LENDER_ROLES | {Role.AGENCY_ADMIN},
    "placement.request_hold": frozenset({Role.AGENCY_ADMIN}),  # 留案
    "workbench.assign": frozenset({Role.AGENCY_ADMIN}),
    "workbench.work": frozenset({Role.AGENCY_ADMIN, Role.COLLECTOR}),  # log attempts, promises, recordings
    "fieldvisit.request": frozenset({Role.AGENCY_ADMIN, Role.COLLECTOR}),
    "fieldvisit.decide": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER}),
    "payment.record": frozenset({Role.LENDER_ADMIN, Role.FINANCE}),
    "payment.reverse": frozenset({Role.LENDER_ADMIN, Role.FINANCE}),  # 冲正: the lender's finance only
    "payment.report": frozenset({Role.AGENCY_ADMIN, Role.COLLECTOR}),
    "payment.view": frozenset({Role.LENDER_ADMIN, Role.FINANCE, Role.COLLECTIONS_MANAGER, Role.AGENCY_ADMIN}),
    "dispute.raise": frozenset({Role.LENDER_ADMIN, Role.FINANCE, Role.AGENCY_ADMIN}),
    "statement.manage": frozenset({Role.LENDER_ADMIN, Role.FINANCE}),  # draft, approve, issue
    "statement.view": frozenset({Role.LENDER_ADMIN, Role.FINANCE, Role.COLLECTIONS_MANAGER, Role.AGENCY_ADMIN}),
    "ledger.view": frozenset({Role.LENDER_ADMIN, Role.FINANCE}),  # the fee ledger and net recovery (费用台账、净回收)
    "statement.review": frozenset({Role.AGENCY_ADMIN, Role.LAWYER}),  # partner: its own statements from review on; accept, dispute lines
    "subscription.manage": frozenset({Role.LENDER_ADMIN, Role.FINANCE}),  # the platform's bill: card, pay now
    "scorecard.view": frozenset({Role.LENDER_ADMIN, Role.COLLECTIONS_MANAGER, Role.FINANCE, Role.AGENCY_ADMIN}),
    # Litigation (诉讼催收). Which matters a person sees is litigation.access.visible_matters: the lender's legal
    # staff every matter, a law firm's people the matters assigned to their firm while open. Collectors: none.
    "matter.view": LEGAL_ROLES,
    "matter.escalate": frozenset({Role.LENDER_ADMIN, Role.LEGAL_MANAGER}),  # 移交诉讼; also reassigns a matter's firm
    "matter.edit": frozenset({Role.LEGAL_MANAGER, Role.LAWYER, Role.PARALEGAL}),  # filing elements, evidence, checklists
    "matter.record_stage": frozenset({Role.LEGAL_MANAGER, Role.LAWYER}),  # 立案, judgments, enforcement outcomes
    "packet.build": frozenset({Role.LEGAL_MANAGER, Role.LAWYER, Role.PARALEGAL}),
    "packet.approve": frozenset({Role.LEGAL_MANAGER, Role.LAWYER}),  # review and approve; override a pre-flight problem
    "legalcost.record": frozenset({Role.LEGAL_MANAGER, Role.LAWYER, Role.PARALEGAL, Role.FINANCE}),
    "legal.manage": frozenset({Role.LENDER_ADMIN, Role.LEGAL_MANAGER}),  # fee agreements, the plaintiff's particulars
    "pipeline.view": frozenset({Role.LENDER_ADMIN, Role.LEGAL_MANAGER, Role.FINANCE, Role.LAWYER}),
    "referral.manage": frozenset({Role.LENDER_ADMIN, Role.LEGAL_MANAGER, Role.COLLECTIONS_MANAGER}),  # 报案
    "courtfee.calculate": LEGAL_ROLES | {Role.FINANCE},
}


@dataclass(frozen=True)
class Principal:
    """A person acting for one organisation in one place (a lender's workspace, or the public site)."""

    user: object
    organisation: Organisation
    roles: frozenset = field(default_factory=frozenset)
    lender: Lender | None = None

    @property
    def kind(self):
        return self.organisation.kind

    @property
    def is_partner(self):
        return self.organisation.kind in PARTNER_KINDS

    @property
    def is_lender_staff(self):
        return self.organisation.kind == OrganisationKind.LENDER

    @property
    def role_labels(self):
        return sorted(str(Role(role).label) for role in self.roles)

    def has_role(self, *roles):
        return bool(self.roles.intersection(roles))


# Actions only a partner's people take: a lender's in-house lawyer holds Role.LAWYER too, but is the lender.
PARTNER_ONLY_ACTIONS = frozenset({"statement.review"})


def can(principal: Principal | None, action: str) -> bool:
    if principal is None:
        return False
    try:
        allowed = PERMISSIONS[action]
    except KeyError:  # an unknown action is a bug; fail closed
        raise ValueError(f"unknown action {action!r}") from None
    if action in PARTNER_ONLY_ACTIONS and not principal.is_partner:
        return False
    return bool(principal.roles & allowed)


# A partner sees the start of the debtor's address (the district: enough to plan work, not to visit);
# the full address is given for an approved field visit only (outsourcing.workbench, visit page).
ADDRESS_HINT_CHARS = 6


def address_for(principal: Principal | None, address: str) -> str:
    """The debtor's home address as this principal may see it: one rule for every page that shows it."""
    if not address:
        return ""
    if can(principal, "debtor.view_address"):
        return address
    return address[:ADDRESS_HINT_CHARS] + "…"


def _active_memberships(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, is_active=True).select_related("organisation")


# ------------------------------------------------------------- decision cache
# Who may act where is read on every request; the answer is cached per user
# and schema under a generation number that portal.signals bumps after any
# committed change to memberships, engagements, organisations, lenders or
# domains. Inside a transaction nothing is cached (it might roll back). The
# user's own is_active flag is always read fresh from the request's user.
def _platform_cache():
    return caches["platform"]


def access_generation() -> int:
    cache = _platform_cache()
    generation = cache.get("access-generation")
    if generation is None:
        cache.add("access-generation", 1, timeout=None)
        generation = cache.get("access-generation", 1)
    return generation


def bump_access_generation():
    cache = _platform_cache()
    try:
        cache.incr("access-generation")
    except ValueError:
        cache.set("access-generation", 2, timeout=None)


def _cached(key_parts, compute):
    if connection.in_atomic_block:
        return compute()
    key = ":".join(str(part) for part in key_parts) + f":g{access_generation()}"
    cache = _platform_cache()
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value)
    return value


_MISSING = object()


def requires_two_factor(user) -> bool:
    """Required for platform staff and lender admins; and for anyone who chose to enrol a device."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False

    def compute():
        from django_otp.plugins.otp_totp.models import TOTPDevice

        return (
            _active_memberships(user).filter(role__in=ROLES_REQUIRING_2FA).exists()
            or TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        )

    return _cached(("2fa", user.pk), compute)


def has_two_factor_device(user) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def _roles_by_org(user):
    grouped: dict = {}
    for membership in _active_memberships(user):
        org, roles = grouped.setdefault(membership.organisation_id, (membership.organisation, set()))
        roles.add(membership.role)
    return grouped


def principal_for(user, lender: Lender) -> Principal | None:
    """How ``user`` may act inside ``lender``'s workspace, or None if not at all.

    A lender's own staff first; otherwise a partner whose engagement with the
    lender is active (pending, suspended and ended engagements open nothing).
    """
    if lender is None or lender.is_template or lender.is_spare or lender.schema_name == "public":
        return None
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    standing = _cached(("principal", user.pk, lender.schema_name), lambda: _standing_in(user, lender))
    if standing is None:
        return None
    organisation, roles = standing
    return Principal(user=user, organisation=organisation, roles=roles, lender=lender)


def _standing_in(user, lender):
    """(organisation, roles) the user acts with inside the lender, or None (uncached)."""
    grouped = _roles_by_org(user)
    if lender.organisation_id in grouped:
        org, roles = grouped[lender.organisation_id]
        return org, frozenset(roles)
    partner_ids = [org_id for org_id, (org, _) in grouped.items() if org.kind in PARTNER_KINDS]
    if not partner_ids:
        return None
    engaged = list(
        Engagement.objects.filter(lender=lender, partner_id__in=partner_ids, status=EngagementStatus.ACTIVE)
        .order_by("partner__kind", "partner__name")
        .values_list("partner_id", flat=True)
    )
    if not engaged:
        return None
    org, roles = grouped[engaged[0]]
    return org, frozenset(roles)


def public_principal(user) -> Principal | None:
    """The platform-staff principal on the public site, if the user has that role."""
    for org, roles in _roles_by_org(user).values():
        if org.kind == OrganisationKind.PLATFORM:
            return Principal(user=user, organisation=org, roles=frozenset(roles))
    return None


def partner_principals(user) -> list[Principal]:
    """One principal per partner organisation the user works for (public site)."""
    return [
        Principal(user=user, organisation=org, roles=frozenset(roles))
        for org, roles in _roles_by_org(user).values()
        if org.kind in PARTNER_KINDS
    ]


def workspaces_for(user) -> list[tuple[Lender, Principal]]:
    """Every lender workspace the user may enter, with how they would act there."""
    grouped = _roles_by_org(user)
    if not grouped:
        return []
    org_ids = list(grouped)
    lenders = Lender.objects.serving().select_related("organisation")
    candidates = lenders.filter(organisation_id__in=org_ids) | lenders.filter(
        engagements__partner_id__in=org_ids, engagements__status=EngagementStatus.ACTIVE
    )
    result = []
    for lender in candidates.distinct().order_by("organisation__name"):
        principal = principal_for(user, lender)
        if principal is not None:
            result.append((lender, principal))
    return result


def engaged_lenders(partner: Organisation):
    return Lender.objects.filter(engagements__partner=partner, engagements__status=EngagementStatus.ACTIVE).select_related("organisation")


def may_receive_cases(partner: Organisation, on=None) -> bool:
    """May this partner be given cases now? A verified licence of its kind, valid today."""
    if partner.kind not in PARTNER_KINDS:
        return False
    on = on or timezone.localdate()
    kind = LicenceKind.COLLECTION if partner.kind == OrganisationKind.AGENCY else LicenceKind.LAW_FIRM
    return partner.licences.filter(kind=kind, status=LicenceStatus.VERIFIED, valid_from__lte=on, valid_to__gte=on).exists()


# ----------------------------------------------------------------- objects
# How a partner comes to see a case is defined by the app that hands cases
# over (outsourcing: placements; litigation: matters). Each registers a scope
# here at start-up, so this module stays the one place that answers while the
# core never imports the apps built on it (tenants <- portal <- outsourcing <- litigation).
PARTNER_CASE_SCOPES: dict[str, list] = {}


def register_partner_case_scope(kind: str, scope):
    """``scope(principal)`` returns a Q/expression selecting the cases that partner may see now."""
    PARTNER_CASE_SCOPES.setdefault(kind, []).append(scope)


def visible_cases(principal: Principal | None):
    """The cases this principal may see in the current lender's schema."""
    from portal.models import Case

    if principal is None or not can(principal, "case.list"):
        return Case.objects.none()
    if principal.is_lender_staff:
        return Case.objects.all()
    scopes = PARTNER_CASE_SCOPES.get(principal.kind, [])
    if not scopes:
        return Case.objects.none()
    condition = scopes[0](principal)
    for scope in scopes[1:]:
        condition |= scope(principal)
    return Case.objects.filter(condition)


def require(request, action: str, *, lender_only: bool = False) -> Principal:
    """The acting principal, if it may do ``action`` (and is the lender's own staff, with ``lender_only``);
    otherwise 403. Every view asks here, and every refusal is audited (ASVS 7.1.3: the failed check is logged)."""
    from django.core.exceptions import PermissionDenied

    from portal.audit.log import Action, record

    principal = getattr(request, "principal", None)
    if not can(principal, action) or (lender_only and not principal.is_lender_staff):
        record(Action.ACCESS_DENIED, request=request, object_type="action", object_id=action)
        raise PermissionDenied
    return principal


def not_found(request, object_type: str, object_id) -> Http404:
    """Audit a refused object and return the 404 to raise: never 403 for an object, which would confirm it exists."""
    from portal.audit.log import Action, record

    record(Action.ACCESS_DENIED, request=request, object_type=object_type, object_id=str(object_id))
    return Http404()


def get_visible_case(principal, case_id, *, request=None):
    """The case, or 404 (never 403: a refusal must not confirm the case exists). Denials are audited."""
    from portal.audit.log import Action, record

    case = visible_cases(principal).select_related("debtor").filter(pk=case_id).first()
    if case is None:
        record(Action.ACCESS_DENIED, request=request, object_type="portal.case", object_id=str(case_id), case_id=str(case_id))
        raise Http404
    return case
