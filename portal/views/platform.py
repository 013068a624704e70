"""Platform staff screens on the public site: lenders, partners, licences."""

import time

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from portal import access
from portal.audit.log import Action, record
from portal.forms import InvitationForm
from portal.lib.downloads import stored_file
from portal.lib.uploads import check_document
from portal.lib.widgets import DateInput
from tenants import services
from tenants.models import (
    PARTNER_KINDS,
    PRACTITIONER_ROLES,
    Lender,
    Licence,
    LicenceKind,
    Membership,
    Organisation,
    OrganisationKind,
    PractitionerCertificate,
    User,
)


class LenderForm(forms.Form):
    slug = forms.CharField(
        label=gettext_lazy("Short name"), max_length=32, help_text=gettext_lazy("Becomes the web address: <short name>.caseport")
    )
    name = forms.CharField(label=gettext_lazy("Lender name"), max_length=200)
    domain = forms.CharField(label=gettext_lazy("Domain (optional)"), max_length=253, required=False)


class OrganisationForm(forms.Form):
    slug = forms.CharField(label=gettext_lazy("Short name"), max_length=32)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=[(k.value, k.label) for k in PARTNER_KINDS])
    credit_code = forms.CharField(label=gettext_lazy("Unified social credit code"), max_length=18, required=False)


class LicenceForm(forms.ModelForm):
    class Meta:
        model = Licence
        fields = ["kind", "number", "issuing_authority", "scope", "regions", "valid_from", "valid_to", "document"]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document:
            check_document(document)
        return document

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("valid_from") and cleaned.get("valid_to") and cleaned["valid_to"] < cleaned["valid_from"]:
            self.add_error("valid_to", _("The end date is before the start date."))
        return cleaned


class CertificateForm(forms.ModelForm):
    """A collector's or lawyer's practitioner certificate (从业资格证 / 律师执业证)."""

    class Meta:
        model = PractitionerCertificate
        fields = ["membership", "number", "issuing_authority", "valid_to"]
        widgets = {"valid_to": DateInput()}

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = Membership.objects.filter(
            organisation=organisation, role__in=PRACTITIONER_ROLES
        ).select_related("user")
        self.fields["membership"].label = _("Person")


def lenders(request):
    access.require(request, "platform.manage")
    form = LenderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        started = time.perf_counter()
        try:
            lender = services.create_lender(**form.cleaned_data, actor=request.user, request=request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Lender %(name)s is ready at %(domain)s (%(seconds).2f s).")
                % {"name": lender.name, "domain": lender.get_primary_domain().domain, "seconds": time.perf_counter() - started},
            )
            return redirect("platform-lenders")
    rows = Lender.objects.serving().select_related("organisation").prefetch_related("domains", "engagements")
    return render(request, "tenants/lenders.html", {"lenders": rows, "form": form})


