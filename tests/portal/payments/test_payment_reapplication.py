"""Reversing a payment re-applies the later ones (重新冲抵), and commission is earned on money applied.

民法典 art. 561: "债务人在履行主债务外还应当支付利息和实现债权的有关费用，其给付不足以清偿全部债务的，
除当事人另有约定外，应当按照下列顺序履行：（一）实现债权的有关费用；（二）利息；（三）主债务。"
(Besides the principal debt the debtor owes interest and the costs of realising the claim; a payment that
does not cover all of it goes, absent agreement, first to the costs, then to the interest, then to the
principal.) A payment that is reversed never discharged anything, so every later payment must be split as if
it had never been: the debt statement filed with a lawsuit (债权计算表) depends on that split.

Commission (佣金) is earned on money applied to the debt: what a debtor pays beyond the whole balance is
refunded or set off, it was not recovered, and earns nothing; the scorecards' "recovered" is the same money.
"""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings, strategies as st

from outsourcing import placement, scorecards, statements
from outsourcing.commissions import commission_for
from outsourcing.models import CommissionLine
from portal.lib import months
from portal.models import BalanceSnapshot, Case
from portal.payments import hooks, ledger, services
from portal.payments.models import Payment, PaymentPostingCorrection, PaymentReversal, PaymentSource, ReversalReason, effective_split
from portal.payments.posting import Balances, allocate
from tests.matrix_outsourcing import make_cases
from tests.outsourcing.test_statements import M1, M2, after, day, moment

pytestmark = pytest.mark.django_db
D = Decimal


def owing(*, principal="0.00", interest="0.00", penalty="0.00", fees="0.00", prefix="REAPP", dpd=150):
    case = make_cases(1, prefix=prefix, principal=principal, dpd=dpd)[0]
    Case.objects.filter(pk=case.pk).update(interest_due=D(interest), penalty_due=D(penalty), fees_due=D(fees))
    case.refresh_from_db()
    return case


def balances(case):
    case.refresh_from_db()
    return Balances(principal=case.principal_due, interest=case.interest_due, penalty=case.penalty_due, fees=case.fees_due)


def record(case, amount, paid_on, reference, **kw):
    return services.record_payment(case=case, amount=amount, paid_on=paid_on, reference=reference, source=PaymentSource.MANUAL, **kw)[0]


def reverse(payment, **kw):
    return services.reverse_payment(payment=payment, reason=ReversalReason.RETURNED, note="银行退票", **kw)


def split(payment):
    """(fees, penalty, interest, principal, unapplied) as the payment stands now."""
    s = effective_split(Payment.objects.get(pk=payment.pk))
    return (s.to_fees, s.to_penalty, s.to_interest, s.to_principal, s.unapplied)


def place(world, case, *, agency="xagency", now=None):
    return placement.place_cases(
        cases=[case], partner=world.orgs[agency], placed_by=world.people["acme_manager"].user, now=now or moment(M2, 8)
    )


# ------------------------------------------------------------------ art. 561, worked examples


def test_reversing_the_payment_that_paid_costs_and_interest_sends_the_later_payment_there_first(acme):
    """Costs 100 and interest 200 on a principal of 1,000. P1 (300) paid the costs and the interest, so P2 (500) went to
    the principal. P1 bounces: it discharged nothing, so under art. 561 P2 pays the costs (1), then the interest (2), and
    only the rest, 200, the principal (3). Owed afterwards: principal 800, nothing else."""
    case = owing(principal="1000.00", interest="200.00", fees="100.00")
    p1 = record(case, "300.00", timezone.localdate(), "REAPP-1-A")
    p2 = record(case, "500.00", timezone.localdate(), "REAPP-1-B")
    assert split(p2) == (D("0.00"), D("0.00"), D("0.00"), D("500.00"), D("0.00"))
    reversal = reverse(p1)
    assert balances(case) == Balances(principal=D("800.00"), interest=D("0.00"), penalty=D("0.00"), fees=D("0.00"))
    assert split(p2) == (D("100.00"), D("0.00"), D("200.00"), D("200.00"), D("0.00"))
    # The payment is never edited: the change is a correction row of the reversal, and it is recorded in the history.
    p2.refresh_from_db()
    assert (p2.to_fees, p2.to_interest, p2.to_principal) == (D("0.00"), D("0.00"), D("500.00"))
    correction = PaymentPostingCorrection.objects.get(payment=p2)
    assert correction.reversal_id == reversal.pk
    assert (correction.to_fees, correction.to_interest, correction.to_principal, correction.unapplied) == (
        D("100.00"),
        D("200.00"),
        D("-300.00"),
        D("0.00"),
    )
    snapshot = BalanceSnapshot.objects.get(source=f"reversal:{reversal.pk}")
    assert (snapshot.principal_due, snapshot.interest_due, snapshot.fees_due) == (D("800.00"), D("0.00"), D("0.00"))


