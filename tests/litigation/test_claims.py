"""A matter's claim: the loans' statements added up, the costs, the fee base and the fees — every figure reconciles."""

import datetime
from decimal import Decimal

import pytest

from litigation import claims
from tests.litigation.support import complete_matter


def test_the_claim_is_the_sum_of_its_parts_and_the_fees_follow_the_statute(acme):
    matter = complete_matter(acme)
    matter.claim_enforcement_costs = Decimal("2000.00")
    matter.save()
    claim = claims.claim_for(matter)
    loan = matter.loans.get()
    # By hand: 15,000.00 at 18% / 360 from interest_paid_to (today − 150) to the due date (today − 90): 60 days = 450.00;
    # then 27% / 360 penalty interest on 15,000.00 from the due date to the cut-off (today − 1): 89 days = 1,001.25.
    assert (loan.due_date - loan.interest_paid_to).days == 60
    assert claim.principal == Decimal("15000.00")
    assert claim.interest == Decimal("450.00")
    assert claim.penalty_interest == Decimal("1001.25")
    assert claim.total == Decimal("15000.00") + Decimal("450.00") + Decimal("1001.25") + Decimal("2000.00")
    assert claim.total == sum(claim.parts)
    # 诉讼费用交纳办法 art. 13: 50 + (18,451.25 − 10,000) × 2.5% = 261.28125 → 261.28; summary procedure (art. 16): half → 130.64.
    assert claim.fees_due.acceptance_fee == Decimal("261.28")
    assert claim.payable_fee == Decimal("130.64")


def test_a_missing_element_is_named(acme):
    matter = complete_matter(acme)
    loan = matter.loans.get()
    loan.penalty_rate = None
    loan.save()
    with pytest.raises(claims.MissingElement) as missing:
        claims.claim_for(matter)
    assert missing.value.field == "penalty_rate"


def test_an_explicit_cutoff(acme):
    matter = complete_matter(acme)
    loan = matter.loans.get()
    claim = claims.claim_for(matter, cutoff=loan.due_date + datetime.timedelta(days=10))
    # 10 days of penalty interest: 15,000 × 27% ÷ 360 × 10 = 112.50
    assert claim.penalty_interest == Decimal("112.50")
