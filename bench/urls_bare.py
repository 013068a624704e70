"""The lender-host URLconf plus one bare view, for the request-overhead benchmark.

Installed as ROOT_URLCONF only while benchmark 3 runs (lender hosts route
through ROOT_URLCONF; django-tenants only swaps in PUBLIC_SCHEMA_URLCONF for
the public schema), so the dashboard and the bare view are resolved by the
same resolver. The bare view comes first so that it pays no extra URL matching.
"""

from django.http import HttpResponse, HttpResponseForbidden
from django.urls import path

from config.urls_tenant import handler403, handler404, handler500, urlpatterns as tenant_urlpatterns  # noqa: F401


def bare(request):
    """Does no work beyond what a @login_required view does: check that someone is signed in."""
    user = getattr(request, "user", None)  # absent when there is no middleware at all
    if user is not None and not user.is_authenticated:
        return HttpResponseForbidden("signed out")
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench-bare")] + tenant_urlpatterns
