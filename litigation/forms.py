"""Forms of the legal workbench: they parse input; the rules live in escalation, stages, packets and preflight."""

import re
import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import DateInput
from tenants.models import EngagementStatus, Organisation, OrganisationKind, Role

from .models import (
    DocumentKind,
    LegalFeeAgreement,
    Matter,
    MatterLoan,
    Outcome,
    Procedure,
    Stage,
)
from .stages import NEXT, OUTCOMES

CONTRACT_SPLIT = re.compile(r"[\s,;，；]+")
MAX_CONTRACTS = 2000  # the case list's bulk selection hands over at most this many (config.views.cases.BULK_PLACE_LIMIT)
PLAN_ROWS = 6  # instalments of an agreed mediation entered at once (a later entry can add more)
IN_HOUSE = "in_house"


def contract_numbers(text: str) -> list[str]:
    """The contract numbers in a submission (spaces, commas or new lines), at most MAX_CONTRACTS + 1 (so "too many" is seen)."""
    return [c for c in CONTRACT_SPLIT.split(text or "") if c][: MAX_CONTRACTS + 1]


def engaged_law_firms(lender):
    """Law firms with an active engagement with ``lender`` and a fee agreement: the firms a matter may go to."""
    firm_ids = LegalFeeAgreement.objects.values_list("firm_id", flat=True)
    return (
        Organisation.objects.filter(
            kind=OrganisationKind.LAW_FIRM,
            engagements__lender=lender,
            engagements__status=EngagementStatus.ACTIVE,
            pk__in=list(firm_ids),
        )
        .distinct()
        .order_by("name")
    )


def team_people(lender, firms, role):
    """Active members with ``role`` of the lender (in-house) or of one of ``firms``."""
    org_ids = [lender.organisation_id, *[firm.pk for firm in firms]]
    return (
        get_user_model()
        .objects.filter(memberships__organisation_id__in=org_ids, memberships__role=role, memberships__is_active=True, is_active=True)
        .distinct()
        .order_by("full_name", "email")
    )


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name or obj.email


class LegalTeamForm(forms.Form):
    """Who takes the matter: the in-house legal team or an engaged law firm with a fee agreement, and its people.
    Whether the people belong to the team is the service's rule (escalation.legal_team_refusal)."""

    team = forms.ChoiceField(label=_("Legal team"))
    lawyer = PersonChoiceField(queryset=get_user_model().objects.none(), label=_("Lawyer"), required=False)
    paralegal = PersonChoiceField(queryset=get_user_model().objects.none(), label=_("Paralegal"), required=False)

    def __init__(self, *args, lender=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.firms = list(engaged_law_firms(lender))
        agreements = {a.firm_id: a for a in LegalFeeAgreement.objects.filter(firm__in=self.firms)}
        self.agreements = agreements
        choices = [(IN_HOUSE, _("In-house legal team"))]
        for firm in self.firms:
            agreement = agreements[firm.pk]
            choices.append(
                (
                    str(firm.pk),
                    _("%(firm)s — fixed fee %(fixed)s CNY per case, success fee %(success)s%%")
                    % {"firm": firm.name, "fixed": agreement.fixed_fee, "success": agreement.success_fee_percent.normalize()},
                )
            )
        self.fields["team"].choices = choices
        self.fields["lawyer"].queryset = team_people(lender, self.firms, Role.LAWYER)
        self.fields["paralegal"].queryset = team_people(lender, self.firms, Role.PARALEGAL)

    def firm(self):
        value = self.cleaned_data["team"]
        if value == IN_HOUSE:
            return None
        return next(firm for firm in self.firms if str(firm.pk) == value)


class EscalationForm(LegalTeamForm):
    contracts = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for escalation"),
        max_length=300,
        help_text=_("Why these cases go to court, e.g. able to pay but refuses; the legal team reads it first."),
    )

    def contract_numbers(self):
        return contract_numbers(self.cleaned_data.get("contracts", ""))


class ReassignForm(LegalTeamForm):
    pass


class ReferralForm(forms.Form):
    """A criminal referral (报案) of suspected fraud."""

    reported_on = forms.DateField(label=_("Reported on"), widget=DateInput())
    authority = forms.CharField(label=_("Police station / authority"), max_length=200)
    report_number = forms.CharField(label=_("Report receipt no."), max_length=64, required=False)
    grounds = forms.CharField(label=_("Grounds for suspicion"), widget=forms.Textarea(attrs={"rows": 3}))


DATE = DateInput()


