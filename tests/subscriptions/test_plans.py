"""Plan choice at the tiers' edges, money to and from Stripe's fen, and the read-only rule's table."""

from decimal import Decimal

import pytest

from portal.models import CaseStatus
from subscriptions.models import Plan
from subscriptions.plans import ACTIVE_CASE_STATUSES, DEFAULT_TIERS, Tier, choose_tier, from_fen, to_fen
from subscriptions.services import INVOICE_FAILED, read_only_for


@pytest.mark.parametrize(
    "active_cases,code",
    [
        (0, "starter"),
        (1, "starter"),
        (1_000, "starter"),  # a tier holds up to and including its limit
        (1_001, "growth"),
        (10_000, "growth"),
        (10_001, "scale"),
        (100_000, "scale"),
        (100_001, "enterprise"),
        (50_000_000, "enterprise"),
    ],
)
def test_the_cheapest_tier_that_holds_the_count(active_cases, code):
    assert choose_tier(active_cases, DEFAULT_TIERS).code == code


def test_tier_order_does_not_matter_and_counts_are_checked():
    assert choose_tier(1_001, list(reversed(DEFAULT_TIERS))).code == "growth"
    with pytest.raises(ValueError):
        choose_tier(-1, DEFAULT_TIERS)
    with pytest.raises(ValueError):  # no unlimited tier offered: an honest refusal, not the biggest plan
        choose_tier(1_001, [Tier("small", 1_000, Decimal("1"))])


def test_active_means_still_worked_by_the_lender():
    """The statuses counted are the portal's own (portal.models.CaseStatus): finished cases cost nothing."""
    assert set(ACTIVE_CASE_STATUSES) <= set(CaseStatus.values)
    assert set(CaseStatus.values) - set(ACTIVE_CASE_STATUSES) == {CaseStatus.SETTLED, CaseStatus.WRITTEN_OFF, CaseStatus.CLOSED}


def test_yuan_and_fen():
    assert to_fen(Decimal("1980.00")) == 198000
    assert to_fen(Decimal("0.005")) == 1  # half up to the fen
    assert to_fen(Decimal("0.0049")) == 0
    assert from_fen(198001) == Decimal("1980.01")
    assert from_fen(None) == Decimal("0.00")


@pytest.mark.django_db
def test_the_seeded_plans_are_the_tiers():
    seeded = {(p.code, p.max_active_cases, p.monthly_price) for p in Plan.objects.all()}
    assert seeded == {(t.code, t.max_active_cases, t.monthly_price) for t in DEFAULT_TIERS}
    names = dict(Plan.objects.values_list("code", "name"))
    assert "起步" in names["starter"] and "企业" in names["enterprise"]


@pytest.mark.parametrize(
    "status,invoice_status,attempted,expected",
    [
        ("active", "paid", True, (False, "")),
        ("active", "open", False, (False, "")),  # finalised, not yet charged: no lapse yet
        ("active", "open", True, (True, INVOICE_FAILED)),  # a charge failed (localstripe stays "active")
        ("active", "uncollectible", True, (True, INVOICE_FAILED)),
        ("active", "void", True, (False, "")),
        ("trialing", "", False, (False, "")),
        ("past_due", "open", True, (True, "past_due")),
        ("unpaid", "open", True, (True, "unpaid")),
        ("incomplete", "open", True, (True, "incomplete")),
        ("canceled", "paid", True, (True, "canceled")),
    ],
)
def test_the_read_only_rule(status, invoice_status, attempted, expected):
    assert read_only_for(status=status, invoice_status=invoice_status, invoice_attempted=attempted) == expected