def test_penalty_interest_is_paid_before_contractual_interest_when_a_payment_is_reapplied(acme):
    """Penalty interest (罚息) 50 and interest 50: P2 (80) was all principal after P1 (100) paid both; without P1 it pays the
    penalty interest first, then 30 of the interest (posting.ORDER)."""
    case = owing(principal="500.00", interest="50.00", penalty="50.00")
    p1 = record(case, "100.00", timezone.localdate(), "REAPP-2-A")
    p2 = record(case, "80.00", timezone.localdate(), "REAPP-2-B")
    reverse(p1)
    assert split(p2) == (D("0.00"), D("50.00"), D("30.00"), D("0.00"), D("0.00"))
    assert balances(case) == Balances(principal=D("500.00"), interest=D("20.00"), penalty=D("0.00"), fees=D("0.00"))


def test_a_later_overpayment_is_applied_once_the_earlier_payment_is_gone(acme):
    """P1 paid the whole debt, so P2 was all beyond the balance (unapplied). Without P1, P2 discharges the debt."""
    case = owing(principal="600.00", interest="100.00")
    p1 = record(case, "700.00", timezone.localdate(), "REAPP-3-A")
    p2 = record(case, "300.00", timezone.localdate(), "REAPP-3-B")
    assert split(p2)[4] == D("300.00")
    reverse(p1)
    assert split(p2) == (D("0.00"), D("0.00"), D("100.00"), D("200.00"), D("0.00"))
    assert balances(case).total == D("400.00")


def test_payments_are_reapplied_in_the_order_they_were_recorded_even_when_back_dated(acme):
    """The order is the order the balances saw: a back-dated payment recorded last was applied last."""
    case = owing(principal="1000.00", interest="100.00")
    today = timezone.localdate()
    p1 = record(case, "100.00", today, "REAPP-4-A")
    p2 = record(case, "400.00", today, "REAPP-4-B")
    p3 = record(case, "50.00", today - datetime.timedelta(days=20), "REAPP-4-C")  # back-dated, recorded last
    reverse(p1)
    assert split(p2) == (D("0.00"), D("0.00"), D("100.00"), D("300.00"), D("0.00"))
    assert split(p3) == (D("0.00"), D("0.00"), D("0.00"), D("50.00"), D("0.00"))


def test_reversing_the_last_payment_changes_no_other_payment(acme):
    case = owing(principal="1000.00", interest="100.00")
    p1 = record(case, "300.00", timezone.localdate(), "REAPP-5-A")
    p2 = record(case, "200.00", timezone.localdate(), "REAPP-5-B")
    reverse(p2)
    assert not PaymentPostingCorrection.objects.filter(payment__case=case).exists()
    assert split(p1) == (D("0.00"), D("0.00"), D("100.00"), D("200.00"), D("0.00"))
    assert balances(case).total == D("800.00")


