"""A lender's host (<slug>.<base domain>): the workspace."""

from django.urls import include, path

from config.urls_common import urlpatterns as common
from config.views import cases, shell
from portal.views import audit, auth, engagements, jobs, team

urlpatterns = common + [
    path("", shell.home, name="home"),
    path("auth/handoff/", auth.handoff, name="handoff"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<uuid:case_id>/", cases.case_detail, name="case-detail"),
    path("cases/<uuid:case_id>/reveal-id/", cases.reveal_id_number, name="case-reveal-id"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/export/", audit.audit_export, name="audit-export"),
    path("jobs/<uuid:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/progress/", jobs.job_progress, name="job-progress"),
    path("jobs/<uuid:job_id>/download/", jobs.job_download, name="job-download"),
    path("team/", team.team, name="team"),
    path("team/<int:membership_id>/deactivate/", team.deactivate_member, name="team-deactivate"),
    path("engagements/", engagements.engagements, name="engagements"),
    path("engagements/<uuid:engagement_id>/status/", engagements.engagement_status, name="engagement-status"),
    path("intake/", include("portal.intake.urls")),
    path("payments/", include("portal.payments.urls")),
    path("ledger/", include("portal.ledger.urls")),
    path("fees/", include("portal.fees.urls")),
    path("billing/", include("subscriptions.urls")),
    path("outsourcing/", include("outsourcing.urls")),
    path("workbench/", include("outsourcing.workbench.urls")),
    path("litigation/batches/", include("litigation.batch_urls")),
    path("litigation/", include("litigation.urls")),
    path("legal/", include("litigation.office_urls")),
]

handler403 = "portal.views.system.forbidden"
handler404 = "portal.views.system.not_found"
handler500 = "portal.views.system.server_error"
