"""/intake/ on a lender's host: the import pages, integration tokens, and the integration API."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("", views.intake_home, name="intake-home"),
    path("template.csv", views.template_csv, name="intake-template-csv"),
    path("template.xlsx", views.template_xlsx, name="intake-template-xlsx"),
    path("<uuid:import_id>/", views.batch_detail, name="intake-batch"),
    path("<uuid:import_id>/progress/", views.batch_progress, name="intake-batch-progress"),
    path("<uuid:import_id>/mapping/", views.batch_mapping, name="intake-mapping"),
    path("<uuid:import_id>/commit/", views.batch_commit, name="intake-commit"),
    path("<uuid:import_id>/errors.csv", views.batch_errors, name="intake-errors"),
    path("mappings/<uuid:column_mapping_id>/delete/", views.mapping_delete, name="intake-mapping-delete"),
    path("tokens/", views.token_list, name="intake-tokens"),
    path("tokens/<uuid:integration_token_id>/revoke/", views.token_revoke, name="intake-token-revoke"),
    path("tokens/<uuid:integration_token_id>/rotate/", views.token_rotate, name="intake-token-rotate"),
    path("api/cases/", api.CaseImportView.as_view(), name="intake-api-cases"),
    path("api/imports/<uuid:import_id>/", api.ImportStatusView.as_view(), name="intake-api-import"),
    path("api/schema/", api.IntakeSchemaView.as_view(), name="intake-api-schema"),
]
