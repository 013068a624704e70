"""The platform bills its lenders through Stripe Billing: subscribe, follow the active-case count across tiers,
mirror Stripe's state, pay, replace the card. Keyword-only functions owning their transactions; views, tasks and
the webhook handler are thin callers.

Stripe calls are made outside database transactions (a slow or failed call never holds a row lock); what
Stripe answered is then written in one transaction. ``sync_from_stripe`` always RE-FETCHES the subscription and
its invoices, so events may arrive twice, late or out of order (Stripe's webhook guidance: delivery is
at-least-once and unordered, re-fetch when state matters; shared/research/stack-notes.md §Stripe).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy

from billing import accounts, gateway
from portal.errors import RuleError
from subscriptions import stripe_api
from subscriptions.models import Invoice, InvoiceStatus, Plan, Subscription, SubscriptionEvent, SubscriptionStatus
from subscriptions.plans import ACTIVE_CASE_STATUSES, choose_tier, from_fen, to_fen

# ------------------------------------------------------------------ the read-only rule
# A lender whose subscription is not paid keeps reading everything it has (nothing is deleted, PIPL art. 45
# access stays possible) but cannot change anything until it pays (issue 10 item 5). Read-only when:
#   1. Stripe's subscription status says the lender has not paid: past_due (a renewal charge failed, Stripe is
#      retrying), unpaid (retries exhausted), incomplete (the first payment failed), incomplete_expired,
#      canceled, paused; or
#   2. the latest invoice is open or uncollectible AND a collection attempt has failed (attempted): Stripe's
#      status may still say active in that moment (and localstripe never leaves active: stripe_api's notes).
# Writable again as soon as a re-fetch shows the subscription active/trialing and the latest invoice paid
# (or void, or not yet attempted). There is no grace period: the issue asks "unpaid → read-only".
LAPSED_STATUSES = {
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.UNPAID,
    SubscriptionStatus.INCOMPLETE,
    SubscriptionStatus.INCOMPLETE_EXPIRED,
    SubscriptionStatus.CANCELED,
    SubscriptionStatus.PAUSED,
}
UNPAID_INVOICE_STATUSES = {InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE}
INVOICE_FAILED = "invoice_failed"

# Reason codes stored in Subscription.read_only_reason, shown in the reader's language.
REASONS = {
    SubscriptionStatus.PAST_DUE: gettext_lazy("the subscription's last payment failed and is past due"),
    SubscriptionStatus.UNPAID: gettext_lazy("the subscription is unpaid"),
    SubscriptionStatus.INCOMPLETE: gettext_lazy("the subscription's first payment has not been made"),
    SubscriptionStatus.INCOMPLETE_EXPIRED: gettext_lazy("the subscription expired before its first payment"),
    SubscriptionStatus.CANCELED: gettext_lazy("the subscription is cancelled"),
    SubscriptionStatus.PAUSED: gettext_lazy("the subscription is paused"),
    INVOICE_FAILED: gettext_lazy("the latest invoice could not be charged"),
}


def read_only_for(*, status: str, invoice_status: str = "", invoice_attempted: bool = False) -> tuple[bool, str]:
    """(read-only?, reason code) from Stripe's subscription status and its latest invoice (the rule above)."""
    if status in LAPSED_STATUSES:
        return True, str(status)
    if invoice_status in UNPAID_INVOICE_STATUSES and invoice_attempted:
        return True, INVOICE_FAILED
    return False, ""


def reason_text(code: str) -> str:
    return str(REASONS.get(code, code))


# Stripe's published test cards offered in demo mode (https://docs.stripe.com/testing).
TEST_CARDS = {
    "4242424242424242": gettext_lazy("Visa 4242 — payments succeed"),
    "5555555555554444": gettext_lazy("Mastercard 4444 — payments succeed"),
    "4000000000000341": gettext_lazy("Visa 0341 — attaches, every charge is declined"),
}


# ------------------------------------------------------------------ plans and counts
def stripe_plan_id(plan: Plan, currency: str = "cny") -> str:
    return f"caseport-{plan.code}-{to_fen(plan.monthly_price)}-{currency}"


