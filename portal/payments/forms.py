from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import DateInput

from .models import DisputeReason, DisputeStatus, ReversalReason


class PaymentForm(forms.Form):
    contract_no = forms.CharField(label=_("Contract no."), max_length=64)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput())
    reference = forms.CharField(label=_("Reference (bank serial no.)"), max_length=64)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class ReversalForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why is it reversed?"), choices=ReversalReason.choices)
    reversed_on = forms.DateField(
        label=_("Reversed on"),
        widget=DateInput(),
        help_text=_("The day the money went back or the error was found; the agency's clawback is dated this day."),
    )
    note = forms.CharField(label=_("Explain"), max_length=300)


class ReportForm(forms.Form):
    contract_no = forms.CharField(label=_("Contract no."), max_length=64)
    amount = forms.DecimalField(label=_("Amount (yuan)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    paid_on = forms.DateField(label=_("Paid on"), widget=DateInput())
    reference = forms.CharField(label=_("Receipt or transfer reference"), max_length=64, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class PaymentFileForm(forms.Form):
    file = forms.FileField(label=_("Payment file (CSV or XLSX)"))


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(label=_("What is wrong"), choices=DisputeReason.choices)
    text = forms.CharField(label=_("Explain"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (DisputeStatus.UPHELD, DisputeStatus.UPHELD.label),
            (DisputeStatus.DISMISSED, DisputeStatus.DISMISSED.label),
            (DisputeStatus.WITHDRAWN, DisputeStatus.WITHDRAWN.label),
        ],
    )
    text = forms.CharField(label=_("Reasons"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
