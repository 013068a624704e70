"""A law firm's fee lines in acme's schema (real PostgreSQL): the fixed fee once per matter, the success fee on money
applied inside the engagement, clawbacks and adjustments on reversal, immutability, the ledger entries, and the
"legal_fee" statement drafted through portal.fees equal to the sum of its lines.

The firm's agreement in these tests (tests.litigation.support.fee_agreement): ¥800.00 fixed, 8 % success fee.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from litigation import escalation, fee_lines, fees, stages
from litigation.models import FeeLineKind, LegalFeeLine, Outcome, Stage
from portal.fees import kinds, services as fee_services
from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTransaction
from portal.payments import services as payment_services
from tests.factories import CaseFactory, PaymentFactory, finance
from tests.litigation.support import fee_agreement, legal_manager


def today():
    return timezone.localdate()


def days_ago(n) -> datetime.date:
    return today() - datetime.timedelta(days=n)


def firm_matter(world, *, cases=None, escalated_days_ago=0, firm="lfirm"):
    """A matter escalated to law firm L (¥800 + 8 %), ``escalated_days_ago`` days ago; ``firm=None``: in-house."""
    fee_agreement(world, firm="lfirm", fixed="800.00", success="8")
    cases = cases or [CaseFactory(principal_due=D("15000.00"), interest_due=D("812.35"), dpd=120)]
    now = timezone.now() - datetime.timedelta(days=escalated_days_ago)
    org = world.orgs[firm] if firm else None
    return escalation.escalate(cases=cases, firm=org, by=legal_manager(world), reason="有能力还款但拒不还款", now=now)[0]


def reach(world, matter, stage, *, on=None, **values):
    """Record a stage as the legal manager does, then the fee listener (idempotent: also run by record_stage once
    litigation/stages.py calls fee_lines.earn_fixed_fee)."""
    if stage == Stage.FILED:
        values = {"court": "上海市浦东新区人民法院", "court_case_number": "(2026)沪0115民初12345号"} | values
    entry = stages.record_stage(matter=matter, stage=stage, entered_on=on or today(), by=legal_manager(world), **values)
    fee_lines.on_stage_recorded(entry=entry)
    return entry


def fee_lines_of(matter, **filters):
    return LegalFeeLine.objects.filter(matter=matter, **filters).order_by("created_at", "id")


def the_case(matter):
    return matter.loans.get().case


# ----------------------------------------------------------------- fixed fee


def test_the_first_court_stage_earns_the_fixed_fee_once_per_matter(acme):
    matter = firm_matter(acme)
    order = reach(acme, matter, Stage.PAYMENT_ORDER, on=days_ago(2))  # 支付令申请: before a court
    reach(acme, matter, Stage.FILED, on=days_ago(1))  # objected, then sued (CPL art. 228): no second fee
    fee_lines.earn_fixed_fee(entry=order)  # the same stage heard twice: still one
    [line] = fee_lines_of(matter)
    assert (line.kind, line.base, line.rate, line.amount) == (FeeLineKind.FIXED, D("800.00"), None, D("800.00"))
    assert (line.firm, line.earned_on, line.stage_entry_id, line.case) == (acme.orgs["lfirm"], days_ago(2), order.pk, the_case(matter))


def test_a_matter_of_several_loans_earns_one_fixed_fee_for_the_whole_matter(acme):
    first = CaseFactory(principal_due=D("5000.00"))
    second = CaseFactory(debtor=first.debtor, principal_due=D("7000.00"))
    matter = firm_matter(acme, cases=[first, second])
    reach(acme, matter, Stage.FILED)
    [line] = fee_lines_of(matter)
    assert (line.amount, line.case) == (D("800.00"), None)


def test_mediation_before_filing_and_in_house_matters_earn_no_fixed_fee(acme):
    mediated = firm_matter(acme)
    reach(acme, mediated, Stage.PRE_SUIT_MEDIATION)
    in_house = firm_matter(acme, firm=None)
    reach(acme, in_house, Stage.FILED)
    assert not LegalFeeLine.objects.filter(matter__in=[mediated, in_house]).exists()


def test_the_database_refuses_a_second_fixed_line_for_a_matter(acme):
    matter = firm_matter(acme)
    entry = reach(acme, matter, Stage.FILED)
    second = reach(acme, matter, Stage.HEARING)
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalFeeLine.objects.create(
            matter=matter,
            firm=acme.orgs["lfirm"],
            kind=FeeLineKind.FIXED,
            earned_on=entry.entered_on,
            base=D("800.00"),
            amount=D("800.00"),
            stage_entry=second,
        )


def test_recording_the_filing_earns_the_fixed_fee(acme):
    """record_stage itself writes the line (the call from litigation/stages.py into fee_lines.earn_fixed_fee)."""
    matter = firm_matter(acme)
    stages.record_stage(
        matter=matter,
        stage=Stage.FILED,
        entered_on=today(),
        by=legal_manager(acme),
        court="上海市浦东新区人民法院",
        court_case_number="(2026)沪0115民初12346号",
    )
    assert fee_lines_of(matter, kind=FeeLineKind.FIXED).values_list("amount", flat=True).get() == D("800.00")


# ----------------------------------------------------------------- success fee


def test_a_payment_earns_the_agreed_per_cent_of_the_money_it_applied(acme):
    matter = firm_matter(acme)
    payment = PaymentFactory(case=the_case(matter), amount=D("12345.67"), paid_on=today())
    [line] = fee_lines_of(matter)
    assert (line.kind, line.base, line.rate, line.amount) == (FeeLineKind.SUCCESS, D("12345.67"), D("8"), D("987.65"))
    assert (line.payment, line.case, line.firm, line.earned_on) == (payment, the_case(matter), acme.orgs["lfirm"], today())


def test_money_paid_beyond_the_balance_earns_nothing(acme):
    case = CaseFactory(principal_due=D("1000.00"), interest_due=D("0.00"))
    matter = firm_matter(acme, cases=[case])
    PaymentFactory(case=case, amount=D("1500.00"))  # 500.00 unapplied (溢缴款): refunded, not recovered
    [line] = fee_lines_of(matter)
    assert (line.base, line.amount) == (D("1000.00"), D("80.00"))


def test_the_success_fee_is_earned_only_while_the_matter_is_with_the_firm(acme):
    matter = firm_matter(acme, escalated_days_ago=10)
    case = the_case(matter)
    PaymentFactory(case=case, amount=D("100.00"), paid_on=days_ago(11))  # before escalation
    inside = PaymentFactory(case=case, amount=D("200.00"), paid_on=days_ago(5))
    reach(acme, matter, Stage.CLOSED, on=days_ago(3), outcome=Outcome.WITHDRAWN)  # taken back from the firm (撤回)
    closing_day = PaymentFactory(case=case, amount=D("300.00"), paid_on=days_ago(3))
    PaymentFactory(case=case, amount=D("400.00"), paid_on=days_ago(2))  # after it was withdrawn
    PaymentFactory(case=case, amount=D("500.00"), paid_on=today())
    lines = fee_lines_of(matter, kind=FeeLineKind.SUCCESS)
    assert {(line.payment_id, line.amount) for line in lines} == {(inside.pk, D("16.00")), (closing_day.pk, D("24.00"))}


def test_an_in_house_matter_and_a_case_in_no_matter_earn_no_fee(acme):
    in_house = firm_matter(acme, firm=None)
    PaymentFactory(case=the_case(in_house), amount=D("500.00"))
    PaymentFactory(case=CaseFactory(), amount=D("500.00"))
    assert not LegalFeeLine.objects.filter(matter=in_house).exists()


def test_a_reversal_claws_back_exactly_what_the_payment_earned(acme):
    matter = firm_matter(acme)
    payment = PaymentFactory(case=the_case(matter), amount=D("12345.67"))
    reversal = payment_services.reverse_payment(payment=payment, reason="returned", note="银行退票", reversed_by=finance(acme))
    earned, clawback = fee_lines_of(matter)
    assert (clawback.reversal, clawback.payment, clawback.earned_on) == (reversal, payment, reversal.reversed_on)
    assert (clawback.base, clawback.amount, clawback.rate) == (D("-12345.67"), D("-987.65"), earned.rate)
    assert fee_lines_of(matter).aggregate(base=Sum("base"), amount=Sum("amount")) == {"base": D("0.00"), "amount": D("0.00")}
    fee_lines.claw_back(reversal=reversal)  # heard twice: still one clawback
    assert fee_lines_of(matter).count() == 2


def test_a_reversal_that_re_applies_a_later_payment_adjusts_its_fee(acme):
    case = CaseFactory(principal_due=D("1000.00"), interest_due=D("0.00"))
    matter = firm_matter(acme, cases=[case])
    first = PaymentFactory(case=case, amount=D("600.00"))  # applies 600.00: 48.00
    later = PaymentFactory(case=case, amount=D("600.00"))  # applies the last 400.00 (200.00 beyond): 32.00
    payment_services.reverse_payment(payment=first, reason="returned", note="银行退票", reversed_by=finance(acme))
    # Without the first payment the later one applies all 600.00: +200.00 recovered, +16.00 fee, dated the reversal.
    [adjustment] = fee_lines_of(matter, correction__isnull=False)
    assert (adjustment.payment, adjustment.base, adjustment.amount, adjustment.earned_on) == (later, D("200.00"), D("16.00"), today())
    later_lines = fee_lines_of(matter, payment=later).aggregate(base=Sum("base"), amount=Sum("amount"))
    assert later_lines == {"base": D("600.00"), "amount": fees.success_fee(D("600.00"), D("8"))}
    assert fee_lines_of(matter, payment=first).aggregate(amount=Sum("amount"))["amount"] == D("0.00")


# ----------------------------------------------------------------- immutable


def test_a_line_s_money_never_changes_and_it_is_never_deleted_only_its_statement_is_set(acme):
    matter = firm_matter(acme)
    PaymentFactory(case=the_case(matter), amount=D("1000.00"))
    line = fee_lines_of(matter).get()
    for change in (
        {"amount": D("1.00")},
        {"base": D("1.00")},
        {"rate": D("30")},
        {"earned_on": days_ago(40)},
        {"firm": acme.orgs["xagency"]},
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            LegalFeeLine.objects.filter(pk=line.pk).update(**change)
    with pytest.raises(DatabaseError), transaction.atomic():
        LegalFeeLine.objects.filter(pk=line.pk).delete()
    statement = fee_services.draft(kind="legal_fee", partner=acme.orgs["lfirm"], period=today(), created_by=finance(acme))
    line.refresh_from_db()
    assert (line.statement, line.amount) == (statement, D("80.00"))


def test_the_database_refuses_a_fee_above_its_base_or_of_the_wrong_sign(acme):
    matter = firm_matter(acme)
    payment = PaymentFactory(case=the_case(matter), amount=D("100.00"))
    common = {"matter": matter, "firm": acme.orgs["lfirm"], "case": payment.case, "kind": FeeLineKind.SUCCESS, "earned_on": today()}
    for base, amount in ((D("100.00"), D("100.01")), (D("100.00"), D("-1.00")), (D("-100.00"), D("1.00"))):
        with pytest.raises(IntegrityError), transaction.atomic():
            LegalFeeLine.objects.create(**common, payment=payment, base=base, rate=D("8"), amount=amount)


# ----------------------------------------------------------------- ledger


def ledger_of(line):
    return LedgerTransaction.objects.filter(kind=EntryKind.LEGAL_FEE, source_type="litigation.legalfeeline", source_id=str(line.pk))


def legs_of(line):
    return {(leg.account, leg.amount) for leg in LedgerLeg.objects.filter(transaction__in=ledger_of(line))}


def test_each_line_is_posted_to_the_ledger_once_and_a_clawback_reverses_the_sign(acme):
    matter = firm_matter(acme, escalated_days_ago=3)
    reach(acme, matter, Stage.FILED)
    payment = PaymentFactory(case=the_case(matter), amount=D("12345.67"))
    payment_services.reverse_payment(payment=payment, reason="returned", note="银行退票", reversed_by=finance(acme))
    fixed, earned, clawback = fee_lines_of(matter)
    fee_lines.post_line(fixed)  # posted again: found, nothing written
    assert ledger_of(fixed).count() == ledger_of(earned).count() == ledger_of(clawback).count() == 1
    assert legs_of(fixed) == {(Account.LEGAL_FEE_FIXED, D("800.00")), (Account.PARTNER_PAYABLE, D("-800.00"))}
    assert legs_of(earned) == {(Account.LEGAL_FEE_SUCCESS, D("987.65")), (Account.PARTNER_PAYABLE, D("-987.65"))}
    assert legs_of(clawback) == {(Account.LEGAL_FEE_SUCCESS, D("-987.65")), (Account.PARTNER_PAYABLE, D("987.65"))}
    legs = LedgerLeg.objects.filter(transaction__in=ledger_of(fixed) | ledger_of(earned) | ledger_of(clawback))
    cohort = timezone.localdate(matter.escalated_at).replace(day=1)
    assert {(leg.counterparty_id, leg.counterparty_kind, leg.matter_id, leg.cohort_month, leg.case_id) for leg in legs} == {
        (acme.orgs["lfirm"].pk, "law_firm", matter.pk, cohort, the_case(matter).pk)
    }
    assert ledger_of(clawback).get().occurred_on == today()
    with connection.cursor() as cursor:  # the deferred balance checks run now, as at COMMIT
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# ----------------------------------------------------------------- statement


def test_a_law_firm_s_invoice_is_drafted_through_the_fee_lifecycle_and_equals_its_lines(acme):
    month = today().replace(day=1)
    last_month_day = month - datetime.timedelta(days=1)
    matter = firm_matter(acme, escalated_days_ago=45)
    reach(acme, matter, Stage.FILED, on=days_ago(44))
    earlier = PaymentFactory(case=the_case(matter), amount=D("12345.67"), paid_on=last_month_day)
    this_month = PaymentFactory(case=the_case(matter), amount=D("1000.00"), paid_on=today())
    firm, by = acme.orgs["lfirm"], finance(acme)

    previous = fee_services.draft(kind="legal_fee", partner=firm, period=last_month_day, created_by=by)
    assert previous.number.startswith("LF") and previous.kind == "legal_fee"
    mine = set(fee_lines_of(matter).values_list("pk", flat=True))
    on_previous = set(kinds.get("legal_fee").lines(previous).values_list("pk", flat=True))
    assert LegalFeeLine.objects.get(payment=earlier).pk in on_previous
    assert LegalFeeLine.objects.get(payment=this_month).pk not in on_previous  # earned after the month: the next one
    assert fee_lines_of(matter, kind=FeeLineKind.FIXED).get().pk in on_previous

    current = fee_services.draft(kind="legal_fee", partner=firm, period=today(), created_by=by)
    assert mine <= on_previous | set(kinds.get("legal_fee").lines(current).values_list("pk", flat=True))
    for statement in (previous, current):
        statement.refresh_from_db()
        stated = LegalFeeLine.objects.filter(statement=statement)
        success = stated.filter(kind=FeeLineKind.SUCCESS)
        assert statement.line_count == stated.count()
        assert statement.amount_total == (stated.aggregate(s=Sum("amount"))["s"] or D("0.00"))
        assert statement.base_total == (success.aggregate(s=Sum("base"))["s"] or D("0.00"))  # recovered money only
        rows = kinds.get("legal_fee").rows(statement)
        assert sum((row.amount for row in rows), D("0.00")) == statement.amount_total
        assert sum((row.base for row in rows), D("0.00")) == statement.base_total
    fixed_row = next(
        row for row in kinds.get("legal_fee").rows(previous) if row.case_ref == the_case(matter).contract_no and row.rate is None
    )
    assert (fixed_row.amount, fixed_row.base) == (D("800.00"), D("0.00"))
    earned_row = next(row for row in kinds.get("legal_fee").rows(previous) if row.line_id == LegalFeeLine.objects.get(payment=earlier).pk)
    assert (earned_row.base, earned_row.rate, earned_row.amount) == (D("12345.67"), D("0.08"), D("987.65"))


def test_a_released_line_waits_for_the_next_statement(acme):
    matter = firm_matter(acme)
    payment = PaymentFactory(case=the_case(matter), amount=D("1000.00"))
    statement = fee_services.draft(kind="legal_fee", partner=acme.orgs["lfirm"], period=today(), created_by=finance(acme))
    line = LegalFeeLine.objects.get(payment=payment)
    kind = kinds.get("legal_fee")
    assert kind.release(statement, [line.pk]) == 1
    line.refresh_from_db()
    assert line.statement is None
    fee_services.store_totals(statement)
    assert line.pk not in set(kind.lines(statement).values_list("pk", flat=True))
    assert kind.attach(statement) >= 1  # back in the pool: the next draft takes it
    line.refresh_from_db()
    assert line.statement == statement
