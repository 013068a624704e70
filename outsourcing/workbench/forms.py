"""Forms of the workbench: they parse and label input; the rules live in services and conduct."""

import uuid
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import DateInput

from . import services
from .models import MAX_DAILY_CAP, MAX_PROMISE_GRACE_DAYS, Channel, IdentityMethod, NumberKind, Outcome, VisitReason
from .services import collectors_of

# Time zones a lender in China would choose from; any IANA zone is accepted by the service.
TIME_ZONE_CHOICES = [
    ("Asia/Shanghai", _("Beijing time (Asia/Shanghai)")),
    ("Asia/Urumqi", _("Xinjiang time (Asia/Urumqi)")),
    ("Asia/Hong_Kong", _("Hong Kong (Asia/Hong_Kong)")),
]


class AssignForm(forms.Form):
    collector = forms.ModelChoiceField(queryset=None, required=False, label=_("Assign to"), empty_label=_("Nobody (unassign)"))

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = collectors_of(agency)
        self.fields["collector"].label_from_instance = lambda user: user.full_name or user.email

    def clean(self):
        cleaned = super().clean()
        ids = []
        for raw in self.data.getlist("placement") if hasattr(self.data, "getlist") else []:
            try:
                ids.append(uuid.UUID(str(raw)))
            except ValueError:
                raise forms.ValidationError(_("The selection is not valid; reload the page.")) from None
        if not ids:
            raise forms.ValidationError(_("Select at least one case."))
        cleaned["placement_ids"] = ids
        return cleaned


class StartAttemptForm(forms.Form):
    channel = forms.ChoiceField(choices=[(Channel.PHONE, Channel.PHONE.label), (Channel.SMS, Channel.SMS.label)])
    number_kind = forms.ChoiceField(choices=NumberKind.choices)
    contact = forms.UUIDField(required=False)


class VerifyIdentityForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How the person proved who they are"), choices=IdentityMethod.choices, initial=IdentityMethod.ID_LAST4
    )
    name = forms.CharField(label=_("Name they gave"), max_length=100)
    answer = forms.CharField(label=_("Their answer (last four characters of the ID number, or date of birth YYYY-MM-DD)"), max_length=20)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was said and agreed. Facts only: the next collector relies on it."),
    )
    promise_amount = forms.DecimalField(label=_("Promised amount (CNY)"), required=False, min_value=0, max_digits=14, decimal_places=2)
    promise_due_on = forms.DateField(label=_("Promised date"), required=False, widget=DateInput())

    def __init__(self, *args, channel=Channel.PHONE, identity_verified=False, **kwargs):
        super().__init__(*args, **kwargs)
        if channel in (Channel.SMS, Channel.LETTER):
            self.fields["outcome"].choices = [(Outcome.MESSAGE_SENT, Outcome.MESSAGE_SENT.label)]
            del self.fields["promise_amount"], self.fields["promise_due_on"]
            return
        # Offer what fits the call: a conversation with the verified debtor, or a call that reached nobody or someone else.
        fitting = services.outcomes_for(channel=channel, identity_verified=identity_verified)
        self.fields["outcome"].choices = [choice for choice in Outcome.choices if choice[0] in fitting]
        if not identity_verified:
            del self.fields["promise_amount"], self.fields["promise_due_on"]


class RecordingForm(forms.Form):
    file = forms.FileField(label=_("Call recording"), help_text=_("MP3, WAV, M4A/AAC, AMR or OGG; checked by content."))


class VisitRequestForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=VisitReason.choices)
    note = forms.CharField(label=_("What phone collection found"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class DecideVisitForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    note = forms.CharField(label=_("Note to the agency"), required=False, max_length=500)
    window_justification = forms.CharField(
        label=_("Why approve now, outside the contact window"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when approving outside the contact window; it is recorded."),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one input (Django's documented pattern); each is checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/png,image/jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class VisitReportForm(forms.Form):
    visited_at = forms.DateTimeField(
        label=_("Visited at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    findings = forms.CharField(label=_("Findings"), max_length=10000, widget=forms.Textarea(attrs={"rows": 5}))
    photos = MultipleImageField(label=_("Photos"), required=False, help_text=_("PNG or JPEG, up to 10."))
    window_justification = forms.CharField(
        label=_("Why the visit was outside the contact window or over the daily limit"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Needed only for a visit outside the contact window or on a day the debtor's contact limit was reached; the lender sees it."
        ),
    )


class ContactPolicyForm(forms.Form):
    window_start = forms.TimeField(label=_("Earliest contact"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    window_end = forms.TimeField(
        label=_("Latest contact"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Contact must start before this time. The window can only be narrowed from 08:00–21:00."),
    )
    daily_cap = forms.IntegerField(label=_("Attempts per debtor per day, all agencies together"), min_value=1, max_value=MAX_DAILY_CAP)
    time_zone = forms.ChoiceField(
        label=_("Debtor time zone"), choices=TIME_ZONE_CHOICES, help_text=_("The window must hold both in China time and in this zone.")
    )
    promise_grace_days = forms.IntegerField(
        label=_("Grace days for promises to pay"),
        required=False,
        min_value=0,
        max_value=MAX_PROMISE_GRACE_DAYS,
        initial=1,
        help_text=_("A payment dated up to this many days after the promised date still keeps the promise (bank transfers arrive T+1)."),
    )

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"]
        if value not in available_timezones():
            raise forms.ValidationError(_("Unknown time zone."))
        return value
