"""The agency workbench, on a lender's host under /workbench/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.queue_page, name="workbench-queue"),
    path("assign/", views.assign_page, name="workbench-assign"),
    path("cases/<uuid:case_id>/", views.case_page, name="workbench-case"),
    path("cases/<uuid:case_id>/attempts/", views.start_attempt, name="workbench-attempt-start"),
    path("cases/<uuid:case_id>/field-visits/", views.request_visit, name="workbench-visit-request"),
    path("attempts/<uuid:attempt_id>/verify/", views.verify_identity, name="workbench-attempt-verify"),
    path("attempts/<uuid:attempt_id>/outcome/", views.record_outcome, name="workbench-attempt-outcome"),
    path("attempts/<uuid:attempt_id>/recording/", views.upload_recording, name="workbench-recording-upload"),
    path("recordings/<uuid:recording_id>/", views.recording_download, name="workbench-recording"),
    path("visits/", views.visit_list, name="workbench-visits"),
    path("visits/<uuid:visit_id>/", views.visit_detail, name="workbench-visit"),
    path("visits/<uuid:visit_id>/decide/", views.decide_visit, name="workbench-visit-decide"),
    path("visits/<uuid:visit_id>/report/", views.report_visit, name="workbench-visit-report"),
    path("visit-photos/<uuid:visit_photo_id>/", views.visit_photo, name="workbench-visit-photo"),
    path("contact-rules/", views.contact_policy, name="workbench-policy"),
]
