"""Platform staff: every lender's billing state, and how many are in each state."""

from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, gettext_lazy

from billing.charges import payouts_needing_attention
from portal import access
from portal.errors import to_messages
from subscriptions import services, stripe_api
from subscriptions.models import Invoice, Plan, Subscription, SubscriptionStatus
from subscriptions.services import reason_text
from tenants.models import Lender

CHART_WIDTH, LABEL_WIDTH, TRACK_WIDTH, ROW_HEIGHT = 560, 190, 260, 30
NOT_SUBSCRIBED = "none"
PAYOUTS_SHOWN = 100


def _bar_chart(key, title, items):
    """Horizontal bars (the scorecards' and the pipeline's look): items are (label, count)."""
    top = max((count for _label, count in items), default=0)
    bars = []
    for position, (label, count) in enumerate(items):
        width = (Decimal(TRACK_WIDTH) * count / top).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if top else Decimal(0)
        bars.append({"name": label, "value": count, "width": width, "y": position * ROW_HEIGHT, "missing": False})
    return {"metric": key, "title": title, "bars": bars, "height": len(bars) * ROW_HEIGHT + 8}


class SubscribeForm(forms.Form):
    lender = forms.ModelChoiceField(label=gettext_lazy("Lender"), queryset=Lender.objects.none())
    plan = forms.ModelChoiceField(label=gettext_lazy("Plan"), queryset=Plan.objects.filter(is_active=True))
    card = forms.ChoiceField(
        label=gettext_lazy("Test card (demo mode)"),
        required=False,
        choices=[("", gettext_lazy("None: the lender adds it on its billing page"))] + list(services.TEST_CARDS.items()),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lender"].queryset = Lender.objects.serving().select_related("organisation").filter(subscription__isnull=True)
        if not stripe_api.demo_mode():
            del self.fields["card"]


def billing_overview(request):
    access.require(request, "platform.manage")
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription = services.subscribe(
                lender=form.cleaned_data["lender"],
                plan=form.cleaned_data["plan"],
                card_number=form.cleaned_data.get("card") or None,
                actor=request.user,
            )
        except ValidationError as error:
            to_messages(request, error)
        else:
            messages.success(
                request,
                _("%(lender)s is subscribed to %(plan)s: %(status)s.")
                % {"lender": subscription.lender.name, "plan": subscription.plan.name, "status": subscription.get_status_display()},
            )
        return redirect("platform-billing")
    subscriptions = {s.lender_id: s for s in Subscription.objects.select_related("plan")}
    last_invoices = {}
    for invoice in Invoice.objects.filter(subscription__in=subscriptions.values()).order_by("subscription_id", "-issued_at", "-id"):
        last_invoices.setdefault(invoice.subscription_id, invoice)
    rows = []
    counts = {}
    for lender in Lender.objects.serving().select_related("organisation"):
        subscription = subscriptions.get(lender.pk)
        key = subscription.status if subscription else NOT_SUBSCRIBED
        counts[key] = counts.get(key, 0) + 1
        rows.append(
            {
                "lender": lender,
                "subscription": subscription,
                "invoice": last_invoices.get(subscription.pk) if subscription else None,
                "reason": reason_text(subscription.read_only_reason) if subscription and subscription.read_only else "",
            }
        )
    labels = dict(SubscriptionStatus.choices) | {NOT_SUBSCRIBED: _("Not subscribed")}
    order = [
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.PAST_DUE,
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.INCOMPLETE,
    ]
    order += [status for status in SubscriptionStatus.values if status not in order] + [NOT_SUBSCRIBED]
    chart = _bar_chart(
        "billing-status", _("Lenders by subscription status"), [(str(labels[key]), counts[key]) for key in order if counts.get(key)]
    )
    return render(
        request,
        "subscriptions/platform_billing.html",
        {
            "rows": rows,
            "chart": chart,
            "form": form,
            "read_only_count": sum(1 for row in rows if row["subscription"] and row["subscription"].read_only),
            "payouts": list(payouts_needing_attention()[:PAYOUTS_SHOWN]),
            "payouts_shown": PAYOUTS_SHOWN,
            "chart_width": CHART_WIDTH,
            "label_width": LABEL_WIDTH,
            "track_width": TRACK_WIDTH,
        },
    )
