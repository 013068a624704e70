"""The public host: workspaces, the partners' combined work list, platform staff screens."""

from django.urls import include, path

from config.urls_common import urlpatterns as common
from config.views import shell
from portal.views import auth, platform, team

urlpatterns = common + [
    path("", shell.home, name="home"),
    path("workspaces/<slug:slug>/enter/", platform.enter_workspace, name="enter-workspace"),
    path("accounts/invitation/<str:token>/", auth.accept_invitation, name="accept-invitation"),
    path("partner/<slug:slug>/team/", team.team, name="partner-team"),
    path("partner/<slug:slug>/team/<int:membership_id>/deactivate/", team.deactivate_member, name="partner-team-deactivate"),
    path("stripe/", include("billing.urls")),
    path("platform/billing/", include("subscriptions.platform_urls")),
    path("platform/lenders/", platform.lenders, name="platform-lenders"),
    path("platform/organisations/", platform.organisations, name="platform-organisations"),
    path("platform/organisations/<uuid:org_id>/", platform.organisation_detail, name="platform-organisation"),
    path("platform/licences/<uuid:licence_id>/verify/", platform.licence_verify, name="platform-licence-verify"),
    path("platform/licences/<uuid:licence_id>/document/", platform.licence_document, name="platform-licence-document"),
    path("platform/certificates/<uuid:certificate_id>/verify/", platform.certificate_verify, name="platform-certificate-verify"),
    path("platform/users/<int:user_id>/disable/", platform.user_disable, name="platform-user-disable"),
]

handler403 = "portal.views.system.forbidden"
handler404 = "portal.views.system.not_found"
handler500 = "portal.views.system.server_error"
