"""Court costs recovered from the debtor: when the law lets the lender get them back, how much, the ledger entry,
and the page.

The statute (诉讼费用交纳办法, 国务院令第481号): art. 29 "诉讼费用由败诉方负担，胜诉方自愿承担的除外。部分胜诉、部分
败诉的，人民法院根据案件的具体情况决定当事人各自负担的诉讼费用数额"; art. 31 "经人民法院调解达成协议的案件，诉讼费用的
负担由双方当事人协商解决"; art. 8: cases under the special procedures (judicial confirmation) pay no acceptance fee.
What comes back is what was advanced: nobody recovers more than they paid.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from litigation import cost_recovery, costs, stages
from litigation.costs import CostRefused
from litigation.models import CostKind, CostRecovery, Outcome, Stage
from portal.ledger import reports
from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTransaction
from tests.factories import CaseFactory, DebtorFactory
from tests.litigation.support import escalated_matter, legal_manager

# ----------------------------------------------------------------- the rule, from the statute's text


@pytest.mark.parametrize(
    "stage,outcome,on_debtor",
    [
        (Stage.JUDGMENT, Outcome.WON, True),  # art. 29: the losing party (the debtor) bears them
        (Stage.JUDGMENT, Outcome.PARTLY_WON, True),  # art. 29: partly won → the court apportions; some may come back
        (Stage.JUDGMENT, Outcome.LOST, False),  # art. 29: the lender lost, the lender bears them
        (Stage.JUDGMENT, Outcome.MEDIATION_AGREEMENT, True),  # art. 31: the agreement settles who bears them
        (Stage.IN_SUIT_MEDIATION, Outcome.AGREED, True),  # art. 31
        (Stage.IN_SUIT_MEDIATION, Outcome.FAILED, False),
        (Stage.PAYMENT_ORDER, Outcome.NOT_OBJECTED, True),  # an effective payment order: the debtor bears its fee
        (Stage.PAYMENT_ORDER, Outcome.OBJECTED, False),  # objected: the order falls, nothing decided yet
        (Stage.PRE_SUIT_MEDIATION, Outcome.AGREED, False),  # before filing: no court fee was paid
        (Stage.JUDICIAL_CONFIRMATION, Outcome.CONFIRMED, False),  # art. 8: no fee to recover
        (Stage.FILED, "", False),  # filed, undecided
    ],
)
def test_only_a_decision_against_the_debtor_puts_the_costs_on_him(stage, outcome, on_debtor):
    assert cost_recovery.costs_on_debtor([(Stage.ESCALATED, ""), (stage, outcome)]) is on_debtor


def test_a_lawyers_fee_is_not_a_court_cost():
    # 诉讼费用 (art. 6): acceptance and application fees, and costs the court orders paid (art. 12); not the lawyer's fee.
    assert CostKind.LAWYER_FEE not in cost_recovery.COURT_COST_KINDS
    assert set(cost_recovery.COURT_COST_KINDS) == {"court_fee", "preservation_fee", "enforcement_fee", "service_cost"}


def _refusal(amount, *, decided=True, advanced="675.00", recovered="0.00", note=""):
    found = cost_recovery.refusal(amount=D(amount), note=note, decided=decided, advanced=D(advanced), recovered=D(recovered))
    return found[0] if found else None


def test_the_rule_allows_up_to_what_was_advanced_and_no_more():
    assert _refusal("675.00") is None
    assert _refusal("675.01") == "more_than_advanced"
    assert _refusal("300.00", recovered="375.00") is None
    assert _refusal("300.01", recovered="375.00") == "more_than_advanced"
    assert _refusal("1.00", decided=False) == "no_decision"
    assert _refusal("0.00") == "amount_zero"


def test_a_correction_needs_a_note_and_cannot_go_below_nothing():
    assert _refusal("-100.00", recovered="375.00") == "correction_note"
    assert _refusal("-100.00", recovered="375.00", note="recorded twice") is None
    assert _refusal("-375.01", recovered="375.00", note="recorded twice") == "below_zero"
    # A correction does not need the decision: it undoes a line, it does not claim anything.
    assert _refusal("-100.00", decided=False, recovered="100.00", note="wrong matter") is None


# ----------------------------------------------------------------- the service, the ledger


def today():
    return timezone.localdate()


def judged(world, matter, outcome=Outcome.WON, *, fee="675.00"):
    """Filed (acceptance fee ¥675 advanced: a ¥35,000 claim, 诉讼费用交纳办法 art. 13) and judged."""
    by = legal_manager(world)
    stages.record_stage(
        matter=matter,
        stage=Stage.FILED,
        entered_on=today(),
        by=by,
        court="上海市浦东新区人民法院",
        court_case_number="(2026)沪0115民初2001号",
    )
    costs.record_cost(matter=matter, kind=CostKind.COURT_FEE, amount=D(fee), incurred_on=today(), by=by)
    stages.record_stage(matter=matter, stage=Stage.JUDGMENT, entered_on=today(), by=by, outcome=outcome, amount=D("35000.00"))
    return matter


def recover(world, matter, amount, **values):
    values = {"received_on": today(), "source": "court_refund", "by": legal_manager(world)} | values
    return costs.record_recovery(matter=matter, amount=amount, **values)


def test_a_won_judgment_lets_the_advanced_fee_come_back_with_its_ledger_entry(acme):
    matter = judged(acme, escalated_matter(acme, firm="lfirm"))
    recovery = recover(acme, matter, "675.00")
    entry = LedgerTransaction.objects.get(kind=EntryKind.COSTS_RECOVERED, source_type="litigation.costrecovery", source_id=str(recovery.pk))
    legs = {(leg.account, leg.amount) for leg in LedgerLeg.objects.filter(transaction=entry)}
    assert legs == {(Account.CASH, D("675.00")), (Account.COURT_COSTS_RECOVERED, D("-675.00"))}
    assert costs.recovery_position(matter) == {"advanced": D("675.00"), "recovered": D("675.00"), "outstanding": D("0.00"), "decided": True}
    # The case's cost of collection: the fee advanced, less what came back — what is left is the firm's fixed fee,
    # earned on filing (tests.litigation.support.fee_agreement: ¥800).
    case = matter.loans.get().case
    figures = reports.case_net_recovery(case).figures
    assert figures.costs.get(Account.COURT_FEES) == D("675.00") and figures.costs.get(Account.COURT_COSTS_RECOVERED) == D("-675.00")
    assert figures.cost == D("800.00") == figures.costs[Account.LEGAL_FEE_FIXED]


def test_money_the_firm_received_is_owed_on_to_the_lender(acme):
    matter = judged(acme, escalated_matter(acme, firm="lfirm"))
    recovery = recover(acme, matter, "200.00", source="debtor", received_by_firm=True)
    legs = LedgerLeg.objects.filter(transaction__source_id=str(recovery.pk))
    assert {(leg.account, leg.amount, leg.counterparty_id) for leg in legs} == {
        (Account.PARTNER_PAYABLE, D("200.00"), acme.orgs["lfirm"].pk),
        (Account.COURT_COSTS_RECOVERED, D("-200.00"), acme.orgs["lfirm"].pk),
    }


def test_a_matter_of_two_loans_shares_the_recovery_to_the_fen(acme):
    debtor = DebtorFactory()  # one matter per borrower: two loans of the same debtor
    cases = [
        CaseFactory(debtor=debtor, principal_due=D("9000.00"), dpd=150),
        CaseFactory(debtor=debtor, principal_due=D("8000.00"), dpd=150),
    ]
    matter = judged(acme, escalated_matter(acme, cases=cases))
    recovery = recover(acme, matter, "100.01")
    shares = sorted(
        LedgerLeg.objects.filter(transaction__source_id=str(recovery.pk), account=Account.COURT_COSTS_RECOVERED).values_list(
            "amount", flat=True
        )
    )
    assert shares == [D("-50.01"), D("-50.00")]


@pytest.mark.parametrize("outcome", [Outcome.LOST])
def test_a_lost_judgment_leaves_nothing_to_recover(outcome, acme):
    matter = judged(acme, escalated_matter(acme), outcome)
    with pytest.raises(CostRefused) as refused:
        recover(acme, matter, "100.00")
    assert refused.value.codes == ["no_decision"]
    assert not CostRecovery.objects.filter(matter=matter).exists()
    assert not LedgerTransaction.objects.filter(kind=EntryKind.COSTS_RECOVERED).exists()


def test_more_than_was_advanced_is_refused_and_nothing_is_written(acme):
    matter = judged(acme, escalated_matter(acme))
    recover(acme, matter, "600.00")
    with pytest.raises(CostRefused) as refused:
        recover(acme, matter, "75.01")
    assert refused.value.codes == ["more_than_advanced"]
    assert "¥675.00" in refused.value.messages[0] and "¥600.00" in refused.value.messages[0]
    assert CostRecovery.objects.filter(matter=matter).count() == 1


def test_refusals_of_the_form_itself(acme):
    matter = judged(acme, escalated_matter(acme))
    for values, code in [
        ({"source": "bribe"}, "source"),
        ({"received_on": today() + datetime.timedelta(days=1)}, "future_date"),
        ({"received_by_firm": True}, "no_firm"),  # in-house: no firm received anything
    ]:
        with pytest.raises(CostRefused) as refused:
            recover(acme, matter, "10.00", **values)
        assert refused.value.codes == [code]
    with pytest.raises(CostRefused) as refused:
        recover(acme, matter, "10.005")
    assert refused.value.codes == ["amount_places"]


def test_a_recovery_is_never_edited_or_deleted(acme):
    matter = judged(acme, escalated_matter(acme))
    recovery = recover(acme, matter, "100.00")
    for statement in (
        lambda: CostRecovery.objects.filter(pk=recovery.pk).update(amount=D("1.00")),
        lambda: CostRecovery.objects.filter(pk=recovery.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    correction = recover(acme, matter, "-100.00", note="refund was for another matter")
    assert costs.recovery_position(matter)["recovered"] == D("0.00")
    assert LedgerTransaction.objects.filter(kind=EntryKind.COSTS_RECOVERED).count() == 2
    assert correction.amount == D("-100.00")


# ----------------------------------------------------------------- the page


def test_the_matter_costs_page_records_a_recovery_and_explains_a_refusal(acme, client_for):
    with tenant_context(acme.lenders["acme"]):
        matter = escalated_matter(acme, firm="lfirm")
    client = client_for("acme_legal", host="acme")
    page = client.get(f"/legal/matters/{matter.pk}/costs/").content.decode()
    assert "Not recoverable yet." in page and "Record the recovery" not in page  # no decision yet: no form
    with tenant_context(acme.lenders["acme"]):
        judged(acme, matter)
    page = client.get(f"/legal/matters/{matter.pk}/costs/").content.decode()
    assert "Nothing recovered yet." in page and "Record the recovery" in page
    body = {"amount": "700.00", "received_on": today().isoformat(), "source": "court_refund", "note": ""}
    refused = client.post(f"/legal/matters/{matter.pk}/costs/recovered/", body)
    assert refused.status_code == 400 and "Only ¥675.00 of court costs was advanced" in refused.content.decode()
    done = client.post(f"/legal/matters/{matter.pk}/costs/recovered/", body | {"amount": "675.00", "received_by_firm": "on"})
    assert done.status_code == 302
    page = client.get(f"/legal/matters/{matter.pk}/costs/").content.decode()
    assert "Refunded by the court" in page and "still to recover: ¥0.00" in page
    with tenant_context(acme.lenders["acme"]):
        assert CostRecovery.objects.get(matter=matter).received_by_firm


def test_who_may_not_record_a_recovery_is_refused(acme, client_for):
    with tenant_context(acme.lenders["acme"]):
        matter = judged(acme, escalated_matter(acme))
    body = {"amount": "10.00", "received_on": today().isoformat(), "source": "court_refund"}
    assert client_for("acme_manager", host="acme").post(f"/legal/matters/{matter.pk}/costs/recovered/", body).status_code == 403
    assert client_for("l_lawyer", host="acme").post(f"/legal/matters/{matter.pk}/costs/recovered/", body).status_code == 404
    with tenant_context(acme.lenders["acme"]):
        assert not CostRecovery.objects.filter(matter=matter).exists()