class StageForm(forms.Form):
    """The next stage of a matter: only those that may follow its stage (stages.NEXT) and their outcomes (stages.OUTCOMES)."""

    stage = forms.ChoiceField(label=_("Stage reached"))
    entered_on = forms.DateField(label=_("Date"), widget=DATE)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    # 立案
    court = forms.CharField(label=_("Court"), max_length=200, required=False)
    court_case_number = forms.CharField(label=_("Court case number (案号)"), max_length=64, required=False)
    procedure = forms.ChoiceField(label=_("Procedure"), choices=[("", "—"), *Procedure.choices], required=False)
    # 判决 / 调解书 / 支付令
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=0, required=False)
    served_on = forms.DateField(label=_("Served on"), widget=DATE, required=False)
    effective_on = forms.DateField(label=_("Effective on"), widget=DATE, required=False)
    performance_due_on = forms.DateField(label=_("Performance deadline"), widget=DATE, required=False)
    is_ruling = forms.BooleanField(label=_("A ruling (裁定), not a judgment"), required=False)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, matter: Matter, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = NEXT.get(matter.stage, ())
        self.fields["stage"].choices = [(stage, Stage(stage).label) for stage in allowed]
        outcomes = sorted({outcome for stage in allowed for outcome in OUTCOMES.get(stage, ())}, key=Outcome.values.index)
        self.fields["outcome"].choices = [("", _("Still under way"))] + [(o, Outcome(o).label) for o in outcomes]
        self.outcomes_by_stage = {Stage(stage).label: [str(Outcome(o).label) for o in OUTCOMES.get(stage, ())] for stage in allowed}
        for n in range(1, PLAN_ROWS + 1):
            self.fields[f"plan_due_{n}"] = forms.DateField(label=_("Instalment %(n)s due") % {"n": n}, widget=DATE, required=False)
            self.fields[f"plan_amount_{n}"] = forms.DecimalField(
                label=_("Instalment %(n)s amount (CNY)") % {"n": n}, max_digits=14, decimal_places=2, required=False
            )

    def plan_fields(self):
        return [(self[f"plan_due_{n}"], self[f"plan_amount_{n}"]) for n in range(1, PLAN_ROWS + 1)]

    def clean(self):
        data = super().clean()
        instalments = []
        for n in range(1, PLAN_ROWS + 1):
            due, amount = data.get(f"plan_due_{n}"), data.get(f"plan_amount_{n}")
            if due is None and amount is None:
                continue
            if due is None or amount is None:
                self.add_error(f"plan_due_{n}", _("Give both the date and the amount of each instalment."))
                continue
            instalments.append((due, amount))
        data["instalments"] = instalments
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "stage": data["stage"],
            "entered_on": data["entered_on"],
            "outcome": data.get("outcome") or "",
            "amount": data.get("amount"),
            "court": data.get("court") or "",
            "court_case_number": data.get("court_case_number") or "",
            "procedure": data.get("procedure") or "",
            "served_on": data.get("served_on"),
            "effective_on": data.get("effective_on"),
            "performance_due_on": data.get("performance_due_on"),
            "is_ruling": bool(data.get("is_ruling")),
            "note": data.get("note") or "",
            "instalments": data["instalments"],
        }


class TickForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    key = forms.CharField(max_length=40)
    done = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")


class MatterElementsForm(forms.ModelForm):
    """The matter's filing elements (2024 element-style complaint, domain §2.3)."""

    class Meta:
        model = Matter
        fields = [
            "cause",
            "procedure",
            "court",
            "claim_cutoff",
            "claim_until_paid",
            "claim_enforcement_costs",
            "enforcement_costs_detail",
            "claim_litigation_costs",
            "jurisdiction_clause",
            "preservation_requested",
            "preservation_amount",
            "preservation_assets",
            "mediation_willingness",
            "facts_note",
            "special_authorisation",
        ]
        widgets = {
            "claim_cutoff": DATE,
            "preservation_assets": forms.Textarea(attrs={"rows": 2}),
            "facts_note": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self):
        data = super().clean()
        if data.get("preservation_requested") and not data.get("preservation_amount"):
            # 财产保全 needs the amount to preserve (CPL art. 103; 诉讼费用交纳办法 art. 14: the fee's base).
            self.add_error("preservation_amount", _("Give the amount to preserve."))
        return data


class LoanElementsForm(forms.ModelForm):
    """One loan's filing elements that the case does not carry."""

    class Meta:
        model = MatterLoan
        fields = [
            "contract_name",
            "contract_signed_on",
            "contract_place",
            "penalty_rate",
            "compound",
            "interest_paid_to",
            "due_date",
            "apply_cap",
        ]
        widgets = {"contract_signed_on": DATE, "interest_paid_to": DATE, "due_date": DATE}


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    source = forms.CharField(label=_("Source"), max_length=200, required=False, help_text=_("Where the evidence comes from (证据来源)."))
    proves = forms.CharField(label=_("What it proves"), max_length=300, required=False)
    is_exhibit = forms.BooleanField(label=_("Exhibit in the filing packet"), required=False, initial=True)
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", "—"), *Stage.choices], required=False)
    file = forms.FileField(label=_("File (PDF, PNG or JPEG)"))


class OverrideForm(forms.Form):
    code = forms.CharField(max_length=40)
    reason = forms.CharField(label=_("Reason"), max_length=300)


class MatterFilterForm(forms.Form):
    """The matter list's filters; anything unknown simply does not apply."""

    q = forms.CharField(label=_("Search"), max_length=64, required=False)
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", _("Any")), *Stage.choices], required=False)
    court = forms.CharField(label=_("Court"), max_length=100, required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    firm = forms.CharField(label=_("Legal team"), required=False)

    def apply(self, matters, *, user, lender_view: bool):
        if not self.is_valid():
            return matters
        data = self.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            matters = matters.filter(
                Q(number__istartswith=q)
                | Q(debtor__name__icontains=q)
                | Q(pk__in=MatterLoan.objects.filter(case__contract_no__istartswith=q).values("matter_id"))
            )
        if data["stage"]:
            matters = matters.filter(stage=data["stage"])
        if data["court"]:
            matters = matters.filter(court__icontains=data["court"].strip())
        if data["mine"]:
            matters = matters.filter(Q(lawyer=user) | Q(paralegal=user))
        if lender_view and data["firm"]:
            if data["firm"] == IN_HOUSE:
                matters = matters.filter(firm__isnull=True)
            else:
                try:
                    matters = matters.filter(firm_id=uuid.UUID(data["firm"]))
                except ValueError:
                    pass
        return matters

    @property
    def any(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.values())
