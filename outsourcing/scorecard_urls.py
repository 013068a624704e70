"""Scorecards under /outsourcing/ (names in the outsourcing namespace)."""

from django.urls import path

from . import scorecard_views

urlpatterns = [
    path("", scorecard_views.scorecard_page, name="scorecards"),
    path("export.csv", scorecard_views.scorecard_export, name="scorecards-export"),
]
