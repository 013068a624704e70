"""Every source posts its entry once, in its own transaction, through the real services: a payment recorded (its
overpayment apart), a reversal (the exact negation), the re-application a reversal causes, commission lines
(earned, clawback, adjustment) and legal costs (by kind, advanced by the lender or the firm); recoveries are
attributed to the agency or law firm that had the case that day; the backfill posts what predates the ledger."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from litigation import costs as legal_costs
from litigation.models import LegalCost
from outsourcing import ledger_attribution as outsourcing_ledger
from outsourcing.models import CommissionLine
from portal.ledger import hooks, sources
from portal.ledger.models import EntryKind, LedgerLeg, LedgerTransaction
from portal.ledger.posting import first_of_month
from portal.payments import hooks as payment_hooks, services
from portal.payments.models import Payment, PaymentPostingCorrection, PaymentSource, ReversalReason
from tests.factories import CaseFactory, place
from tests.litigation.support import escalated_matter, legal_manager

pytestmark = pytest.mark.django_db
D = Decimal


def record(case, amount, reference, paid_on=None):
    return services.record_payment(
        case=case, amount=D(amount), paid_on=paid_on or timezone.localdate(), reference=reference, source=PaymentSource.MANUAL
    )[0]


def reverse(payment):
    return services.reverse_payment(payment=payment, reason=ReversalReason.RETURNED, note="银行退票")


def entry(kind, source):
    source_type = f"{source._meta.app_label}.{source._meta.model_name}"
    return LedgerTransaction.objects.get(kind=kind, source_type=source_type, source_id=str(source.pk))


def legs(txn):
    return sorted((leg.account, leg.amount) for leg in txn.legs.all())


def by_account(case) -> dict:
    rows = LedgerLeg.objects.filter(case=case).values("account").annotate(total=Sum("amount"))
    return {row["account"]: row["total"] for row in rows if row["total"] != 0}


def by_dimension(case) -> dict:
    """Per (account, counterparty, cohort, matter): everything but the month, which a reversal moves."""
    rows = (
        LedgerLeg.objects.filter(case=case).values("account", "counterparty_id", "cohort_month", "matter_id").annotate(total=Sum("amount"))
    )
    return {(r["account"], r["counterparty_id"], r["cohort_month"], r["matter_id"]): r["total"] for r in rows if r["total"] != 0}


# ------------------------------------------------------------------ payments


def test_a_payment_on_a_placed_case_posts_cash_recoveries_and_the_agencys_commission(acme):
    case = CaseFactory(prefix="LSRC-PAY", principal_due="1000.00")
    placement = place(acme, [case])[0]
    payment = record(case, "300.00", "LSRC-PAY-1")
    txn = entry(EntryKind.PAYMENT, payment)
    assert legs(txn) == [("cash", D("300.00")), ("recoveries", D("-300.00"))]
    leg = txn.legs.get(account="recoveries")
    assert (leg.case_id, leg.counterparty_id, leg.counterparty_kind, leg.cohort_month, leg.product) == (
        case.pk,
        acme.orgs["xagency"].pk,
        "agency",
        first_of_month(timezone.localdate(placement.starts_at)),
        case.product,
    )
    line = CommissionLine.objects.get(payment=payment)
    assert line.commission > 0
    commission = entry(EntryKind.COMMISSION, line)
    assert legs(commission) == [("agency_commission", line.commission), ("partner_payable", -line.commission)]
    assert set(commission.legs.values_list("counterparty_id", flat=True)) == {acme.orgs["xagency"].pk}


def test_an_overpayment_is_cash_received_but_not_recovered(acme):
    case = CaseFactory(prefix="LSRC-OVER", principal_due="1000.00")
    payment = record(case, "1250.00", "LSRC-OVER-1")
    assert legs(entry(EntryKind.PAYMENT, payment)) == [("cash", D("1250.00")), ("recoveries", D("-1000.00")), ("unapplied", D("-250.00"))]
    assert by_account(case) == {"cash": D("1250.00"), "recoveries": D("-1000.00"), "unapplied": D("-250.00")}


def test_a_payment_wholly_beyond_the_balance_posts_cash_and_unapplied_only(acme):
    case = CaseFactory(prefix="LSRC-ALLOVER", principal_due="100.00")
    record(case, "100.00", "LSRC-ALLOVER-1")
    second = record(case, "40.00", "LSRC-ALLOVER-2")
    assert legs(entry(EntryKind.PAYMENT, second)) == [("cash", D("40.00")), ("unapplied", D("-40.00"))]


def test_a_reversal_brings_the_cases_ledger_back_exactly(acme):
    case = CaseFactory(prefix="LSRC-REV", principal_due="1000.00")
    place(acme, [case])
    record(case, "200.00", "LSRC-REV-1")
    before = by_dimension(case)
    payment = record(case, "300.00", "LSRC-REV-2")
    assert by_dimension(case) != before
    reversal = reverse(payment)
    undone = entry(EntryKind.PAYMENT_REVERSAL, reversal)
    assert undone.reverses_id == entry(EntryKind.PAYMENT, payment).pk
    assert undone.occurred_on == reversal.reversed_on
    assert by_dimension(case) == before  # the payment and its commission, exactly undone
    assert LedgerTransaction.objects.filter(kind=EntryKind.PAYMENT_REVERSAL, source_id=str(reversal.pk)).count() == 1


def test_a_reversal_that_reapplies_a_later_overpayment_moves_it_into_recoveries(acme):
    """Principal 1,000: A pays 800, B pays 500 (200 applied, 300 overpaid). A bounces: B is re-applied (民法典 art. 561)
    and now applies all 500. The ledger: recoveries 500, nothing unapplied, cash 500 — the source rows' figures."""
    case = CaseFactory(prefix="LSRC-REAPP", principal_due="1000.00")
    place(acme, [case])
    a = record(case, "800.00", "LSRC-REAPP-A")
    b = record(case, "500.00", "LSRC-REAPP-B")
    reverse(a)
    correction = PaymentPostingCorrection.objects.get(payment=b)
    assert correction.unapplied == D("-300.00")
    assert legs(entry(EntryKind.PAYMENT_CORRECTION, correction)) == [("recoveries", D("-300.00")), ("unapplied", D("300.00"))]
    standing = {"applied": sum(p.applied for p in Payment.objects.filter(case=case, reversal__isnull=True).with_effective_split())}
    commission = CommissionLine.objects.filter(case=case).aggregate(total=Sum("commission"))["total"]
    assert by_account(case) == {
        "cash": D("500.00"),
        "recoveries": -standing["applied"],
        "agency_commission": commission,
        "partner_payable": -commission,
    }
    assert standing["applied"] == D("500.00")
    # Reversing B as well leaves nothing at all.
    reverse(b)
    assert by_account(case) == {}


