"""URLs (litigation), filled in by the litigation issue."""

from django.urls import path  # noqa: F401

app_name = "litigation"
urlpatterns = []
