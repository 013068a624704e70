"""Statements and invoices on a lender's host, under /fees/ (portal.fees; lender and partner screens)."""

from django.urls import path

from . import views

app_name = "fees"

urlpatterns = [
    path("", views.statement_list, name="statement-list"),
    path("draft/", views.statement_draft, name="statement-draft"),
    path("<uuid:statement_id>/", views.statement_detail, name="statement-detail"),
    path("<uuid:statement_id>/refresh/", views.statement_refresh, name="statement-refresh"),
    path("<uuid:statement_id>/send/", views.statement_send, name="statement-send"),
    path("<uuid:statement_id>/approve/", views.statement_approve, name="statement-approve"),
    path("<uuid:statement_id>/issue/", views.statement_issue, name="statement-issue"),
    path("<uuid:statement_id>/pay/", views.statement_pay, name="statement-pay"),
    path("<uuid:statement_id>/discard/", views.statement_discard, name="statement-discard"),
    path("<uuid:statement_id>/accept/", views.statement_accept, name="statement-accept"),
    path("<uuid:statement_id>/dispute/", views.statement_dispute, name="statement-dispute"),
    path("disputes/<uuid:dispute_id>/resolve/", views.dispute_resolve, name="dispute-resolve"),
    path("<uuid:statement_id>/statement.csv", views.statement_csv, name="statement-csv"),
    path("<uuid:statement_id>/statement.xlsx", views.statement_xlsx, name="statement-xlsx"),
    path("<uuid:statement_id>/statement.pdf", views.statement_pdf, name="statement-pdf"),
]
