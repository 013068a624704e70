"""The lender's billing page (its admins and finance): plan, status, usage, invoices, card, pay now."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from portal import access
from portal.errors import to_messages
from subscriptions import services, stripe_api
from subscriptions.models import InvoiceStatus, Plan, Subscription


class CardForm(forms.Form):
    """Demo mode only: choose a Stripe test card (production would collect it with Stripe.js Elements)."""

    number = forms.ChoiceField(label=gettext_lazy("Test card"), choices=[(number, label) for number, label in services.TEST_CARDS.items()])


def _subscription(request):
    return Subscription.objects.filter(lender__schema_name=request.tenant.schema_name).select_related("plan").first()


def billing(request):
    access.require(request, "subscription.manage", lender_only=True)
    subscription = _subscription(request)
    active_cases = services.count_active_cases()
    plan = subscription.plan if subscription else None
    invoices = list(subscription.invoices.all()[:24]) if subscription else []
    return render(
        request,
        "subscriptions/billing.html",
        {
            "subscription": subscription,
            "plan": plan,
            "active_cases": active_cases,
            "over_limit": bool(plan and plan.max_active_cases is not None and active_cases > plan.max_active_cases),
            "usage_percent": min(100, round(active_cases * 100 / plan.max_active_cases)) if plan and plan.max_active_cases else None,
            "invoices": invoices,
            "open_invoice": next((invoice for invoice in invoices if invoice.status == InvoiceStatus.OPEN), None),
            "reason": services.reason_text(subscription.read_only_reason) if subscription and subscription.read_only else "",
            "plans": Plan.objects.filter(is_active=True),
            "demo_mode": stripe_api.demo_mode(),
            "card_form": CardForm(),
        },
    )


@require_POST
def replace_card(request):
    access.require(request, "subscription.manage", lender_only=True)
    subscription = _subscription(request)
    form = CardForm(request.POST)
    if subscription is None:
        messages.error(request, _("This workspace has no subscription to pay."))
    elif not form.is_valid():
        messages.error(request, _("Choose one of the Stripe test cards."))
    else:
        try:
            services.replace_card(subscription=subscription, number=form.cleaned_data["number"], actor=request.user)
        except ValidationError as error:
            to_messages(request, error)
        else:
            messages.success(request, _("The card was saved. It will be charged for the next invoice; use “Pay now” for an open one."))
    return redirect("billing")


@require_POST
def pay_now(request):
    access.require(request, "subscription.manage", lender_only=True)
    subscription = _subscription(request)
    if subscription is None:
        messages.error(request, _("This workspace has no subscription to pay."))
        return redirect("billing")
    try:
        subscription = services.pay_open_invoice(subscription=subscription, actor=request.user)
    except ValidationError as error:
        to_messages(request, error)
    else:
        if subscription.read_only:
            messages.warning(
                request,
                _("The invoice is paid, but the workspace is still read-only: %(reason)s.")
                % {"reason": services.reason_text(subscription.read_only_reason)},
            )
        else:
            messages.success(request, _("The invoice is paid. The workspace can be changed again."))
    return redirect("billing")
