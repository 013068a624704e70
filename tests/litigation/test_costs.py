"""Legal costs: what record_cost accepts and refuses, and the totals by kind, payer, recoverability and month."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from litigation import costs
from litigation.costs import CostRefused
from litigation.models import CostKind, LegalCost
from tests.litigation.support import escalated_matter, legal_manager


@pytest.fixture
def firm_matter(acme):
    return escalated_matter(acme, firm="lfirm")


@pytest.fixture
def inhouse_matter(acme):
    return escalated_matter(acme)


def _record(matter, world, **overrides):
    values = {
        "matter": matter,
        "kind": CostKind.COURT_FEE,
        "amount": Decimal("375.00"),
        "incurred_on": timezone.localdate(),
        "by": legal_manager(world),
    } | overrides
    return costs.record_cost(**values)


def test_a_cost_is_recorded_with_who_advanced_it(firm_matter, acme):
    cost = _record(firm_matter, acme, kind=CostKind.PRESERVATION_FEE, amount="1,020.50", paid_by_firm=True, recoverable=True)
    cost.refresh_from_db()
    assert (cost.kind, cost.amount, cost.paid_by_firm, cost.recoverable) == ("preservation_fee", Decimal("1020.50"), True, True)
    assert cost.recorded_by == legal_manager(acme)


@pytest.mark.parametrize(
    "amount,code",
    [
        ("0", "amount_zero"),
        ("0.00", "amount_zero"),
        ("12.345", "amount_places"),  # finer than the fen
        ("abc", "amount"),
        ("NaN", "amount"),
        (12.5, "amount_type"),  # a float is not money
    ],
)
def test_amounts_that_are_not_a_cost_are_refused(amount, code, firm_matter, acme):
    with pytest.raises(CostRefused) as refused:
        _record(firm_matter, acme, amount=amount)
    assert refused.value.codes == [code]
    assert not LegalCost.objects.filter(matter=firm_matter).exists()


def test_a_negative_amount_is_a_correction_and_needs_a_note(firm_matter, acme):
    _record(firm_matter, acme, amount="375.00")
    with pytest.raises(CostRefused) as refused:
        _record(firm_matter, acme, amount="-375.00")
    assert refused.value.codes == ["correction_note"]
    correction = _record(firm_matter, acme, amount="-375.00", note="Corrects the fee recorded twice")
    assert correction.amount == Decimal("-375.00")
    assert costs.totals(firm_matter.costs.all())["total"] == Decimal("0.00")


def test_a_future_date_and_an_unknown_kind_are_refused(firm_matter, acme):
    with pytest.raises(CostRefused) as refused:
        _record(firm_matter, acme, incurred_on=timezone.localdate() + datetime.timedelta(days=1))
    assert refused.value.codes == ["future_date"]
    with pytest.raises(CostRefused) as refused:
        _record(firm_matter, acme, kind="bribe")
    assert refused.value.codes == ["kind"]


def test_an_inhouse_matter_has_no_firm_to_advance_a_cost(inhouse_matter, acme):
    with pytest.raises(CostRefused) as refused:
        _record(inhouse_matter, acme, paid_by_firm=True)
    assert refused.value.codes == ["no_firm"]


def test_totals_by_kind_payer_recoverability_and_month(firm_matter, acme):
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    _record(firm_matter, acme, kind=CostKind.COURT_FEE, amount="375.00", incurred_on=last_month)
    _record(firm_matter, acme, kind=CostKind.SERVICE_COST, amount="60.00", paid_by_firm=True, incurred_on=today)
    _record(firm_matter, acme, kind=CostKind.LAWYER_FEE, amount="800.00", paid_by_firm=True, recoverable=False, incurred_on=today)
    _record(firm_matter, acme, kind=CostKind.COURT_FEE, amount="-25.00", note="court refunded part", incurred_on=today)
    totals = costs.totals(firm_matter.costs.all())
    assert totals["total"] == Decimal("1210.00")  # 375 + 60 + 800 − 25
    assert totals["count"] == 4
    assert totals["by_firm"] == Decimal("860.00") and totals["by_lender"] == Decimal("350.00")
    assert totals["recoverable"] == Decimal("410.00") and totals["not_recoverable"] == Decimal("800.00")
    assert dict((kind, amount) for kind, _label, amount in totals["by_kind"]) == {
        "court_fee": Decimal("350.00"),
        "service_cost": Decimal("60.00"),
        "lawyer_fee": Decimal("800.00"),
    }
    months = costs.monthly(firm_matter.costs.all())
    assert [(m["month"], m["total"]) for m in months] == [
        (today.replace(day=1), Decimal("835.00")),  # 60 + 800 − 25
        (last_month.replace(day=1), Decimal("375.00")),
    ]


def test_export_rows_list_every_line_with_a_header(firm_matter, acme):
    _record(firm_matter, acme, amount="375.00", note="=HYPERLINK(evil)")
    rows = costs.export_rows(firm_matter.costs.all())
    assert rows[0][:6] == ["Matter", "Debtor", "Law firm", "Date", "Kind", "Amount (CNY)"]
    assert rows[1][0] == firm_matter.number and rows[1][5] == "375.00" and rows[1][4] == "Court acceptance fee"
