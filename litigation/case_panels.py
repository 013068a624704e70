"""Litigation's panels on the case page: the matter(s) the case is in, or escalation; and criminal referrals.

Registered with portal.case_panels at start-up (the core never imports litigation). The matters panel is
for whoever may view matters ("matter.view": the lender's legal staff, and a law firm's people for the
cases of their own open matters); the referrals panel for whoever manages referrals ("referral.manage",
which includes the collections manager, who does not see matters).
"""

from portal.access import can
from portal.case_panels import register_case_panel

from . import escalation
from .access import visible_matters
from .forms import ReferralForm
from .models import CriminalReferral


def matters_panel(request, case) -> dict:
    principal = request.principal
    matters = list(
        visible_matters(principal).filter(loans__case=case).select_related("firm", "lawyer").distinct().order_by("-escalated_at")
    )
    eligible = escalation.eligible_cases(type(case).objects.filter(pk=case.pk)).exists()
    return {
        "matters": matters,
        "can_escalate": can(principal, "matter.escalate") and principal.is_lender_staff and eligible,
    }


def referrals_panel(request, case) -> dict:
    from django.utils import timezone

    return {
        "referrals": list(CriminalReferral.objects.filter(case=case).select_related("recorded_by")),
        "referral_form": ReferralForm(initial={"reported_on": timezone.localdate()}),
    }


def register():
    register_case_panel(
        key="litigation", action="matter.view", template="litigation/partials/case_matters.html", build=matters_panel, order=50
    )
    register_case_panel(
        key="litigation-referrals",
        action="referral.manage",
        template="litigation/partials/case_referrals.html",
        build=referrals_panel,
        order=60,
    )
