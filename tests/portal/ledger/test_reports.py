"""Net recovery from the fee ledger (issue 10 item 2): the figures by hand, their cuts reconciling to the portfolio
to the fen, the trigger-kept totals equal to a plain SUM over the legs, and the case's own books.

The world's other areas post their own entries into acme's ledger (payments, statements), so each test here books
under a product of its own and reads the report filtered to it: the figures are then exactly the test's."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings, strategies as st

from portal.ledger import reports
from portal.ledger.models import COST_ACCOUNTS, Account, EntryKind, LedgerLeg
from portal.ledger.posting import Leg, post, reverse
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB, MAR = datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)


def product_of_its_own() -> str:
    return f"测试产品-{uuid.uuid4().hex[:8]}"


def book(kind, legs, *, on, memo=""):
    return post(kind=kind, source=("tests.reports", uuid.uuid4().hex), occurred_on=on, legs=legs, memo=memo)


def hand_built(world, product):
    """One case placed with agency X (cohort January), escalated to law firm L, and one payment nobody had:

    10,000.00 recovered by X in February, 1,500.00 commission; 500.00 paid in March with no partner;
    L's fixed fee 800.00; court fees 300.00 advanced by the lender, 120.00 of them recovered under the judgment."""
    x, firm = world.orgs["xagency"], world.orgs["lfirm"]
    case = CaseFactory(prefix="NR-HAND", product=product)
    by_x = {"case": case, "counterparty": x, "cohort_month": JAN}
    by_firm = {"case": case, "counterparty": firm, "cohort_month": FEB}
    book(
        EntryKind.PAYMENT,
        [Leg(Account.CASH, D("10000.00"), **by_x), Leg(Account.RECOVERIES, D("-10000.00"), **by_x)],
        on=datetime.date(2026, 2, 10),
    )
    book(
        EntryKind.COMMISSION,
        [Leg(Account.AGENCY_COMMISSION, D("1500.00"), **by_x), Leg(Account.PARTNER_PAYABLE, D("-1500.00"), **by_x)],
        on=datetime.date(2026, 2, 10),
    )
    book(
        EntryKind.PAYMENT,
        [Leg(Account.CASH, D("500.00"), case=case), Leg(Account.RECOVERIES, D("-500.00"), case=case)],
        on=datetime.date(2026, 3, 2),
    )
    book(
        EntryKind.LEGAL_FEE,
        [Leg(Account.LEGAL_FEE_FIXED, D("800.00"), **by_firm), Leg(Account.PARTNER_PAYABLE, D("-800.00"), **by_firm)],
        on=datetime.date(2026, 2, 20),
    )
    book(
        EntryKind.LEGAL_COST,
        [Leg(Account.COURT_FEES, D("300.00"), **by_firm), Leg(Account.CASH, D("-300.00"), **by_firm)],
        on=datetime.date(2026, 2, 21),
    )
    book(
        EntryKind.LEGAL_COST,
        [Leg(Account.CASH, D("120.00"), **by_firm), Leg(Account.COURT_COSTS_RECOVERED, D("-120.00"), **by_firm)],
        on=datetime.date(2026, 3, 15),
    )
    return case


def test_net_recovery_by_hand(acme):
    product = product_of_its_own()
    case = hand_built(acme, product)
    report = reports.net_recovery(reports.Filters(product=product))

    p = report.portfolio
    assert p.recovered == D("10500.00")
    assert p.cost == D("2480.00")  # 1,500 + 800 + 300 − 120 recovered from the debtor
    assert p.net == D("8020.00")
    assert p.cost_per_yuan == D("2480") / D("10500")
    assert p.cost_per_yuan_display == "¥0.2362"
    assert p.owed == D("2300.00")  # X's commission and L's fixed fee, neither settled yet
    assert p.costs == {
        "agency_commission": D("1500.00"),
        "legal_fee_fixed": D("800.00"),
        "court_fees": D("300.00"),
        "court_costs_recovered": D("-120.00"),
    }

    by_month = {row.key: row.figures for row in report.by_month}
    assert by_month[FEB].recovered == D("10000.00") and by_month[FEB].cost == D("2600.00")
    assert by_month[MAR].recovered == D("500.00") and by_month[MAR].cost == D("-120.00") and by_month[MAR].net == D("620.00")

    partners = {row.label: (row.kind, row.figures) for row in report.by_counterparty}
    assert partners[acme.orgs["xagency"].name] == (
        "agency",
        reports.Figures(D("10000.00"), {"agency_commission": D("1500.00")}, owed=D("1500.00")),
    )
    firm_kind, firm = partners[acme.orgs["lfirm"].name]
    assert firm_kind == "law_firm" and firm.recovered == 0 and firm.cost == D("980.00") and firm.cost_per_yuan is None
    assert report.by_counterparty[-1].key is None and report.by_counterparty[-1].figures.recovered == D("500.00")

    kinds = {row.kind: row.figures.net for row in report.by_kind}
    assert kinds == {"agency": D("8500.00"), "law_firm": D("-980.00"), "": D("500.00")}
    cohorts = {row.key: row.figures.net for row in report.by_cohort}
    assert cohorts == {JAN: D("8500.00"), FEB: D("-980.00"), None: D("500.00")}
    assert [(row.key, row.figures.net) for row in report.by_product] == [(product, D("8020.00"))]

    mine = reports.case_net_recovery(case)
    assert mine.figures == p
    assert {entry.account for entry in mine.entries} >= {"recoveries", "agency_commission", "court_costs_recovered"}
    assert "cash" not in {entry.account for entry in mine.entries}


