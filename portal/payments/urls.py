"""/payments/ on a lender's host."""

from django.urls import path

from . import api, views

urlpatterns = [
    path("", views.payment_list, name="payment-list"),
    path("export.csv", views.payment_export, name="payment-export"),
    path("new/", views.payment_record, name="payment-record"),
    path("import/", views.payment_import, name="payment-import"),
    path("import/commit/", views.payment_import_commit, name="payment-import-commit"),
    path("import/template.csv", views.payment_template, name="payment-template"),
    path("reports/", views.report_list, name="payment-reports"),
    path("reports/<uuid:report_id>/match/", views.report_match, name="payment-report-match"),
    path("reports/<uuid:report_id>/reject/", views.report_reject, name="payment-report-reject"),
    path("reports/<uuid:report_id>/dispute/", views.report_dispute, name="payment-report-dispute"),
    path("disputes/", views.dispute_list, name="dispute-list"),
    path("disputes/<uuid:dispute_id>/", views.dispute_detail, name="dispute-detail"),
    path("api/", api.PaymentImportView.as_view(), name="payment-api"),
    path("api/reversals/", api.PaymentReversalView.as_view(), name="payment-api-reversal"),
    path("<uuid:payment_id>/", views.payment_detail, name="payment-detail"),
    path("<uuid:payment_id>/dispute/", views.payment_dispute, name="payment-dispute"),
    path("<uuid:payment_id>/reverse/", views.payment_reverse, name="payment-reverse"),
]
