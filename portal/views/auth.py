"""Sign-in, two-factor authentication and the hand-off into a lender's workspace."""
import base64

import segno
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import access
from portal.audit.log import Action, record
from portal.forms import LoginForm, TokenForm
from tenants import services


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def _safe_next(request, default="/"):
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def two_factor(request):
    """Verify a TOTP code; people without a device are sent to enrol one."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    devices = TOTPDevice.objects.devices_for_user(request.user, confirmed=True)
    if not devices.exists():
        return redirect(f"/accounts/2fa/setup/?next={_safe_next(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            record(Action.OTP_VERIFIED, request=request)
            return redirect(_safe_next(request))
        form.add_error("token", _("That code is not valid. Check your device's clock and try again."))
    return render(request, "registration/two_factor.html", {"form": form, "next": _safe_next(request)})


def two_factor_setup(request):
    """Enrol a TOTP authenticator: show the QR code, confirm with a first code."""
    if TOTPDevice.objects.devices_for_user(request.user, confirmed=True).exists():
        return redirect("/accounts/2fa/")
    device_id = request.session.get("pending_totp_device")
    device = TOTPDevice.objects.filter(pk=device_id, user=request.user, confirmed=False).first() if device_id else None
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="authenticator", confirmed=False)
        request.session["pending_totp_device"] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            request.session.pop("pending_totp_device", None)
            otp_login(request, device)
            record(Action.OTP_ENROLLED, request=request)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(_safe_next(request))
        form.add_error("token", _("That code is not valid. Scan the code again and enter the current six digits."))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "registration/two_factor_setup.html", {"form": form, "qr_svg": qr_svg, "secret": secret, "next": _safe_next(request)})


@require_GET
def handoff(request, ticket_id):
    """Land in a lender's workspace with a one-use ticket from the public site."""
    if request.tenant.schema_name == "public":
        raise Http404
    ticket = services.claim_ticket(ticket_id=ticket_id, lender=request.tenant)
    if ticket is None or not ticket.user.is_active:
        messages.error(request, _("That link has expired. Sign in to continue."))
        return redirect("/accounts/login/")
    # One audit event for the hand-off, naming the organisation the person acts for here.
    request.principal = access.principal_for(ticket.user, request.tenant)
    request.audit_login_as = Action.ENTER_WORKSPACE
    login(request, ticket.user, backend="django.contrib.auth.backends.ModelBackend")
    if ticket.otp_device_id:
        device = Device.from_persistent_id(ticket.otp_device_id)
        if device is not None and device.user_id == ticket.user_id:
            otp_login(request, device)
    return redirect(ticket.next_path)