def test_the_order_of_the_payment_listeners_does_not_matter(acme, monkeypatch):
    results = []
    for order in (list, lambda listeners: list(reversed(listeners))):
        monkeypatch.setattr(payment_hooks, "PAYMENT_LISTENERS", order(payment_hooks.PAYMENT_LISTENERS))
        case = CaseFactory(prefix="LSRC-ORDER", principal_due="1000.00")
        place(acme, [case])
        record(case, "321.00", f"LSRC-ORDER-{len(results)}")
        results.append(
            {(account, counterparty) for (account, counterparty, _c, _m), _t in by_dimension(case).items()}
            | {tuple(sorted(by_account(case).items()))}
        )
    assert results[0] == results[1]


def test_a_payment_on_a_litigated_case_is_attributed_to_the_firm_and_the_matter(acme):
    case = CaseFactory(prefix="LSRC-LIT", principal_due="5000.00", dpd=120)
    matter = escalated_matter(acme, cases=[case], firm="lfirm")
    payment = record(case, "700.00", "LSRC-LIT-1")
    leg = entry(EntryKind.PAYMENT, payment).legs.get(account="recoveries")
    assert (leg.counterparty_id, leg.counterparty_kind, leg.matter_id, leg.cohort_month) == (
        acme.orgs["lfirm"].pk,
        "law_firm",
        matter.pk,
        first_of_month(timezone.localdate(matter.escalated_at)),
    )


def test_of_two_channels_claiming_a_day_the_latest_assignment_wins_whatever_the_registration_order(monkeypatch):
    agency, firm = object(), object()
    older = hooks.Attribution(counterparty=agency, cohort_month=datetime.date(2026, 1, 1))
    newer = hooks.Attribution(counterparty=firm, cohort_month=datetime.date(2026, 3, 1), matter_id="m")
    for attributors in ([lambda c, d: older, lambda c, d: newer], [lambda c, d: newer, lambda c, d: older]):
        monkeypatch.setattr(hooks, "ATTRIBUTORS", attributors)
        assert hooks.attribution_for(None, datetime.date(2026, 3, 5)) is newer
    monkeypatch.setattr(hooks, "ATTRIBUTORS", [lambda c, d: None])
    assert hooks.attribution_for(None, datetime.date(2026, 3, 5)) is None


# ------------------------------------------------------------------ legal costs


