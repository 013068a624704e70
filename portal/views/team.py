"""People of an organisation: the lender's team (lender admin) or a partner's (agency admin)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import access
from portal.forms import InvitationForm
from portal.middleware import is_public_request
from tenants import services
from tenants.models import Invitation, Membership, Role


def _team_organisation(request, slug=None):
    """The organisation whose team this person manages here, or 403."""
    if not is_public_request(request):
        return access.require(request, "team.manage").organisation
    for principal in access.partner_principals(request.user):
        if principal.organisation.slug == slug and access.can(principal, "partner.team"):
            return principal.organisation
    raise access.not_found(request, "tenants.organisation", slug)


def team(request, slug=None):
    """The team, and inviting people: an invitation, never an account attached or a password chosen for someone."""
    organisation = _team_organisation(request, slug)
    form = InvitationForm(request.POST or None, kind=organisation.kind)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _token = services.invite_member(
                organisation=organisation, invited_by=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
            return redirect(request.path)
    members = Membership.objects.filter(organisation=organisation).select_related("user").order_by("-is_active", "user__email")
    pending = [
        i for i in Invitation.objects.filter(organisation=organisation, accepted_at__isnull=True, revoked_at__isnull=True) if i.is_open()
    ]
    return render(request, "portal/team.html", {"organisation": organisation, "members": members, "form": form, "invitations": pending})


@require_POST
def deactivate_member(request, membership_id, slug=None):
    organisation = _team_organisation(request, slug)
    membership = get_object_or_404(Membership, pk=membership_id, organisation=organisation)
    if membership.user_id == request.user.pk and membership.role in (Role.LENDER_ADMIN, Role.AGENCY_ADMIN):
        messages.error(request, _("You cannot remove your own admin role."))
    else:
        services.deactivate_membership(membership=membership, actor=request.user, request=request)
        messages.success(request, _("The role was removed."))
    return redirect("partner-team", slug=slug) if slug else redirect("team")
