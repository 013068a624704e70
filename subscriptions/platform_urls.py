"""Platform staff's view of every lender's billing (public host, under platform/billing/)."""

from django.urls import path

from subscriptions import platform_views

urlpatterns = [path("", platform_views.billing_overview, name="platform-billing")]
