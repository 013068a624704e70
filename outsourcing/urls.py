"""Outsourcing on a lender's host, under /outsourcing/."""

from django.urls import include, path

from . import scorecard_urls, statement_urls, views

app_name = "outsourcing"

urlpatterns = [
    path("agreements/", views.agreement_list, name="agreement-list"),
    path("agreements/new/", views.agreement_create, name="agreement-create"),
    path("agreements/<uuid:agreement_id>/", views.agreement_detail, name="agreement-detail"),
    path("allocation/", views.allocation_page, name="allocation"),
    path("allocation/<uuid:batch_id>/", views.allocation_batch, name="allocation-batch"),
    path("allocation/<uuid:batch_id>/status/", views.allocation_progress, name="allocation-progress"),
    path("allocation/<uuid:batch_id>/commit/", views.allocation_commit, name="allocation-commit"),
    path("place/", views.manual_placement, name="placement-manual"),
    path("placements/", views.placement_list, name="placement-list"),
    path("placements/recall/", views.placement_recall, name="placement-recall"),
    path("placements/<uuid:placement_id>/", views.placement_detail, name="placement-detail"),
    path("placements/<uuid:placement_id>/hold/", views.placement_hold_request, name="placement-hold-request"),
    path("holds/<uuid:hold_id>/decide/", views.hold_decide, name="hold-decide"),
    path("statements/", include(statement_urls)),
    path("scorecards/", include(scorecard_urls)),
]
