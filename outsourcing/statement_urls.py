"""The old address of the statements list under /outsourcing/statements/ (a redirect to /fees/)."""

from django.urls import path

from . import statement_views as views

urlpatterns = [
    path("", views.statement_list, name="statement-list"),
]