def test_a_settled_statement_is_no_longer_owed_and_costs_nothing_more(acme):
    """Paying a partner's statement (Dr partner_payable / Cr cash, portal.fees settlement) clears what is owed to
    it; the cost of collection was counted when the fee was earned and does not change."""
    product = product_of_its_own()
    hand_built(acme, product)
    x = acme.orgs["xagency"]
    before = reports.net_recovery(reports.Filters(product=product)).portfolio
    book(
        EntryKind.SETTLEMENT,
        [Leg(Account.PARTNER_PAYABLE, D("1500.00"), counterparty=x, product=product), Leg(Account.CASH, D("-1500.00"), product=product)],
        on=datetime.date(2026, 3, 5),
    )
    after = reports.net_recovery(reports.Filters(product=product))
    assert after.portfolio.owed == before.owed - D("1500.00") == D("800.00")
    assert (after.portfolio.recovered, after.portfolio.cost, after.portfolio.net) == (before.recovered, before.cost, before.net)
    partners = {row.label: row.figures for row in after.by_counterparty}
    assert partners[x.name].owed == D("0.00") and partners[acme.orgs["lfirm"].name].owed == D("800.00")


def test_the_filters_cut_by_month_and_kind(acme):
    product = product_of_its_own()
    hand_built(acme, product)
    february = reports.net_recovery(reports.Filters(month_from=FEB, month_to=FEB, product=product)).portfolio
    assert (february.recovered, february.cost) == (D("10000.00"), D("2600.00"))
    firms = reports.net_recovery(reports.Filters(product=product, counterparty_kind="law_firm")).portfolio
    assert (firms.recovered, firms.cost, firms.net) == (D("0.00"), D("980.00"), D("-980.00"))
    nobody = reports.net_recovery(reports.Filters(product=product, counterparty_kind="none")).portfolio
    assert (nobody.recovered, nobody.cost) == (D("500.00"), D("0.00"))
    assert reports.net_recovery(reports.Filters(product="no such product")).is_empty


def test_a_reversal_takes_the_recovery_back_out(acme):
    product = product_of_its_own()
    case = CaseFactory(prefix="NR-REV", product=product)
    dims = {"case": case, "counterparty": acme.orgs["yagency"], "cohort_month": JAN}
    paid = book(EntryKind.PAYMENT, [Leg(Account.CASH, D("700.00"), **dims), Leg(Account.RECOVERIES, D("-700.00"), **dims)], on=FEB)
    reverse(original=paid, source=("tests.reports", "rev"), occurred_on=MAR)
    report = reports.net_recovery(reports.Filters(product=product))
    assert report.portfolio.recovered == 0 and report.portfolio.cost_per_yuan is None
    assert {row.key: row.figures.recovered for row in report.by_month} == {FEB: D("700.00"), MAR: D("-700.00")}


def test_the_trend_fills_months_without_entries(acme):
    product = product_of_its_own()
    hand_built(acme, product)
    report = reports.net_recovery(reports.Filters(product=product))
    rows = reports.trend(report, JAN, datetime.date(2026, 4, 1))
    assert [row.key for row in rows] == [JAN, FEB, MAR, datetime.date(2026, 4, 1)]
    assert rows[0].figures.is_empty and rows[3].figures.is_empty


# ------------------------------------------------------------------ the reconciliation property

