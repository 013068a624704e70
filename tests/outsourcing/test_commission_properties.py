"""Properties of commission money (佣金), for any recovery and any rate: a line's commission is
recovered × rate rounded half up to the fen, never negative and never more than the recovery; a
reversed payment's clawback is exactly its earned line negated; a statement's totals are exactly the
sums of its lines, in Python and in the database, clawbacks included."""

import datetime
import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings, strategies as st

from outsourcing import statements
from outsourcing.commissions import claw_back, commission_for
from outsourcing.models import CommissionLine, Placement, Statement
from portal.fees import documents as fee_documents, kinds
from portal.payments.models import Payment, PaymentReversal, PaymentSource, ReversalReason
from tests.matrix_outsourcing import make_cases

FEN = Decimal("0.01")
# 0.01 – 10,000,000.00 yuan, to the fen; rates 0 – 1 with four places (as stored: max_digits=5, decimal_places=4).
recoveries = st.integers(min_value=1, max_value=1_000_000_000).map(lambda fen: Decimal(fen) / 100)
rates = st.integers(min_value=0, max_value=10_000).map(lambda n: (Decimal(n) / 10_000).quantize(Decimal("0.0001")))


@given(recovered=recoveries, rate=rates)
@settings(max_examples=500)
def test_a_commission_is_the_recovery_times_the_rate_half_up_to_the_fen(recovered, rate):
    commission = commission_for(recovered, rate)
    assert Decimal(0) <= commission <= recovered
    assert commission == (recovered * rate).quantize(FEN, rounding=ROUND_HALF_UP)
    assert commission.as_tuple().exponent == -2


@given(recovered=recoveries)
def test_the_extreme_rates_give_nothing_or_everything(recovered):
    assert commission_for(recovered, Decimal("0")) == Decimal("0.00")
    assert commission_for(recovered, Decimal("1")) == recovered


@given(st.lists(st.tuples(recoveries, rates), max_size=40))
def test_totals_are_the_sums_of_the_rounded_lines(pairs):
    lines = [
        kinds.Row(
            line_id=i,
            date=datetime.date(2026, 1, 1),
            case_ref=f"C{i}",
            description=f"R{i}",
            base=recovered,
            rate=rate,
            amount=commission_for(recovered, rate),
        )
        for i, (recovered, rate) in enumerate(pairs)
    ]
    totals = fee_documents.sum_rows(lines)
    assert totals.count == len(pairs)
    assert totals.base == sum((recovered for recovered, _ in pairs), Decimal("0.00"))
    assert totals.amount == sum((line.amount for line in lines), Decimal("0.00"))
    assert Decimal(0) <= totals.amount <= totals.base


_periods = itertools.count()


@pytest.mark.django_db
@given(pairs=st.lists(st.tuples(recoveries, rates, st.booleans()), min_size=0, max_size=12))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_statement_in_the_database_totals_exactly_its_lines(pairs, world):
    """Real rows, some payments reversed in the same month: the database's sums (statements.totals_of), the stored
    totals and the document's rows agree, and a reversed payment nets to nothing."""
    with tenant_context(world.lenders["acme"]):
        case = make_cases(1, prefix="PROP")[0]
        placed = Placement.objects.create(
            case=case, partner=world.orgs["yagency"], ends_at=datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
        )
        n = next(_periods)
        period = datetime.date(1990 + n // 12, n % 12 + 1, 1)  # a month of its own for each example
        for i, (recovered, rate, reversed_) in enumerate(pairs):
            payment = Payment.objects.create(
                case=case, amount=recovered, paid_on=period, reference=f"PROP-{n}-{i}", source=PaymentSource.MANUAL, to_principal=recovered
            )
            earned = CommissionLine.objects.create(
                payment=payment,
                placement=placed,
                partner=world.orgs["yagency"],
                case=case,
                paid_on=period,
                bucket="M1",
                round=1,
                recovered=recovered,
                rate=rate,
                commission=commission_for(recovered, rate),
            )
            if reversed_:
                reversal = PaymentReversal.objects.create(payment=payment, reversed_on=period, reason=ReversalReason.RETURNED, note="prop")
                clawback = claw_back(reversal=reversal)
                assert (clawback.recovered, clawback.commission, clawback.paid_on) == (-earned.recovered, -earned.commission, period)
        standing = [(r, k) for r, k, reversed_ in pairs if not reversed_]
        statement = statements.draft_statement(partner=world.orgs["yagency"], period=period)
        count, recovered_total, commission_total = statements.totals_of(statement.lines.all())
        assert count == len(pairs) + sum(1 for *_, reversed_ in pairs if reversed_) == statement.line_count
        assert recovered_total == statement.recovered_total == sum((r for r, _ in standing), Decimal("0.00"))
        assert commission_total == statement.commission_total == sum((commission_for(r, k) for r, k in standing), Decimal("0.00"))
        document = fee_documents.build(Statement.objects.get(pk=statement.pk))
        assert (document.totals.count, document.totals.base, document.totals.amount) == (count, recovered_total, commission_total)
