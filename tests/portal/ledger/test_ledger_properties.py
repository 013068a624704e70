"""Property tests (hypothesis): for any sequence of payments (overpayments included), reversals, commission rates
and legal costs, the ledger reconciles to the source rows to the fen — per case, recoveries (money applied),
every fee and the net, and the cash and what is owed — every transaction balances, and the portfolio (the
running totals the dashboard reads) equals the sum of the cases."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings, strategies as st

from litigation import costs as legal_costs
from litigation.models import LegalCost
from outsourcing.models import Agreement, AgreementVersion, CommissionLine, CommissionRate, Placement
from portal.ledger.models import COST_ACCOUNTS, LedgerLeg, LedgerTotal
from portal.payments import services
from portal.payments.models import Payment, PaymentSource, ReversalReason
from tests.factories import CaseFactory
from tests.litigation.support import escalated_matter, legal_manager
from tests.portal.ledger.test_ledger_database import unbalanced_transactions

ZERO = Decimal("0.00")
fen = st.integers(min_value=1, max_value=300_000).map(lambda n: Decimal(n) / 100)  # 0.01 – 3,000.00
rates = st.integers(min_value=0, max_value=10_000).map(lambda n: (Decimal(n) / 10_000).quantize(Decimal("0.0001")))
COST_KINDS = ["court_fee", "preservation_fee", "enforcement_fee", "service_cost", "lawyer_fee", "other"]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), fen),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("cost"), st.sampled_from(COST_KINDS), fen, st.booleans()),
    ),
    min_size=1,
    max_size=10,
)
_examples = itertools.count()


def _agency_placement(world, case, rate, n):
    """A placement of ``case`` with yagency under a fresh agreement version whose rate for the case's cell is ``rate``."""
    agreement, _ = Agreement.objects.get_or_create(partner=world.orgs["yagency"])
    number = (AgreementVersion.objects.filter(agreement=agreement).order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = AgreementVersion.objects.create(agreement=agreement, number=number, term_days=90, capacity=100000, note=f"prop {n}")
    CommissionRate.objects.create(version=version, bucket="M2", round=1, rate=rate)
    now = timezone.now()
    return Placement.objects.create(
        case=case,
        partner=world.orgs["yagency"],
        agreement_version=version,
        bucket="M2",
        round=1,
        starts_at=now - datetime.timedelta(days=2),
        ends_at=now + datetime.timedelta(days=60),
    )


def source_figures(case, matter) -> dict:
    """The case's money computed from the source rows alone, never from the ledger."""
    standing = list(Payment.objects.filter(case=case, reversal__isnull=True).with_effective_split())
    costs = LegalCost.objects.filter(matter=matter) if matter is not None else LegalCost.objects.none()
    commission = CommissionLine.objects.filter(case=case).aggregate(t=Sum("commission"))["t"] or ZERO
    try:  # the law firm's fee lines (litigation.fee_lines), where that app posts them
        fee_lines = apps.get_model("litigation", "LegalFeeLine").objects.filter(case=case).aggregate(t=Sum("amount"))["t"] or ZERO
    except LookupError:
        fee_lines = ZERO
    legal = costs.aggregate(t=Sum("amount"))["t"] or ZERO
    by_lender = costs.filter(paid_by_firm=False).aggregate(t=Sum("amount"))["t"] or ZERO
    recovered = sum((p.applied for p in standing), ZERO)
    return {
        "recovered": recovered,
        "unapplied": sum((p.effective_unapplied for p in standing), ZERO),
        "cash": sum((p.amount for p in standing), ZERO) - by_lender,
        "fees": commission + fee_lines + legal,
        "owed_to_partners": commission + fee_lines + (legal - by_lender),
        "net": recovered - commission - fee_lines - legal,
    }


def ledger_figures(case) -> dict:
    rows = {r["account"]: r["total"] for r in LedgerLeg.objects.filter(case=case).values("account").annotate(total=Sum("amount"))}
    fees = sum((rows.get(account, ZERO) for account in COST_ACCOUNTS), ZERO)
    recovered = -rows.get("recoveries", ZERO)
    return {
        "recovered": recovered,
        "unapplied": -rows.get("unapplied", ZERO),
        "cash": rows.get("cash", ZERO),
        "fees": fees,
        "owed_to_partners": -rows.get("partner_payable", ZERO),
        "net": recovered - fees,
    }


@pytest.mark.django_db
@given(
    ops=operations,
    rate=rates,
    litigated=st.booleans(),
    principal=st.integers(min_value=100, max_value=500_000).map(lambda n: Decimal(n) / 100),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_each_case_and_the_portfolio_reconcile_to_the_fen(ops, rate, litigated, principal, world):
    # Each example in a savepoint rolled back at its end: examples do not see each other's rows, and one that fails
    # leaves the test's transaction usable for hypothesis to shrink it.
    with tenant_context(world.lenders["acme"]), transaction.atomic():
        n = next(_examples)
        case = CaseFactory(prefix=f"LPROP{n}", principal_due=principal, dpd=45, imported=False)
        matter = escalated_matter(world, cases=[case], firm="lfirm") if litigated else None
        if not litigated:
            _agency_placement(world, case, rate, n)
        payments = []
        for i, op in enumerate(ops):
            if op[0] == "pay":
                payments.append(
                    services.record_payment(
                        case=case, amount=op[1], paid_on=timezone.localdate(), reference=f"LPROP{n}-{i}", source=PaymentSource.MANUAL
                    )[0]
                )
            elif op[0] == "reverse" and payments:
                target = payments[op[1] % len(payments)]
                if not hasattr(Payment.objects.get(pk=target.pk), "reversal"):
                    services.reverse_payment(payment=target, reason=ReversalReason.RETURNED, note="退票")
            elif op[0] == "cost" and matter is not None:
                _, kind, amount, by_firm = op
                legal_costs.record_cost(
                    matter=matter, kind=kind, amount=amount, incurred_on=timezone.localdate(), by=legal_manager(world), paid_by_firm=by_firm
                )

        assert ledger_figures(case) == source_figures(case, matter)
        assert unbalanced_transactions() == []

        # The portfolio: the running totals per account equal the sum over the cases (and legs without a case).
        per_case = LedgerLeg.objects.values("account", "case_id").annotate(total=Sum("amount"))
        summed: dict = {}
        for row in per_case:
            summed[row["account"]] = summed.get(row["account"], ZERO) + row["total"]
        kept = {r["account"]: r["total"] for r in LedgerTotal.objects.values("account").annotate(total=Sum("amount"))}
        assert {k: v for k, v in kept.items() if v} == {k: v for k, v in summed.items() if v}
        assert sum(kept.values(), ZERO) == 0  # the whole book balances
        transaction.set_rollback(True)
