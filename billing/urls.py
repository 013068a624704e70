"""billing's URLs, on the public host under /stripe/ (config/urls_public.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("webhook/", views.webhook, name="stripe-webhook"),
]