def ensure_stripe_plan(plan: Plan) -> str:
    """The plan's Stripe plan, created on first use (legacy Plans: localstripe has no Prices API)."""
    currency = gateway.currency()
    wanted = stripe_plan_id(plan, currency)
    if plan.stripe_plan_id != wanted:
        stripe_api.ensure_plan(plan_id=wanted, name=f"Caseport {plan.name}", amount_fen=to_fen(plan.monthly_price), currency=currency)
        Plan.objects.filter(pk=plan.pk).update(stripe_plan_id=wanted)
        plan.stripe_plan_id = wanted
    return wanted


def count_active_cases() -> int:
    """Active cases in the CURRENT lender schema (call inside the lender's tenant_context)."""
    from portal.models import Case

    return Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).count()


def plan_for_count(active_cases: int) -> Plan:
    return choose_tier(active_cases, list(Plan.objects.filter(is_active=True)))


def _event(subscription, kind, *, now, stripe_event_id="", **detail):
    return SubscriptionEvent.objects.create(subscription=subscription, kind=kind, at=now, detail=detail, stripe_event_id=stripe_event_id)


# ------------------------------------------------------------------ subscribe, change plan
def subscribe(*, lender, plan: Plan, card_number: str | None = None, actor=None, now=None) -> Subscription:
    """Subscribe a lender to a plan: a Stripe customer (once), optionally a test card (demo mode), the Stripe
    subscription; then mirror what Stripe says. A lender whose subscription is live cannot subscribe again."""
    now = now or timezone.now()
    subscription, _created = Subscription.objects.get_or_create(lender=lender, defaults={"plan": plan, "created_at": now})
    if subscription.stripe_subscription_id and subscription.status not in (
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
    ):
        raise RuleError(_("%(lender)s already has a subscription.") % {"lender": lender.name}, code="already_subscribed")
    plan_id = ensure_stripe_plan(plan)
    # The lender's one Stripe Customer, shared with statement payments (billing.accounts).
    customer_id = accounts.ensure_customer(lender).stripe_customer_id
    if subscription.stripe_customer_id != customer_id:
        Subscription.objects.filter(pk=subscription.pk).update(stripe_customer_id=customer_id)
        subscription.stripe_customer_id = customer_id
    if card_number:
        _attach_card(subscription, card_number)
    # The key is the same on a retry of this attempt, and new after a subscription that ended.
    attempt = subscription.events.filter(kind="subscribed").count()
    remote = stripe_api.create_subscription(
        customer_id=subscription.stripe_customer_id,
        plan_id=plan_id,
        lender_id=lender.pk,
        idempotency_key=f"subscription-{subscription.pk}-{plan.code}-{attempt}",
    )
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.plan = plan
        subscription.stripe_subscription_id = remote.id
        subscription.save(update_fields=["plan", "stripe_subscription_id", "updated_at"])
        _event(subscription, "subscribed", now=now, plan=plan.code, stripe_subscription=remote.id, by=getattr(actor, "email", ""))
    return sync_from_stripe(subscription=subscription, now=now)


def change_plan(*, subscription: Subscription, plan: Plan, active_cases: int | None = None, now=None) -> Subscription:
    now = now or timezone.now()
    if plan.pk == subscription.plan_id:
        return subscription
    previous = subscription.plan.code
    plan_id = ensure_stripe_plan(plan)
    if subscription.stripe_subscription_id:
        attempt = subscription.events.filter(kind="plan_changed").count()
        stripe_api.change_subscription_plan(
            subscription_id=subscription.stripe_subscription_id,
            plan_id=plan_id,
            idempotency_key=f"subscription-{subscription.pk}-plan-{attempt}",
        )
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.plan = plan
        subscription.save(update_fields=["plan", "updated_at"])
        _event(subscription, "plan_changed", now=now, plan_from=previous, plan_to=plan.code, active_cases=active_cases)
    if subscription.stripe_subscription_id:
        return sync_from_stripe(subscription=subscription, now=now)
    return subscription


def review_plan(*, lender, active_cases: int, now=None) -> Subscription | None:
    """Record the lender's active-case count and move it to the tier that holds it (up or down). A lender
    with no live Stripe subscription is only counted. Returns the subscription (None: not billed)."""
    now = now or timezone.now()
    subscription = Subscription.objects.filter(lender=lender).select_related("plan").first()
    if subscription is None:
        return None
    Subscription.objects.filter(pk=subscription.pk).update(active_cases=active_cases, active_cases_counted_at=now)
    subscription.active_cases, subscription.active_cases_counted_at = active_cases, now
    target = plan_for_count(active_cases)
    if target.pk != subscription.plan_id and subscription.stripe_subscription_id and subscription.status != SubscriptionStatus.CANCELED:
        return change_plan(subscription=subscription, plan=target, active_cases=active_cases, now=now)
    return subscription