def organisations(request):
    access.require(request, "platform.manage")
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            org = services.create_organisation(**form.cleaned_data, actor=request.user, request=request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("platform-organisation", org_id=org.pk)
    partners = Organisation.objects.filter(kind__in=PARTNER_KINDS).prefetch_related("licences")
    rows = [{"org": org, "licensed": access.may_receive_cases(org)} for org in partners]
    return render(request, "tenants/organisations.html", {"rows": rows, "form": form})


def organisation_detail(request, org_id):
    access.require(request, "platform.manage")
    org = get_object_or_404(Organisation, pk=org_id, kind__in=PARTNER_KINDS)
    licence_form = LicenceForm(
        prefix="licence", initial={"kind": LicenceKind.COLLECTION if org.kind == OrganisationKind.AGENCY else LicenceKind.LAW_FIRM}
    )
    member_form = InvitationForm(prefix="member", kind=org.kind)
    certificate_form = CertificateForm(prefix="cert", organisation=org)
    if request.method == "POST" and "cert-number" in request.POST:
        certificate_form = CertificateForm(request.POST, prefix="cert", organisation=org)
        if certificate_form.is_valid():
            certificate = certificate_form.save()
            record(Action.CREATE, request=request, obj=certificate)
            messages.success(request, _("Certificate added; verify it before the person works cases."))
            return redirect(request.path)
    elif request.method == "POST" and "licence-number" in request.POST:
        licence_form = LicenceForm(request.POST, request.FILES, prefix="licence")
        if licence_form.is_valid():
            fields = dict(licence_form.cleaned_data)
            document = fields.get("document")
            fields["document"] = document or ""
            fields["document_name"] = document.name[:200] if document else ""
            try:
                services.add_licence(organisation=org, **fields)
            except ValidationError as error:
                licence_form.add_error(None, error)
            else:
                messages.success(request, _("Licence added; verify it against the original before cases can be placed."))
                return redirect(request.path)
    elif request.method == "POST":
        member_form = InvitationForm(request.POST, prefix="member", kind=org.kind)
        if member_form.is_valid():
            try:
                invitation, _token = services.invite_member(
                    organisation=org, invited_by=request.user, request=request, **member_form.cleaned_data
                )
            except ValidationError as error:
                member_form.add_error(None, error)
            else:
                messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
                return redirect(request.path)
    return render(
        request,
        "tenants/organisation_detail.html",
        {
            "org": org,
            "licences": org.licences.all(),
            "licensed": access.may_receive_cases(org),
            "members": Membership.objects.filter(organisation=org).select_related("user"),
            "invitations": [i for i in org.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True) if i.is_open()],
            "engagements": org.engagements.select_related("lender__organisation"),
            "licence_form": licence_form,
            "member_form": member_form,
            "certificate_form": certificate_form,
            "certificates": PractitionerCertificate.objects.filter(membership__organisation=org).select_related("membership__user"),
        },
    )


@require_POST
def certificate_verify(request, certificate_id):
    access.require(request, "platform.manage")
    certificate = get_object_or_404(PractitionerCertificate, pk=certificate_id)
    certificate = services.verify_certificate(
        certificate=certificate, by=request.user, approve=request.POST.get("decision") == "approve", request=request
    )
    return redirect("platform-organisation", org_id=certificate.membership.organisation_id)


@require_POST
def user_disable(request, user_id):
    """Disable a person's account everywhere; every session they have ends at once."""
    access.require(request, "platform.manage")
    user = get_object_or_404(User, pk=user_id)
    if user == request.user:
        messages.error(request, _("You cannot disable your own account."))
    else:
        services.disable_user(user=user, actor=request.user, request=request)
        messages.success(request, _("%(email)s can no longer sign in; their sessions have ended.") % {"email": user.email})
    membership = user.memberships.filter(organisation__kind__in=PARTNER_KINDS).first()
    return redirect("platform-organisation", org_id=membership.organisation_id) if membership else redirect("platform-organisations")


@require_POST
def licence_verify(request, licence_id):
    access.require(request, "platform.manage")
    licence = get_object_or_404(Licence, pk=licence_id)
    licence = services.verify_licence(licence=licence, by=request.user, approve=request.POST.get("decision") == "approve", request=request)
    return redirect("platform-organisation", org_id=licence.organisation_id)


def licence_document(request, licence_id):
    access.require(request, "platform.manage")
    licence = get_object_or_404(Licence, pk=licence_id)
    if not licence.document:
        raise Http404
    record(Action.DOWNLOAD, request=request, obj=licence)
    return stored_file(licence.document.open("rb"), filename=licence.document_name or "licence")


@require_POST
def enter_workspace(request, slug):
    """Hand the signed-in person over to a lender's host with a one-use ticket.

    The answer is a page for this browser only (no-store) with a form that
    posts the ticket and its one-time value to the lender's host; nothing
    usable appears in a URL, a log or the history.
    """
    for lender, _principal in access.workspaces_for(request.user):
        if lender.organisation.slug == slug:
            device = getattr(request.user, "otp_device", None)
            ticket, nonce = services.issue_ticket(
                user=request.user, lender=lender, otp_device=device, next_path=request.POST.get("next", "/")
            )
            response = render(
                request,
                "registration/handoff.html",
                {"lender": lender, "action": services.lender_url(lender, "/auth/handoff/"), "ticket": ticket, "nonce": nonce},
            )
            # The lender's host checks the form's Origin; "same-origin" would send "Origin: null" cross-host.
            response["Referrer-Policy"] = "strict-origin-when-cross-origin"
            return response
    raise Http404
