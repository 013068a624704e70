"""A statement's totals are always exactly the sums of its lines — for any commission lines, clawbacks included, and
after any line-level disputes are upheld (the lines leave, the totals follow) or dismissed (nothing moves)."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings, strategies as st

from outsourcing.commissions import claw_back, commission_for
from outsourcing.models import CommissionLine, Placement
from portal.fees import documents, services
from portal.fees.models import Statement
from portal.payments.models import Payment, PaymentReversal, PaymentSource, ReversalReason
from tests.factories import finance
from tests.matrix_outsourcing import make_cases

recoveries = st.integers(min_value=1, max_value=100_000_000).map(lambda fen: Decimal(fen) / 100)
rates = st.integers(min_value=0, max_value=10_000).map(lambda n: (Decimal(n) / 10_000).quantize(Decimal("0.0001")))
# Each line: its recovery and rate, whether the payment is reversed (a clawback line in the same month), and what the
# agency's dispute of the earned line comes to: none, upheld (taken off) or dismissed (stays).
line_specs = st.tuples(recoveries, rates, st.booleans(), st.sampled_from(["none", "upheld", "dismissed"]))

_periods = itertools.count()


def database_sums(statement):
    lines = CommissionLine.objects.filter(statement=statement)
    return (
        lines.count(),
        sum((line.recovered for line in lines), Decimal("0.00")),
        sum((line.commission for line in lines), Decimal("0.00")),
    )


@pytest.mark.django_db
@given(specs=st.lists(line_specs, min_size=1, max_size=10))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_totals_equal_the_lines_through_review_and_disputes(specs, world):
    agency = world.orgs["xagency"]
    with tenant_context(world.lenders["acme"]):
        case = make_cases(1, prefix="FPROP")[0]
        placement = Placement.objects.create(case=case, partner=agency, ends_at=datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC))
        n = next(_periods)
        # A month of its own for each example, each earlier than the last: a line an upheld dispute released goes back
        # to the pool, and must not be taken by the next example's draft (a draft takes unstated lines up to its month).
        period = datetime.date(1999 - n // 12, 12 - n % 12, 1)
        earned = []
        for i, (recovered, rate, reversed_, _outcome) in enumerate(specs):
            payment = Payment.objects.create(
                case=case, amount=recovered, paid_on=period, reference=f"FPROP-{n}-{i}", source=PaymentSource.MANUAL, to_principal=recovered
            )
            line = CommissionLine.objects.create(
                payment=payment,
                placement=placement,
                partner=agency,
                case=case,
                paid_on=period,
                bucket="M1",
                round=1,
                recovered=recovered,
                rate=rate,
                commission=commission_for(recovered, rate),
            )
            earned.append(line)
            if reversed_:
                reversal = PaymentReversal.objects.create(payment=payment, reversed_on=period, reason=ReversalReason.RETURNED, note="prop")
                claw_back(reversal=reversal)
        who = finance(world)
        statement = services.draft(kind="commission", partner=agency, period=period, created_by=who)
        assert (statement.line_count, statement.base_total, statement.amount_total) == database_sums(statement)
        statement = services.send_for_review(statement=statement, sent_by=who)
        for line, (_r, _k, _rev, outcome) in zip(earned, specs, strict=True):
            if outcome == "none":
                continue
            dispute = services.open_dispute(statement=statement, line_id=line.pk, reason="prop", opened_by=world.people["x_admin"].user)
            services.resolve_dispute(dispute=dispute, upheld=outcome == "upheld", resolution="prop", resolved_by=who)
        statement = Statement.objects.get(pk=statement.pk)
        kept = [(r, k, rev) for r, k, rev, outcome in specs if outcome != "upheld"]
        expected_count = len(kept) + sum(1 for _r, _k, rev, _o in specs if rev)  # every clawback stays (none was disputed)
        expected_base = sum((r for r, _k, rev in kept if not rev), Decimal("0.00")) - sum(
            (r for r, _k, rev, outcome in specs if rev and outcome == "upheld"), Decimal("0.00")
        )
        expected_amount = sum((commission_for(r, k) for r, k, rev in kept if not rev), Decimal("0.00")) - sum(
            (commission_for(r, k) for r, k, rev, outcome in specs if rev and outcome == "upheld"), Decimal("0.00")
        )
        assert (statement.line_count, statement.base_total, statement.amount_total) == database_sums(statement)
        assert (statement.line_count, statement.base_total, statement.amount_total) == (expected_count, expected_base, expected_amount)
        document = documents.build(statement)
        assert (document.totals.count, document.totals.base, document.totals.amount) == database_sums(statement)
