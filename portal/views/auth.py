"""Sign-in, two-factor authentication and the hand-off into a lender's workspace."""

import base64

import segno
from django.contrib import messages
from django.contrib.auth import login, views as auth_views
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_otp import login as otp_login, match_token
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import access
from portal.audit.log import Action, record
from portal.forms import AcceptInvitationForm, LoginForm, TokenForm
from tenants import services
from tenants.models import User


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
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": qr_svg,
            "secret": secret,
            "next": _safe_next(request),
            "required": access.requires_two_factor(request.user),
        },
    )


@csrf_exempt  # the lender host has no CSRF cookie yet; the one-time value and the Origin check stand in for it
def handoff(request):
    """Land in a lender's workspace with a one-use ticket from the public site.

    The POST comes from the page the public host showed to the browser that
    asked (it carries the ticket's one-time value, never put in a URL), so a
    ticket id seen elsewhere is useless, and a form on another site is refused
    by its Origin (no signing a victim in as someone else).
    """
    if request.tenant.schema_name == "public":
        raise Http404
    ticket = None
    # A GET (a link, a prefetch, a replayed URL) claims nothing: it is sent to sign in.
    if request.method == "POST" and request.headers.get("Origin") == services.public_url("/").rstrip("/"):
        ticket = services.claim_ticket(ticket_id=request.POST.get("ticket", ""), nonce=request.POST.get("nonce", ""), lender=request.tenant)
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


# ------------------------------------------------------------------- account
def account(request):
    """The person's own account: password and two-factor authentication (offered to everyone)."""
    return render(
        request,
        "registration/account.html",
        {"has_device": access.has_two_factor_device(request.user), "required": access.requires_two_factor(request.user)},
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password (Django's view: old password, validators, session kept); clears a forced change."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        User.objects.filter(pk=form.user.pk).update(must_change_password=False)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Mail a reset link (Django's token: single-use, PASSWORD_RESET_TIMEOUT); the page never says whether the email has an account."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        User.objects.filter(pk=form.user.pk).update(must_change_password=False)  # the person chose it
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


# --------------------------------------------------------------- invitations
def accept_invitation(request, token):
    """Accept an invitation (public host). GET shows it and changes nothing (mail scanners open links)."""
    invitation = services.open_invitation(token=token)
    if invitation is None:
        return render(request, "registration/invitation_invalid.html", status=404)
    user = request.user if request.user.is_authenticated else None
    if user is not None and access.requires_two_factor(user) and not user.is_verified():
        return redirect(f"/accounts/2fa/?next={request.path}")
    account_exists = user is None and User.objects.filter(email=invitation.email).exists()
    form = (
        AcceptInvitationForm(request.POST or None, initial={"full_name": invitation.full_name})
        if user is None and not account_exists
        else None
    )
    error = None
    if request.method == "POST" and not account_exists and (form is None or form.is_valid()):
        try:
            if user is not None:
                services.accept_invitation(token=token, user=user)
            else:
                user = services.accept_invitation(
                    token=token, password=form.cleaned_data["new_password1"], full_name=form.cleaned_data["full_name"]
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except ValidationError as exc:
            if form is not None:
                about_password = all((e.code or "").startswith("password") for e in exc.error_list)
                form.add_error("new_password1" if about_password else None, exc)
            else:
                error = exc.messages[0]
        else:
            messages.success(request, _("Welcome to %(name)s.") % {"name": invitation.organisation.name})
            return redirect("/")  # two-factor enrolment follows where a role requires it
    return render(
        request,
        "registration/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "account_exists": account_exists,
            "error": error,
            "signed_in_as_other": user is not None and user.email.lower() != invitation.email,
        },
    )
