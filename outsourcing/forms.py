"""Forms of the outsourcing pages: they parse input; the rules live in agreements/allocation/placement."""

import re
import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import DateInput
from tenants.models import EngagementStatus, Organisation, OrganisationKind

from .models import BUCKETS, ROUNDS, CollectionAction

HUNDRED = Decimal(100)


def engaged_agencies(lender, *, statuses=(EngagementStatus.ACTIVE,)):
    return (
        Organisation.objects.filter(kind=OrganisationKind.AGENCY, engagements__lender=lender, engagements__status__in=list(statuses))
        .distinct()
        .order_by("name")
    )


def round_label(round_number):
    return _("Round %(n)s+") % {"n": round_number} if round_number == ROUNDS[-1] else _("Round %(n)s") % {"n": round_number}


class AgreementForm(forms.Form):
    """The terms of one version: term, capacity, allowed actions, and the commission grid in per cent."""

    partner = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Agency"))
    reference = forms.CharField(label=_("Contract reference"), max_length=64, required=False)
    term_days = forms.IntegerField(
        label=_("Term (days)"), min_value=1, max_value=366, initial=90, help_text=_("How long each placement lasts (委托期限).")
    )
    capacity = forms.IntegerField(
        label=_("Capacity (active cases)"), min_value=1, initial=1000, help_text=_("Most cases the agency may hold at once.")
    )
    max_hold_days = forms.IntegerField(
        label=_("Longest hold (days)"),
        min_value=0,
        max_value=180,
        initial=30,
        help_text=_("How far past the term a hold (留案) may reach; 0 allows none."),
    )
    allowed_actions = forms.MultipleChoiceField(
        label=_("Allowed actions"),
        choices=CollectionAction.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[CollectionAction.PHONE, CollectionAction.SMS],
    )
    field_visit_fee = forms.DecimalField(
        label=_("Field-visit fee (CNY)"),
        min_value=0,
        max_value=10000,
        max_digits=7,
        decimal_places=2,
        initial=0,
        required=False,  # blank: the agreement pays no fee per visit
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
        help_text=_("Paid per field visit the agency reports (外访费), on its own monthly statement; 0 pays none."),
    )
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)

    def __init__(self, *args, lender=None, revising=False, **kwargs):
        super().__init__(*args, **kwargs)
        if revising:
            del self.fields["partner"]
            del self.fields["reference"]
        else:
            del self.fields["note"]
            from .models import Agreement

            taken = Agreement.objects.values_list("partner_id", flat=True)
            statuses = (EngagementStatus.ACTIVE, EngagementStatus.PENDING, EngagementStatus.SUSPENDED)
            self.fields["partner"].queryset = engaged_agencies(lender, statuses=statuses).exclude(pk__in=list(taken))
        for bucket in BUCKETS:
            for round_number in ROUNDS:
                self.fields[self.rate_name(bucket, round_number)] = forms.DecimalField(
                    label=f"{bucket} · {round_label(round_number)}",
                    min_value=0,
                    max_value=100,
                    max_digits=5,
                    decimal_places=2,
                    widget=forms.NumberInput(
                        attrs={
                            "step": "0.01",
                            "min": "0",
                            "max": "100",
                            "inputmode": "decimal",
                            "aria-label": f"{bucket} · {round_label(round_number)}",
                        }
                    ),
                )

    @staticmethod
    def rate_name(bucket, round_number):
        return f"rate_{bucket}_{round_number}"

    def rate_grid(self):
        """[(bucket, [bound field per round])] for the template's table."""
        return [(bucket, [self[self.rate_name(bucket, r)] for r in ROUNDS]) for bucket in BUCKETS]

    def round_labels(self):
        return [round_label(r) for r in ROUNDS]

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "term_days": data["term_days"],
            "capacity": data["capacity"],
            "max_hold_days": data["max_hold_days"],
            "allowed_actions": data["allowed_actions"],
            "field_visit_fee": data["field_visit_fee"],
            "note": data.get("note", ""),
            "rates": {(b, r): data[self.rate_name(b, r)] / HUNDRED for b in BUCKETS for r in ROUNDS},
        }

    def show_errors(self, error: ValidationError):
        """Put a service's ValidationError on the matching fields."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)

    @staticmethod
    def initial_from(terms: dict) -> dict:
        initial = {k: terms[k] for k in ("term_days", "capacity", "max_hold_days", "allowed_actions", "field_visit_fee")}
        for (bucket, round_number), rate in terms["rates"].items():
            initial[AgreementForm.rate_name(bucket, round_number)] = format((rate * HUNDRED).normalize(), "f")  # 20, not 2E+1
        return initial


class CaseFilterForm(forms.Form):
    """Which cases: by bucket, region, product and balance (shared by allocation and manual placement)."""

    buckets = forms.MultipleChoiceField(
        label=_("Bucket"), choices=[(b, b) for b in BUCKETS], required=False, widget=forms.CheckboxSelectMultiple
    )
    regions = forms.MultipleChoiceField(label=_("Region"), required=False)
    products = forms.MultipleChoiceField(label=_("Product"), required=False)
    min_balance = forms.DecimalField(label=_("Balance from (¥)"), min_value=0, max_digits=14, decimal_places=2, required=False)
    max_balance = forms.DecimalField(label=_("Balance up to (¥)"), min_value=0, max_digits=14, decimal_places=2, required=False)

    def __init__(self, *args, regions=(), products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["regions"].choices = [(r, r) for r in regions]
        self.fields["products"].choices = [(p, p) for p in products]
        self.fields["regions"].widget.attrs["size"] = min(6, max(2, len(regions)))
        self.fields["products"].widget.attrs["size"] = min(6, max(2, len(products)))

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "buckets": data.get("buckets") or [],
            "regions": data.get("regions") or [],
            "products": data.get("products") or [],
            "min_balance": str(data["min_balance"]) if data.get("min_balance") is not None else None,
            "max_balance": str(data["max_balance"]) if data.get("max_balance") is not None else None,
        }


class AllocationForm(CaseFilterForm):
    """The rules of a batch: the filters, how to split, and an optional challenger strategy."""

    mode = forms.ChoiceField(
        label=_("Split"),
        widget=forms.RadioSelect,
        initial="percent",
        choices=[
            ("percent", _("By percentage")),
            ("capacity", _("By free capacity")),
        ],
    )
    challenger_share = forms.DecimalField(
        label=_("Challenger share of the cases (%)"),
        min_value=0,
        max_value=99,
        max_digits=5,
        decimal_places=2,
        required=False,
        help_text=_(
            "Champion/challenger: this share of the cases, drawn at random with the seed, follows the challenger split. Leave empty for none."
        ),
    )
    seed = forms.IntegerField(
        label=_("Random seed"),
        min_value=0,
        max_value=2**62,
        required=False,
        help_text=_("Leave empty for a new one; the same seed and the same cases give the same allocation."),
    )

    def __init__(self, *args, agencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.agencies = list(agencies)
        for agency in self.agencies:
            self.fields[f"include_{agency.pk}"] = forms.BooleanField(label=agency.name, required=False)
            self.fields[f"share_{agency.pk}"] = forms.DecimalField(
                label=_("Share (%)"),
                min_value=0,
                max_value=100,
                max_digits=5,
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
            )
            self.fields[f"challenger_{agency.pk}"] = forms.DecimalField(
                label=_("Challenger share (%)"),
                min_value=0,
                max_value=100,
                max_digits=5,
                decimal_places=2,
                required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
            )

    def agency_rows(self):
        return [
            (agency, self[f"include_{agency.pk}"], self[f"share_{agency.pk}"], self[f"challenger_{agency.pk}"]) for agency in self.agencies
        ]

    def rules(self) -> dict:
        data = self.cleaned_data
        included = [a for a in self.agencies if data.get(f"include_{a.pk}")]
        champion = [[str(a.pk), str(data.get(f"share_{a.pk}") or 0)] for a in included]
        challenger = None
        if data.get("challenger_share"):
            split = [[str(a.pk), str(data[f"challenger_{a.pk}"])] for a in included if data.get(f"challenger_{a.pk}")]
            challenger = {"share": str(data["challenger_share"]), "split": split}
        return {"filters": self.filters(), "mode": data["mode"], "champion": champion, "challenger": challenger}

    @staticmethod
    def initial_from(rules: dict, seed=None) -> dict:
        filters = rules.get("filters") or {}
        initial = {k: filters.get(k) for k in ("buckets", "regions", "products", "min_balance", "max_balance")}
        initial["mode"] = rules.get("mode", "percent")
        for pid, share in rules.get("champion") or []:
            initial[f"include_{pid}"] = True
            if rules.get("mode") == "percent":
                initial[f"share_{pid}"] = share
        if rules.get("challenger"):
            initial["challenger_share"] = rules["challenger"]["share"]
            for pid, share in rules["challenger"]["split"]:
                initial[f"challenger_{pid}"] = share
        if seed is not None:
            initial["seed"] = seed
        return initial


CONTRACT_SPLIT = re.compile(r"[\s,;，；]+")


class ManualPlacementForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Agency"), empty_label=_("Choose an agency"))
    contracts = forms.CharField(
        label=_("Contract numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Or tick cases in the list below. One or more, separated by spaces, commas or new lines."),
    )

    def __init__(self, *args, lender=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = engaged_agencies(lender)

    def contract_numbers(self):
        return [c for c in CONTRACT_SPLIT.split(self.cleaned_data.get("contracts") or "") if c][:2000]


def uuids(values, limit=5000):
    """The well-formed UUIDs among submitted values (checkboxes), at most ``limit``."""
    result = []
    for value in list(values)[:limit]:
        try:
            result.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return result


class RecallForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the recall"), max_length=300)


class HoldRequestForm(forms.Form):
    until = forms.DateField(label=_("Keep the case until"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: a promise to pay falls due after the term, or a field visit is booked."),
    )


class HoldDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("refuse", _("Refuse"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
