"""URLs (litigation-batch), filled in by the litigation issue."""

from django.urls import path  # noqa: F401

app_name = "litigation-batch"
urlpatterns = []
