"""Forms of the legal office pages: they parse input; the rules live in costs, court_fees and the models' constraints."""

from decimal import Decimal

from django import forms
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import DateInput
from tenants.models import EngagementStatus, Organisation, OrganisationKind

from . import court_fees
from .models import CostKind, LegalFeeAgreement, PlaintiffProfile, Procedure, RecoverySource

MONEY_ATTRS = {"step": "0.01", "inputmode": "decimal"}


def engaged_law_firms(lender=None):
    """Law firms with an active engagement with the lender (only these may be given a fee agreement)."""
    lender = lender or connection.tenant
    return (
        Organisation.objects.filter(kind=OrganisationKind.LAW_FIRM, engagements__lender=lender, engagements__status=EngagementStatus.ACTIVE)
        .distinct()
        .order_by("name")
    )


def show_errors(form, error):
    """Put a service's ValidationError on the matching fields (or on the form)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class CostForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CostKind.choices)
    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs=MONEY_ATTRS),
        help_text=_("A negative amount corrects an earlier line; say which in the note."),
    )
    incurred_on = forms.DateField(label=_("Date"), widget=DateInput())
    paid_by_firm = forms.BooleanField(label=_("Advanced by the law firm"), required=False)
    recoverable = forms.BooleanField(label=_("Claimed from the debtor"), required=False, initial=True)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, matter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["incurred_on"].initial = timezone.localdate()
        if matter is not None and matter.firm_id is None:
            del self.fields["paid_by_firm"]


class RecoveryForm(forms.Form):
    """Court costs got back from the debtor (litigation.cost_recovery)."""

    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs=MONEY_ATTRS),
        help_text=_("A negative amount corrects an earlier recovery; say which in the note."),
    )
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    source = forms.ChoiceField(label=_("Received from"), choices=RecoverySource.choices)
    received_by_firm = forms.BooleanField(label=_("Received by the law firm"), required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, matter=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()
        if matter is not None and matter.firm_id is None:
            del self.fields["received_by_firm"]


class PlaintiffForm(forms.ModelForm):
    class Meta:
        model = PlaintiffProfile
        fields = [
            "name",
            "unified_social_credit_code",
            "organisation_type",
            "lender_type",
            "address",
            "legal_representative",
            "legal_representative_title",
            "legal_representative_id_number",
            "phone",
            "service_address",
            "service_recipient",
            "service_phone",
            "service_email",
        ]

    def clean_unified_social_credit_code(self):
        code = self.cleaned_data["unified_social_credit_code"].strip().upper()
        if code and len(code) != 18:  # GB 32100-2015: 18 characters
            raise forms.ValidationError(_("A unified social credit code has 18 characters."), code="credit_code")
        return code


class FeeAgreementForm(forms.ModelForm):
    class Meta:
        model = LegalFeeAgreement
        fields = ["firm", "reference", "fixed_fee", "success_fee_percent"]
        help_texts = {
            "fixed_fee": _("Paid per matter escalated to the firm."),
            "success_fee_percent": _("Per cent of what is recovered on the firm's matters, e.g. 8 for 8%."),
        }
        widgets = {"fixed_fee": forms.NumberInput(attrs=MONEY_ATTRS), "success_fee_percent": forms.NumberInput(attrs={"step": "0.01"})}

    def __init__(self, *args, lender=None, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:  # (the UUID key is set before the first save: pk does not tell)
            del self.fields["firm"]  # an agreement belongs to its firm; another firm gets its own agreement
        else:
            taken = LegalFeeAgreement.objects.values_list("firm_id", flat=True)
            self.fields["firm"].queryset = engaged_law_firms(lender).exclude(pk__in=list(taken))
            self.fields["firm"].label = _("Law firm")
        self.fields["fixed_fee"].min_value = Decimal(0)
        self.fields["fixed_fee"].widget.attrs["min"] = "0"
        self.fields["success_fee_percent"].widget.attrs.update({"min": "0", "max": "100"})

    def clean_fixed_fee(self):
        fee = self.cleaned_data["fixed_fee"]
        if fee is not None and fee < 0:
            raise forms.ValidationError(_("The fixed fee cannot be negative."), code="negative")
        return fee

    def clean_success_fee_percent(self):
        percent = self.cleaned_data["success_fee_percent"]
        if percent is not None and not Decimal(0) <= percent <= Decimal(100):
            raise forms.ValidationError(_("The success fee is a percentage from 0 to 100."), code="range")
        return percent


class CourtFeeForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount claimed (CNY)"),
        min_value=Decimal(0),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs=MONEY_ATTRS | {"min": "0"}),
        help_text=_("The total of the money claims (标的总额)."),
    )
    preserved = forms.DecimalField(
        label=_("Amount to preserve (CNY)"),
        required=False,
        min_value=Decimal(0),
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs=MONEY_ATTRS | {"min": "0"}),
        help_text=_("Leave empty to take the whole claim."),
    )
    procedure = forms.ChoiceField(label=_("Procedure"), choices=Procedure.choices, initial=Procedure.SUMMARY)
    mediated = forms.BooleanField(label=_("Ended in mediation"), required=False)
    withdrawn = forms.BooleanField(label=_("Withdrawn"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("procedure") and data["procedure"] not in court_fees.PROCEDURES:
            raise forms.ValidationError(_("Choose a procedure."), code="procedure")
        return data
