"""People of an organisation: the lender's team (lender admin) or a partner's (agency admin)."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import access
from portal.forms import MemberForm
from portal.middleware import is_public_request
from tenants import services
from tenants.models import Membership, Organisation, Role


def _team_organisation(request, slug=None):
    """The organisation whose team this person manages here, or 403."""
    if not is_public_request(request):
        if not access.can(request.principal, "team.manage"):
            raise PermissionDenied
        return request.principal.organisation
    for principal in access.partner_principals(request.user):
        if principal.organisation.slug == slug and access.can(principal, "partner.team"):
            return principal.organisation
    raise Http404


def team(request, slug=None):
    organisation = _team_organisation(request, slug)
    form = MemberForm(request.POST or None, kind=organisation.kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_member(organisation=organisation, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("%(email)s was added.") % {"email": form.cleaned_data["email"]})
            return redirect(request.path)
    members = Membership.objects.filter(organisation=organisation).select_related("user").order_by("-is_active", "user__email")
    return render(request, "portal/team.html", {"organisation": organisation, "members": members, "form": form})


@require_POST
def deactivate_member(request, membership_id, slug=None):
    organisation = _team_organisation(request, slug)
    membership = get_object_or_404(Membership, pk=membership_id, organisation=organisation)
    if membership.user_id == request.user.pk and membership.role in (Role.LENDER_ADMIN, Role.AGENCY_ADMIN):
        messages.error(request, _("You cannot remove your own admin role."))
    else:
        services.deactivate_membership(membership=membership)
        messages.success(request, _("The role was removed."))
    return redirect("partner-team", slug=slug) if slug else redirect("team")