# ------------------------------------------------------------------ mirror Stripe
def _ts(value) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC) if value else None


def _as_dict(obj) -> dict:
    if obj is None:
        return {}
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _invoice_subscription_id(invoice: dict) -> str:
    """The subscription an invoice bills: top-level ``subscription`` (older API versions, localstripe) or
    ``parent.subscription_details.subscription`` (API 2025 and later)."""
    value = invoice.get("subscription")
    if not value:
        value = ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    if isinstance(value, dict):
        value = value.get("id")
    return value or ""


def _failure_of(invoice: dict) -> str:
    if invoice.get("status") == InvoiceStatus.PAID:
        return ""
    charge = invoice.get("charge")
    if isinstance(charge, dict) and charge.get("failure_message"):
        return str(charge["failure_message"])[:300]
    intent = invoice.get("payment_intent")
    if isinstance(intent, dict):
        error = intent.get("last_payment_error") or {}
        if error.get("message"):
            return str(error["message"])[:300]
    return ""


def _period_end(remote: dict):
    end = remote.get("current_period_end")
    if not end:  # API 2025+: the period lives on the items
        items = ((remote.get("items") or {}).get("data")) or []
        end = items[0].get("current_period_end") if items else None
    return _ts(end)


def sync_from_stripe(*, subscription: Subscription, now=None, stripe_event_id: str = "") -> Subscription:
    """Re-fetch the Stripe subscription, its invoices and the default card; mirror them and derive read-only."""
    now = now or timezone.now()
    remote = _as_dict(stripe_api.retrieve_subscription(subscription.stripe_subscription_id))
    latest = remote.get("latest_invoice")
    latest_id = latest.get("id") if isinstance(latest, dict) else (latest or "")
    invoices = [
        _as_dict(invoice)
        for invoice in stripe_api.list_invoices(customer_id=subscription.stripe_customer_id)
        if _invoice_subscription_id(_as_dict(invoice)) == subscription.stripe_subscription_id
    ]
    if latest_id and latest_id not in {invoice["id"] for invoice in invoices}:
        invoices.append(_as_dict(stripe_api.retrieve_invoice(latest_id)))
    latest_invoice = next((invoice for invoice in invoices if invoice["id"] == latest_id), {})
    brand, last4 = stripe_api.default_card(subscription.stripe_customer_id) if subscription.stripe_customer_id else ("", "")
    status = remote.get("status") or SubscriptionStatus.INCOMPLETE
    invoice_status = latest_invoice.get("status") or ""
    read_only, reason = read_only_for(status=status, invoice_status=invoice_status, invoice_attempted=bool(latest_invoice.get("attempted")))

    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("lender", "plan").get(pk=subscription.pk)
        before = (subscription.status, subscription.read_only, subscription.last_invoice_status)
        for invoice in invoices:
            Invoice.objects.update_or_create(
                stripe_invoice_id=invoice["id"],
                defaults={
                    "subscription": subscription,
                    "amount_due": from_fen(invoice.get("amount_due")),
                    "amount_paid": from_fen(invoice.get("amount_paid")),
                    "currency": invoice.get("currency") or "cny",
                    "status": invoice.get("status") or InvoiceStatus.DRAFT,
                    "attempted": bool(invoice.get("attempted")),
                    "failure": _failure_of(invoice),
                    "issued_at": _ts(invoice.get("created") or invoice.get("date")) or now,
                },
            )
        subscription.status = status
        subscription.current_period_end = _period_end(remote)
        subscription.last_invoice_id = latest_id
        subscription.last_invoice_status = invoice_status
        subscription.last_payment_error = _failure_of(latest_invoice)
        subscription.card_brand, subscription.card_last4 = brand, last4
        subscription.read_only, subscription.read_only_reason = read_only, reason
        subscription.synced_at = now
        subscription.save()
        after = (subscription.status, subscription.read_only, subscription.last_invoice_status)
        if after != before:
            _event(
                subscription,
                "synced",
                now=now,
                stripe_event_id=stripe_event_id,
                status_from=before[0],
                status_to=after[0],
                read_only=read_only,
                reason=reason,
                invoice=latest_id,
                invoice_status=invoice_status,
            )
    return subscription


