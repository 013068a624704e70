"""The lender's billing page (lender host, under billing/)."""

from django.urls import path

from subscriptions import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("card/", views.replace_card, name="billing-card"),
    path("pay/", views.pay_now, name="billing-pay"),
]
