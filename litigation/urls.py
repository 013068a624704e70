"""The legal workbench on a lender's host, under /litigation/ (litigation.views)."""

from django.urls import path

from . import views

app_name = "litigation"

urlpatterns = [
    path("", views.matter_list, name="matter-list"),
    path("escalate/", views.escalate, name="escalate"),
    path("cases/<uuid:case_id>/referral/", views.referral_create, name="referral-create"),
    path("<uuid:matter_id>/", views.matter_detail, name="matter-detail"),
    path("<uuid:matter_id>/debt-statement/", views.debt_statement, name="debt-statement"),
    path("<uuid:matter_id>/stage/", views.record_stage, name="stage-record"),
    path("<uuid:matter_id>/checklist/", views.checklist_tick, name="checklist-tick"),
    path("<uuid:matter_id>/elements/", views.matter_elements, name="matter-elements"),
    path("<uuid:matter_id>/loans/<int:loan_id>/elements/", views.loan_elements, name="loan-elements"),
    path("<uuid:matter_id>/documents/", views.document_upload, name="document-upload"),
    path("<uuid:matter_id>/documents/<uuid:document_id>/", views.document_download, name="document-download"),
    path("<uuid:matter_id>/documents/<uuid:document_id>/remove/", views.document_remove, name="document-remove"),
    path("<uuid:matter_id>/preflight/override/", views.preflight_override, name="preflight-override"),
    path("<uuid:matter_id>/packets/", views.packet_build, name="packet-build"),
    path("<uuid:matter_id>/packets/<uuid:packet_id>/", views.packet_download, name="packet-download"),
    path("<uuid:matter_id>/packets/<uuid:packet_id>/approve/", views.packet_approve, name="packet-approve"),
    path("<uuid:matter_id>/reassign/", views.matter_reassign, name="matter-reassign"),
]