def test_the_database_keeps_corrections_append_only_and_balanced(acme):
    case = owing(principal="1000.00", interest="200.00", fees="100.00")
    p1 = record(case, "300.00", timezone.localdate(), "REAPP-6-A")
    p2 = record(case, "500.00", timezone.localdate(), "REAPP-6-B")
    reversal = reverse(p1)
    correction = PaymentPostingCorrection.objects.get(payment=p2)
    with pytest.raises(DatabaseError), transaction.atomic():
        PaymentPostingCorrection.objects.filter(pk=correction.pk).update(to_fees=D("0.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        PaymentPostingCorrection.objects.filter(pk=correction.pk).delete()
    with pytest.raises(IntegrityError, match="payment_correction_sums_to_zero"), transaction.atomic():
        other = PaymentReversal.objects.create(
            payment=record(case, "1.00", timezone.localdate(), "REAPP-6-C"),
            reversed_on=timezone.localdate(),
            reason=ReversalReason.ERROR,
            note="x",
        )
        PaymentPostingCorrection.objects.create(payment=p2, reversal=other, to_fees=D("1.00"))  # money from nowhere
    with pytest.raises(IntegrityError, match="payment_correction_once_per_reversal"), transaction.atomic():
        PaymentPostingCorrection.objects.create(payment=p2, reversal=reversal)


def test_the_payment_page_and_the_ledger_file_show_the_split_as_it_stands(world, client_for):
    with tenant_context(world.lenders["acme"]):
        case = owing(principal="1000.00", interest="200.00", fees="100.00", prefix="REAPP-PAGE")
        p1 = record(case, "300.00", timezone.localdate(), "REAPP-PAGE-A")
        p2 = record(case, "500.00", timezone.localdate(), "REAPP-PAGE-B")
        reverse(p1)
        file_rows = list(ledger.rows(Payment.objects.filter(pk=p2.pk), partner=False))
    heading, row = file_rows[0], file_rows[1]
    cells = dict(zip(heading, row, strict=True))
    assert (cells["Applied to fees"], cells["Applied to interest"], cells["Applied to principal"]) == (
        D("100.00"),
        D("200.00"),
        D("200.00"),
    )
    page = client_for("acme_finance", host="acme").get(f"/payments/{p2.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "100.00" in text.split('data-split="fees"')[1][:30]
    assert "200.00" in text.split('data-split="interest"')[1][:30]
    assert "200.00" in text.split('data-split="principal"')[1][:30]
    assert "0.00" in text.split('data-split="unapplied"')[1][:30]
    assert "Applied again in the statutory order" in text


# ------------------------------------------------------------------ commission on money applied


def test_an_overpayment_earns_commission_only_on_what_it_applied(acme):
    world = acme
    case = owing(principal="1000.00", prefix="REAPP-OVER")
    place(world, case)
    payment = record(case, "1500.00", day(M2, 5), "REAPP-OVER-1", now=moment(day(M2, 5), 10))
    line = CommissionLine.objects.get(payment=payment)
    assert line.recovered == D("1000.00")
    assert line.commission == commission_for(D("1000.00"), line.rate)
    nothing = record(case, "200.00", day(M2, 6), "REAPP-OVER-2", now=moment(day(M2, 6), 10))  # the debt is paid: all unapplied
    assert not CommissionLine.objects.filter(payment=nothing).exists()


def test_the_scorecard_counts_money_applied_as_recovered(acme):
    world = acme
    month = months.add_months(months.month_start(timezone.localdate()), -7)
    placed_at = moment(month.replace(day=2), 9)
    case = owing(principal="800.00", prefix="REAPP-SC", dpd=(timezone.localdate() - month).days + 45)
    place(world, case, now=placed_at)

    def recovered():
        rows = scorecards.agency_scorecards(month, month, partner=world.orgs["xagency"])
        return sum((row.recovered for row in rows), D("0.00"))

    before = recovered()
    record(case, "1000.00", month.replace(day=5), "REAPP-SC-1", now=moment(month.replace(day=5), 10))
    assert recovered() - before == D("800.00")  # not the 1,000 paid: 200 was beyond the balance


def test_a_reversal_moves_the_later_payments_commission_to_the_money_it_now_applies(acme):
    """P1 paid the whole principal; P2 applied nothing and earned nothing. P1 bounces next month: P2 now pays 400 of
    the principal, so it earns commission on 400 — on an adjustment line dated the reversal, on next month's
    statement; the approved statement is not touched."""
    world = acme
    case = owing(principal="1000.00", prefix="REAPP-ADJ")
    place(world, case)
    p1 = record(case, "1000.00", day(M2, 5), "REAPP-ADJ-1", now=moment(day(M2, 5), 10))
    p2 = record(case, "400.00", day(M2, 10), "REAPP-ADJ-2", now=moment(day(M2, 10), 10))
    earned = CommissionLine.objects.get(payment=p1)
    assert not CommissionLine.objects.filter(payment=p2).exists()
    approved = statements.approve(
        statement=statements.draft_statement(partner=world.orgs["xagency"], period=M2),
        approved_by=world.people["acme_finance"].user,
        now=after(M2),
    )
    approved_totals = (approved.line_count, approved.recovered_total, approved.commission_total)
    reversal = reverse(p1, reversed_on=day(M1, 3), now=moment(day(M1, 3), 10))
    adjustment = CommissionLine.objects.get(payment=p2)
    assert (adjustment.recovered, adjustment.commission, adjustment.paid_on, adjustment.placement_id) == (
        D("400.00"),
        commission_for(D("400.00"), earned.rate),
        day(M1, 3),
        earned.placement_id,
    )
    assert adjustment.correction.reversal_id == reversal.pk
    approved.refresh_from_db()
    assert (approved.line_count, approved.recovered_total, approved.commission_total) == approved_totals
    following = statements.draft_statement(partner=world.orgs["xagency"], period=M1)
    assert following.recovered_total == D("400.00") - D("1000.00")
    assert following.commission_total == adjustment.commission - earned.commission


def test_a_partly_applied_payment_is_topped_up_to_the_commission_on_its_whole_applied_money(acme):
    """P2 applied 100 of its 333.33 (the rest was beyond the balance); once P1 is reversed it applies all of it. Its
    lines then add up to commission_for(333.33) exactly — the rounding is never done twice."""
    world = acme
    case = owing(principal="1000.00", prefix="REAPP-TOP")
    place(world, case)
    p1 = record(case, "900.00", day(M2, 5), "REAPP-TOP-1", now=moment(day(M2, 5), 10))
    p2 = record(case, "333.33", day(M2, 6), "REAPP-TOP-2", now=moment(day(M2, 6), 10))
    assert CommissionLine.objects.get(payment=p2).recovered == D("100.00")
    reverse(p1, reversed_on=day(M2, 20), now=moment(day(M2, 20), 10))
    lines = CommissionLine.objects.filter(payment=p2)
    rate = lines.first().rate
    assert sum(line.recovered for line in lines) == D("333.33")
    assert sum(line.commission for line in lines) == commission_for(D("333.33"), rate)
    # What the payments list, the payment page and the ledger file show as its commission: the same total.
    assert hooks.annotations([p2.pk])[p2.pk]["commission"] == commission_for(D("333.33"), rate)
    # Reversing P2 itself later claws back everything it earned, adjustment included.
    reverse(p2, reversed_on=day(M2, 21), now=moment(day(M2, 21), 10))
    assert sum(line.commission for line in CommissionLine.objects.filter(payment=p2)) == D("0.00")
    assert sum(line.recovered for line in CommissionLine.objects.filter(payment=p2)) == D("0.00")


# ------------------------------------------------------------------ the property

amounts = st.integers(min_value=1, max_value=60_000).map(lambda fen: D(fen) / 100)
_cases = itertools.count()


@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("pay"), amounts), st.tuples(st.just("reverse"), st.integers(0, 20))), min_size=1, max_size=10
    ),
    start=st.tuples(*(st.integers(0, 30_000).map(lambda fen: D(fen) / 100) for _ in range(4))),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_after_any_payments_and_reversals_the_balances_are_the_standing_payments_applied_in_order(steps, start, world):
    """For any sequence of payments and reversals: the balances are those obtained by applying the standing payments
    alone, in order, to the original balances (art. 561); each payment's split sums to its amount and is exactly what
    that replay gives it; and every payment's commission lines sum to its applied money and to that money × rate."""
    with tenant_context(world.lenders["acme"]):
        principal, interest, penalty, fees = start
        n = next(_cases)
        case = owing(principal=str(principal), interest=str(interest), penalty=str(penalty), fees=str(fees), prefix=f"REAPP-P{n}")
        place(world, case, now=moment(M2, 8))
        original = balances(case)
        payments = []
        for i, (kind, value) in enumerate(steps):
            when = moment(day(M2, 10), 10) + datetime.timedelta(minutes=i)
            if kind == "pay":
                payments.append(record(case, value, day(M2, 10), f"REAPP-P{n}-{i}", now=when))
            else:
                standing = [p for p in payments if not PaymentReversal.objects.filter(payment=p).exists()]
                if standing:
                    reverse(standing[value % len(standing)], reversed_on=day(M2, 10), now=when)
        left = original
        expected = {}
        for payment in payments:
            if PaymentReversal.objects.filter(payment=payment).exists():
                continue
            expected[payment.pk], left = allocate(payment.amount, left)
        assert balances(case) == left
        for payment in payments:
            s = effective_split(Payment.objects.get(pk=payment.pk))
            assert s.to_fees + s.to_penalty + s.to_interest + s.to_principal + s.unapplied == payment.amount
            assert min(s.to_fees, s.to_penalty, s.to_interest, s.to_principal, s.unapplied) >= 0
            lines = list(CommissionLine.objects.filter(payment=payment))
            recovered, commission = sum((line.recovered for line in lines), D("0.00")), sum((line.commission for line in lines), D("0.00"))
            if payment.pk in expected:
                assert s == expected[payment.pk]
                assert recovered == s.applied
                assert commission == (commission_for(s.applied, lines[0].rate) if lines else D("0.00"))
            else:  # reversed: what it earned is all given back
                assert (recovered, commission) == (D("0.00"), D("0.00"))
        annotated = {p.pk: p for p in Payment.objects.filter(case=case).with_effective_split()}
        for payment in payments:
            assert effective_split(annotated[payment.pk]) == effective_split(Payment.objects.get(pk=payment.pk))
