"""The read-only state is cached per schema in the platform cache and forgotten when the subscription changes;
the per-lender plan review runs in the lender's schema."""

from django.core.cache import caches
from django.db import connection

from subscriptions import state, tasks
from subscriptions.models import Plan, Subscription, SubscriptionStatus


def test_the_cached_state_is_forgotten_after_a_committed_change(acme, django_capture_on_commit_callbacks):
    cache = caches["platform"]
    key = "subscription-state:l_acme"
    cache.set(key, state.BillingState(read_only=False), timeout=300)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        Subscription.objects.create(
            lender=acme.lenders["acme"],
            plan=Plan.objects.get(code="starter"),
            status=SubscriptionStatus.UNPAID,
            read_only=True,
            read_only_reason="unpaid",
        )
    assert callbacks and cache.get(key) is None
    # Read inside a transaction (as here): computed fresh, never cached.
    assert connection.in_atomic_block
    assert state.state_for("l_acme") == state.BillingState(read_only=True, reason="unpaid")
    assert cache.get(key) is None
    assert state.state_for("public") == state.WRITABLE
    assert state.state_for("l_beta") == state.WRITABLE  # no subscription: not billed, writable


def test_the_plan_review_task_counts_in_the_lender_schema(acme):
    subscription = Subscription.objects.create(lender=acme.lenders["acme"], plan=Plan.objects.get(code="starter"))
    result = tasks.review_plan()  # run inline, in acme's schema (the acme fixture's tenant_context)
    subscription.refresh_from_db()
    assert result["active_cases"] == subscription.active_cases > 0
    assert subscription.active_cases_counted_at is not None
    assert result["plan"] == "starter"  # no Stripe subscription yet: counted, not moved
