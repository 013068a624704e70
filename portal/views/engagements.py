"""A lender admin's partners: engage, activate, suspend, end."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from portal import access, errors
from tenants import services
from tenants.models import PARTNER_KINDS, Engagement, EngagementStatus, Organisation

ORDER = [EngagementStatus.ACTIVE, EngagementStatus.SUSPENDED, EngagementStatus.ENDED, EngagementStatus.PENDING]


class EngageForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=gettext_lazy("Partner"))
    note = forms.CharField(required=False, max_length=300, label=gettext_lazy("Note"))

    def __init__(self, *args, lender, **kwargs):
        super().__init__(*args, **kwargs)
        engaged = Engagement.objects.filter(lender=lender).values("partner_id")
        self.fields["partner"].queryset = Organisation.objects.filter(kind__in=PARTNER_KINDS).exclude(pk__in=engaged)


def engagements(request):
    access.require(request, "engagement.manage")
    form = EngageForm(request.POST or None, lender=request.tenant)
    if request.method == "POST" and form.is_valid():
        services.engage_partner(
            lender=request.tenant, partner=form.cleaned_data["partner"], note=form.cleaned_data["note"], actor=request.user, request=request
        )
        messages.success(request, _("Engagement created. Activate it to open your workspace to the partner."))
        return redirect("engagements")
    rows = [
        {
            "engagement": e,
            "licensed": access.may_receive_cases(e.partner),
            "next": sorted(services.ENGAGEMENT_TRANSITIONS[e.status], key=ORDER.index),
        }
        for e in Engagement.objects.filter(lender=request.tenant).select_related("partner")
    ]
    return render(request, "portal/engagements.html", {"rows": rows, "form": form, "statuses": EngagementStatus})


@require_POST
def engagement_status(request, engagement_id):
    access.require(request, "engagement.manage")
    engagement = get_object_or_404(Engagement, pk=engagement_id, lender=request.tenant)
    try:
        services.set_engagement_status(engagement=engagement, status=request.POST.get("status", ""), actor=request.user, request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
    except ValueError:
        messages.error(request, _("Unknown status."))
    else:
        messages.success(request, _("Engagement updated."))
    return redirect("engagements")