ACCOUNTS_OF = {  # an event → (debit account, credit account), the posting conventions of the ledger
    "payment": (Account.CASH, Account.RECOVERIES),
    "commission": (Account.AGENCY_COMMISSION, Account.PARTNER_PAYABLE),
    "clawback": (Account.PARTNER_PAYABLE, Account.AGENCY_COMMISSION),
    "legal_fee": (Account.LEGAL_FEE_SUCCESS, Account.PARTNER_PAYABLE),
    "court_fee": (Account.COURT_FEES, Account.CASH),
    "preservation": (Account.PRESERVATION_FEES, Account.CASH),
    "field_visit": (Account.FIELD_VISIT_COSTS, Account.CASH),
    "court_costs_back": (Account.CASH, Account.COURT_COSTS_RECOVERED),
    "settlement": (Account.PARTNER_PAYABLE, Account.CASH),
}

events = st.lists(
    st.tuples(
        st.sampled_from(sorted(ACCOUNTS_OF)),
        st.integers(0, 2),  # which case
        st.sampled_from([None, "xagency", "yagency", "lfirm"]),  # which partner had it
        st.integers(0, 5),  # month
        st.sampled_from([None, 0, 1, 2]),  # cohort month
        st.integers(1, 5_000_000),  # fen
        st.booleans(),  # reversed later
    ),
    min_size=1,
    max_size=12,
)


def direct_sum(product, accounts, **filters) -> Decimal:
    found = LedgerLeg.objects.filter(product=product, account__in=accounts, **filters).aggregate(total=Sum("amount"))["total"]
    return found or D("0.00")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=events)
def test_every_cut_reconciles_to_the_portfolio_to_the_fen(acme, events):
    product = product_of_its_own()
    cases = [CaseFactory(prefix="NR-PROP", product=product) for _ in range(3)]
    expected_recovered, expected_cost = D("0.00"), D("0.00")
    for index, (event, case_at, partner, month, cohort, fen, reversed_later) in enumerate(events):
        debit, credit = ACCOUNTS_OF[event]
        amount = D(fen) / 100
        dims = {
            "case": cases[case_at],
            "counterparty": acme.orgs[partner] if partner else None,
            "cohort_month": datetime.date(2025, 11 + cohort, 1) if cohort is not None and cohort < 2 else (JAN if cohort == 2 else None),
        }
        on = datetime.date(2025 + (month + 9) // 12, (month + 9) % 12 + 1, 10)
        txn = book(EntryKind.LEGAL_COST, [Leg(debit, amount, **dims), Leg(credit, -amount, **dims)], on=on)
        sign = D(0) if reversed_later else D(1)
        if reversed_later:
            reverse(original=txn, source=("tests.reports", f"{product}-{index}"), occurred_on=on + datetime.timedelta(days=40))
        for account, signed in ((debit, amount), (credit, -amount)):
            if account == Account.RECOVERIES:
                expected_recovered -= signed * sign
            elif account in COST_ACCOUNTS:
                expected_cost += signed * sign

    filters = reports.Filters(product=product)
    report = reports.net_recovery(filters)
    p = report.portfolio
    # The figures by hand, and by a plain SUM over the legs.
    assert p.recovered == expected_recovered == -direct_sum(product, [Account.RECOVERIES])
    assert p.cost == expected_cost == direct_sum(product, COST_ACCOUNTS)
    assert p.net == expected_recovered - expected_cost
    # Partners (with the unattributed row), months, placement months, kinds and cases: each sums to the portfolio.
    for cut in (report.by_counterparty, report.by_month, report.by_cohort, report.by_kind, report.by_product):
        total = sum((row.figures for row in cut), reports.Figures())
        assert (total.recovered, total.cost, total.net) == (p.recovered, p.cost, p.net)
    by_case = sum((reports.case_net_recovery(case).figures for case in cases), reports.Figures())
    assert (by_case.recovered, by_case.cost) == (p.recovered, p.cost)
    # The totals the trigger keeps give the same report as the same query over the legs themselves.
    assert report == reports.net_recovery(filters, source=reports.LEGS)
    # …and partner by partner, the same as a direct SUM.
    for row in report.by_counterparty:
        scope = {"counterparty_id": row.key} if row.key else {"counterparty__isnull": True}
        assert row.figures.recovered == -direct_sum(product, [Account.RECOVERIES], **scope)
        assert row.figures.cost == direct_sum(product, COST_ACCOUNTS, **scope)


def test_the_dashboard_reads_the_totals_not_the_legs(acme):
    """The portfolio's figures are one query over ledger_ledgertotal (and one for the partners' names)."""
    from django.test.utils import CaptureQueriesContext

    product = product_of_its_own()
    hand_built(acme, product)
    with CaptureQueriesContext(connection) as queries:
        reports.net_recovery(reports.Filters(product=product))
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 2
    assert "ledger_ledgertotal" in sql[0] and "ledger_ledgerleg" not in sql[0]