@pytest.mark.parametrize(
    "kind, account",
    [
        ("court_fee", "court_fees"),
        ("enforcement_fee", "court_fees"),
        ("preservation_fee", "preservation_fees"),
        ("service_cost", "service_costs"),
        ("lawyer_fee", "other_legal_costs"),
        ("other", "other_legal_costs"),
    ],
)
def test_a_legal_cost_posts_to_its_account_against_cash_or_the_firm(acme, kind, account):
    case = CaseFactory(prefix=f"LSRC-COST-{kind[:4]}", principal_due="8000.00", dpd=150)
    matter = escalated_matter(acme, cases=[case], firm="lfirm")
    by = legal_manager(acme)
    lender_paid = legal_costs.record_cost(matter=matter, kind=kind, amount="412.50", incurred_on=timezone.localdate(), by=by)
    firm_paid = legal_costs.record_cost(
        matter=matter, kind=kind, amount="87.50", incurred_on=timezone.localdate(), by=by, paid_by_firm=True
    )
    correction = legal_costs.record_cost(matter=matter, kind=kind, amount="-12.50", incurred_on=timezone.localdate(), by=by, note="改正")
    assert legs(entry(EntryKind.LEGAL_COST, lender_paid)) == sorted([(account, D("412.50")), ("cash", D("-412.50"))])
    firm_entry = entry(EntryKind.LEGAL_COST, firm_paid)
    assert legs(firm_entry) == sorted([(account, D("87.50")), ("partner_payable", D("-87.50"))])
    assert set(firm_entry.legs.values_list("counterparty_id", "matter_id", "case_id")) == {(acme.orgs["lfirm"].pk, matter.pk, case.pk)}
    assert legs(entry(EntryKind.LEGAL_COST, correction)) == sorted([(account, D("-12.50")), ("cash", D("12.50"))])
    assert by_account(case)[account] == LegalCost.objects.filter(matter=matter).aggregate(t=Sum("amount"))["t"] == D("487.50")


def test_a_cost_of_a_matter_of_several_loans_is_shared_to_the_fen(acme):
    debtor_case = CaseFactory(prefix="LSRC-SHARE", principal_due="3000.00", dpd=150)
    second = CaseFactory(prefix="LSRC-SHARE", principal_due="2000.00", dpd=150, debtor=debtor_case.debtor)
    third = CaseFactory(prefix="LSRC-SHARE", principal_due="1000.00", dpd=150, debtor=debtor_case.debtor)
    matter = escalated_matter(acme, cases=[debtor_case, second, third], firm="lfirm")
    assert matter.loans.count() == 3
    cost = legal_costs.record_cost(
        matter=matter, kind="court_fee", amount="100.00", incurred_on=timezone.localdate(), by=legal_manager(acme)
    )
    shares = sorted(entry(EntryKind.LEGAL_COST, cost).legs.filter(account="court_fees").values_list("amount", flat=True))
    assert shares == [D("33.33"), D("33.33"), D("33.34")]
    assert sources.split_evenly(D("-0.05"), 3) == [D("-0.02"), D("-0.02"), D("-0.01")]


# ------------------------------------------------------------------ backfill


def test_the_backfill_posts_what_predates_the_ledger_once(acme, monkeypatch):
    """Rows recorded with the ledger's listeners off (as before it existed) get the same entries from the backfill as
    they would have had live; a second run posts nothing."""
    live = CaseFactory(prefix="LSRC-BF-LIVE", principal_due="1000.00", dpd=150)
    old = CaseFactory(prefix="LSRC-BF-OLD", principal_due="1000.00", dpd=150)
    place(acme, [live, old])

    def story(case, tag):
        a = record(case, "600.00", f"LSRC-BF-{tag}-A")
        record(case, "700.00", f"LSRC-BF-{tag}-B")
        reverse(a)

    story(live, "LIVE")
    monkeypatch.setattr(payment_hooks, "PAYMENT_LISTENERS", [f for f in payment_hooks.PAYMENT_LISTENERS if f is not sources._on_payment])
    monkeypatch.setattr(payment_hooks, "REVERSAL_LISTENERS", [f for f in payment_hooks.REVERSAL_LISTENERS if f is not sources._on_reversal])
    monkeypatch.setattr(outsourcing_ledger, "post_line", lambda line: None)
    story(old, "OLD")
    assert not LedgerLeg.objects.filter(case=old).exists()
    monkeypatch.undo()

    posted = sources.backfill(batch_size=2)
    assert posted["payments.payment"] >= 2 and posted["outsourcing.commissionline"] >= 3
    normalise = lambda case: {(a, c, m): t for (a, c, _cohort, m), t in by_dimension(case).items()}  # noqa: E731
    assert normalise(old) == normalise(live) != {}
    assert set(sources.backfill(batch_size=2).values()) == {0}


def test_the_backfill_command_runs_for_one_lender(acme, capsys):
    from django.core.management import call_command

    call_command("ledger_backfill", "--tenant", "acme")
    assert "acme:" in capsys.readouterr().out