def handle_stripe_event(event, now) -> str:
    """billing's webhook hands us ``customer.subscription.*`` and ``invoice.*`` events (billing.hooks, registered
    in apps.py): a StripeEvent row (its ``payload``) or the event itself as a dict. The payload only names the
    object: we re-fetch. An event about a subscription we do not know (another account's, a statement's invoice,
    a deleted test object) is acknowledged and ignored. Returns the outcome billing records with the event."""
    data = event.payload if hasattr(event, "payload") else _as_dict(event)
    kind = data.get("type") or ""
    obj = (data.get("data") or {}).get("object") or {}
    if kind.startswith("customer.subscription."):
        subscription_id = obj.get("id") or ""
    elif kind.startswith("invoice."):
        subscription_id = _invoice_subscription_id(obj)
    else:
        return "ignored: not a subscription event"
    subscription = Subscription.objects.filter(stripe_subscription_id=subscription_id).first() if subscription_id else None
    if subscription is None:
        return "ignored: unknown subscription"
    subscription = sync_from_stripe(subscription=subscription, now=now or timezone.now(), stripe_event_id=data.get("id") or "")
    return f"subscription {subscription.stripe_subscription_id}: {subscription.status}" + (" (read-only)" if subscription.read_only else "")


# ------------------------------------------------------------------ the lender's own actions
def _attach_card(subscription: Subscription, number: str):
    if not stripe_api.demo_mode():
        raise RuleError(
            _("Cards are entered with Stripe Elements in production; this form only works in demo mode."), code="card_demo_only"
        )
    if number not in TEST_CARDS:
        raise RuleError(_("Choose one of the Stripe test cards."), code="card_unknown")
    try:
        return accounts.attach_test_card(subscription.lender, number)
    except gateway.GatewayError as error:
        if error.retryable:
            raise
        raise RuleError(_("The card was refused: %(reason)s") % {"reason": error.reason}, code="card_refused") from error


def replace_card(*, subscription: Subscription, number: str, actor=None, now=None) -> Subscription:
    """Make a (test) card the default for this lender's invoices. Does not pay anything by itself."""
    now = now or timezone.now()
    if not subscription.stripe_customer_id:
        raise RuleError(_("This workspace has no subscription to pay."), code="not_subscribed")
    account = _attach_card(subscription, number)
    _event(subscription, "card_replaced", now=now, card=account.payment_method_label, by=getattr(actor, "email", ""))
    return sync_from_stripe(subscription=subscription, now=now)


def pay_open_invoice(*, subscription: Subscription, actor=None, now=None) -> Subscription:
    """Charge the default card for the latest unpaid invoice ("pay now"), then mirror Stripe. A decline is
    raised as a RuleError carrying Stripe's reason; nothing is charged twice (a paid invoice is never paid
    again: Stripe refuses it, and we pick only an open one)."""
    now = now or timezone.now()
    subscription = sync_from_stripe(subscription=subscription, now=now)
    invoice = subscription.invoices.filter(status=InvoiceStatus.OPEN).order_by("-issued_at", "-id").first()
    if invoice is None:
        raise RuleError(_("There is no open invoice to pay."), code="nothing_to_pay")
    declined = ""
    # One key per attempt: a retry of this attempt reuses it (Stripe answers the first result, no second charge);
    # a new attempt after a declined one (a new card) must not, since Stripe also stores the decline.
    attempt = subscription.events.filter(kind="pay_attempted", detail__invoice=invoice.stripe_invoice_id).count()
    try:
        gateway.pay_invoice(invoice.stripe_invoice_id, idempotency_key=f"pay-{invoice.stripe_invoice_id}-{attempt}")
    except gateway.GatewayError as error:
        if error.retryable:
            raise
        declined = str(error.reason)
    subscription = sync_from_stripe(subscription=subscription, now=now)
    invoice.refresh_from_db()
    _event(subscription, "pay_attempted", now=now, invoice=invoice.stripe_invoice_id, status=invoice.status, by=getattr(actor, "email", ""))
    if invoice.status != InvoiceStatus.PAID:
        reason = declined or invoice.failure or _("the card was declined")
        raise RuleError(_("The invoice is still unpaid: %(reason)s") % {"reason": reason}, code="payment_failed")
    return subscription
