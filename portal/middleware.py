"""Request plumbing: schema reset, session lifetime, workspace access, no-store."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponseNotFound
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware

from portal import access
from portal.audit.log import Action, record

# Paths anyone may reach on any host (sign-in, password reset, invitations, hand-off, language, health).
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/password/reset/",
    "/accounts/invitation/",
    "/auth/handoff/",
    "/i18n/",
    "/static/",
    "/healthz",
    "/favicon.ico",
    "/stripe/webhook/",  # Stripe's events: authenticated by their signature (billing/views.py), routed on the public host only
)
# Integration API calls authenticate with a token (in the host's schema), not a session.
TOKEN_API_PREFIXES = ("/intake/api/", "/payments/api/")
# Reachable signed in but before two-factor verification.
PRE_OTP_PREFIXES = ("/accounts/2fa/", "/accounts/logout/")
# Reachable while a password someone else chose still has to be changed.
PASSWORD_CHANGE_PREFIXES = ("/accounts/password/change/", "/accounts/logout/", "/accounts/2fa/")
PASSWORD_CHANGE_PATH = "/accounts/password/change/"


def is_public_request(request):
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.schema_name == "public"


class CachedTenantMiddleware(TenantMainMiddleware):
    """django-tenants' host → tenant routing, with the answer cached (a query less per request).

    The cache entry carries the access generation, so a changed or removed
    domain is seen at once (portal.signals bumps it on commit).
    """

    def get_tenant(self, domain_model, hostname):
        def lookup():
            return domain_model.objects.select_related("tenant__organisation").get(domain=hostname).tenant

        cache = caches["platform"]
        key = f"tenant-for-host:{hostname}:g{access.access_generation()}"
        tenant = cache.get(key)
        if tenant is None:
            tenant = lookup()  # DoesNotExist propagates: unknown hosts are not cached
            cache.set(key, tenant)
        return tenant


class ResetSchemaMiddleware:
    """Put the connection back on the public schema after every request, even a failed one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()


class SessionLifetimeMiddleware:
    """Idle and absolute session timeouts (ASVS 7.3.1, 7.3.2)."""

    TOUCH_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.setdefault("_started", now)
            last_seen = request.session.get("_last_seen", now)
            if now - last_seen > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, _("Your session has ended. Please sign in again."))
                return redirect(settings.LOGIN_URL)
            if now - last_seen >= self.TOUCH_EVERY or "_last_seen" not in request.session:
                request.session["_last_seen"] = now
        return self.get_response(request)


class TenantAccessMiddleware:
    """On a lender's host, let in only people with a principal there, and require 2FA where due.

    Everyone else gets 404 (the workspace is not confirmed to them), and the
    refusal is written to the lender's audit log.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.principal = None
        path = request.path
        if path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            if (
                path.startswith(TOKEN_API_PREFIXES)
                and request.headers.get("Authorization", "").startswith("Token ")
                and not is_public_request(request)
            ):
                return self.get_response(request)  # the API view authenticates the token in this host's schema
            return redirect(f"{settings.LOGIN_URL_PATH}?next={path}")
        if not user.is_verified() and access.requires_two_factor(user):
            if not path.startswith(PRE_OTP_PREFIXES):
                return redirect(f"/accounts/2fa/?next={path}")
            return self.get_response(request)
        if user.must_change_password and not path.startswith(PASSWORD_CHANGE_PREFIXES):
            return redirect(PASSWORD_CHANGE_PATH)  # the page itself says why
        if is_public_request(request):
            request.principal = access.public_principal(user)
            return self.get_response(request)
        principal = access.principal_for(user, request.tenant)
        if principal is None:
            record(Action.ACCESS_DENIED, request=request, object_type="workspace", object_id=request.tenant.schema_name)
            return HttpResponseNotFound(render_to_string("404.html", request=request))
        request.principal = principal
        return self.get_response(request)


class NoStoreMiddleware:
    """Nothing a signed-in person sees may be kept by a browser or proxy cache (ASVS 14.3.2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response
