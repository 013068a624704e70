"""The fee ledger on a lender's host, under /ledger/: the net-recovery dashboard and its exports."""

from django.urls import path

from . import views

app_name = "ledger"

urlpatterns = [
    path("", views.dashboard, name="net-recovery"),
    path("export.csv", views.export_csv, name="net-recovery-export-csv"),
    path("export.xlsx", views.export_xlsx, name="net-recovery-export-xlsx"),
]
