"""URLs of the legal office (legal): deadlines, pipeline, legal costs, settings and the court-fee calculator."""

from django.urls import path

from . import office_views as views

app_name = "legal"
urlpatterns = [
    path("deadlines/", views.deadlines, name="deadlines"),
    path("deadlines/<int:deadline_id>/done/", views.deadline_done, name="deadline-done"),
    path("pipeline/", views.pipeline_page, name="pipeline"),
    path("costs/", views.costs, name="costs"),
    path("costs/export.csv", views.costs_export, name="costs-export"),
    path("matters/<uuid:matter_id>/costs/", views.matter_costs, name="matter-costs"),
    path("matters/<uuid:matter_id>/costs/new/", views.cost_create, name="cost-create"),
    path("matters/<uuid:matter_id>/costs/recovered/", views.recovery_create, name="recovery-create"),
    path("settings/", views.legal_settings, name="settings"),
    path("settings/fee-agreements/new/", views.fee_agreement_create, name="fee-agreement-create"),
    path("settings/fee-agreements/<uuid:fee_agreement_id>/", views.fee_agreement_edit, name="fee-agreement-edit"),
    path("court-fees/", views.court_fee_calculator, name="court-fees"),
]
