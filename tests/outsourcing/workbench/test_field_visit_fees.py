"""Field-visit fees (外访费): a visit the lender approved and the agency reported earns the agreement's fee per visit,
once, posted to the ledger; the charges are settled on their own statement through the core's lifecycle.

What the user needs: the lender pays for visits that took place (a report is the proof) at the price agreed for the
placement, never twice for one visit; the agency's monthly field-visit statement equals the sum of its lines; paying
it clears what the lender owed the agency for those visits, case by case.
"""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Sum

from outsourcing import agreements, field_visit_fees
from outsourcing.models import BUCKETS, ROUNDS, AgreementVersion, Placement
from outsourcing.workbench import services
from outsourcing.workbench.models import FieldVisitCharge
from portal.fees import services as fee_services
from portal.fees.models import Statement, StatementStatus
from portal.ledger.models import Account, EntryKind, LedgerLeg, LedgerTransaction
from tests.factories import finance
from tests.matrix_workbench import at, in_acme
from tests.outsourcing.workbench.test_workbench_field_visits import make_case, request_visit
from tests.portal.fees.support import Charge

JUNE = datetime.date(2025, 6, 1)
NEXT_DAY = datetime.date(2025, 6, 3)  # the visits are approved on 2 June (tests.matrix_workbench.at)


# ----------------------------------------------------------------- the rule and the agreement's term


def test_the_fee_is_the_agreements_to_the_fen_and_none_when_it_pays_none():
    assert field_visit_fees.fee_for("150") == D("150.00")
    assert field_visit_fees.fee_for(D("0")) is None and field_visit_fees.fee_for(None) is None
    with pytest.raises(ValueError):
        field_visit_fees.fee_for("-1")
    with pytest.raises(TypeError):
        field_visit_fees.fee_for(150.0)  # money is never a float


def _terms(**overrides):
    rates = {(bucket, n): D("0.15") for bucket in BUCKETS for n in ROUNDS}
    return {"term_days": 90, "capacity": 100, "max_hold_days": 30, "allowed_actions": ["field_visit"], "rates": rates} | overrides


@pytest.mark.parametrize(
    "fee,expected",
    [("", D("0.00")), (None, D("0.00")), ("150", D("150.00")), ("80.5", D("80.50")), (D("10000"), D("10000.00"))],
)
def test_an_agreement_takes_a_fee_per_visit(fee, expected):
    assert agreements.clean_terms(_terms(field_visit_fee=fee))["field_visit_fee"] == expected


@pytest.mark.parametrize("fee", ["-1", "12.345", "abc", "10000.01", 12.5])
def test_a_fee_that_is_not_money_or_out_of_bounds_is_refused(fee):
    with pytest.raises(ValidationError) as refused:
        agreements.clean_terms(_terms(field_visit_fee=fee))
    assert "field_visit_fee" in refused.value.error_dict


# ----------------------------------------------------------------- charging a report


def with_fee(world, placement, fee):
    """Put the placement under a new version of acme's agreement with X: field visits allowed, ``fee`` per visit."""
    agreement = world.outsourcing["agreement"]
    number = agreement.versions.count() + 1
    version = AgreementVersion.objects.create(
        agreement=agreement, number=number, term_days=60, capacity=1000, allowed_actions=["phone", "field_visit"], field_visit_fee=D(fee)
    )
    Placement.objects.filter(pk=placement.pk).update(agreement_version=version)
    placement.refresh_from_db()
    return placement


def reported_visit(world, contract_no, fee="150.00", *, visited_at=None, justification=""):
    case, placement = make_case(world, contract_no)
    with_fee(world, placement, fee)
    visit = request_visit(world, case, placement)
    services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
    report = services.file_visit_report(
        visit=visit,
        findings="家中无人，邻居称已搬走",
        visited_at=visited_at or at(14),
        photos=[],
        visited_by=world.people["x_collector"].user,
        agency=world.orgs["xagency"],
        now=at(18, day=NEXT_DAY),
        window_justification=justification,
    )
    return case, placement, report


@pytest.mark.django_db
def test_a_reported_visit_earns_the_agreed_fee_once_with_its_ledger_entry(world):
    with in_acme(world):
        # 07:30 on 3 June in Beijing is 23:30 on 2 June in UTC (outside the window: the report says why).
        early = at(7, 30, day=NEXT_DAY)
        case, placement, report = reported_visit(world, "FV-001", "150.00", visited_at=early, justification="债务人仅早晨在家")
        charge = FieldVisitCharge.objects.get(report=report)
        # Dated the visit in the lender's (China) time, not UTC's previous day.
        assert (charge.amount, charge.visited_on, charge.partner, charge.case) == (D("150.00"), NEXT_DAY, world.orgs["xagency"], case)
        assert field_visit_fees.charge_report(report) == charge  # again: the same charge
        assert FieldVisitCharge.objects.filter(report=report).count() == 1
        entry = LedgerTransaction.objects.get(kind=EntryKind.FIELD_VISIT, source_id=str(charge.pk))
        legs = {(leg.account, leg.amount, leg.counterparty_id, leg.case_id) for leg in LedgerLeg.objects.filter(transaction=entry)}
        assert legs == {
            (Account.FIELD_VISIT_COSTS, D("150.00"), world.orgs["xagency"].pk, case.pk),
            (Account.PARTNER_PAYABLE, D("-150.00"), world.orgs["xagency"].pk, case.pk),
        }


@pytest.mark.django_db
def test_an_agreement_without_a_visit_fee_charges_nothing(world):
    with in_acme(world):
        _case, _placement, report = reported_visit(world, "FV-002", "0")
        assert not FieldVisitCharge.objects.filter(report=report).exists()
        assert not LedgerTransaction.objects.filter(kind=EntryKind.FIELD_VISIT).exists()


@pytest.mark.django_db
def test_an_approved_visit_never_reported_earns_nothing(world):
    with in_acme(world):
        case, placement = make_case(world, "FV-003")
        with_fee(world, placement, "150.00")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        assert not FieldVisitCharge.objects.exists()


@pytest.mark.django_db
def test_a_charge_is_never_edited_or_deleted(world):
    with in_acme(world):
        _case, _placement, report = reported_visit(world, "FV-004")
        charge = FieldVisitCharge.objects.get(report=report)
        for statement in (
            lambda: FieldVisitCharge.objects.filter(pk=charge.pk).update(amount=D("1.00")),
            lambda: FieldVisitCharge.objects.filter(pk=charge.pk).update(visited_on=JUNE),
            lambda: FieldVisitCharge.objects.filter(pk=charge.pk).delete(),
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                statement()


# ----------------------------------------------------------------- the statement


@pytest.mark.django_db
def test_the_field_visit_statement_lists_the_charges_and_its_payment_clears_the_payable(world):
    with in_acme(world):
        case_a, _p, _r = reported_visit(world, "FV-010", "150.00")
        case_b, _p, _r = reported_visit(world, "FV-011", "80.50", visited_at=at(15))
        statement = fee_services.draft(kind="field_visit", partner=world.orgs["xagency"], period=JUNE, created_by=finance(world))
        assert statement.number.startswith("FV202506-")
        assert (statement.line_count, statement.base_total, statement.amount_total) == (2, D("0.00"), D("230.50"))
        rows = fee_services.kind_of(statement).rows(statement)
        assert [(row.case_ref, row.amount) for row in rows] == [("FV-010", D("150.00")), ("FV-011", D("80.50"))]
        assert sum(row.amount for row in rows) == statement.amount_total
        # The commission statement of the same month takes none of them.
        commission = fee_services.draft(kind="commission", partner=world.orgs["xagency"], period=JUNE, created_by=finance(world))
        assert not FieldVisitCharge.objects.filter(statement=commission).exists()

        statement = fee_services.send_for_review(statement=statement, sent_by=finance(world))
        statement = fee_services.approve(statement=statement, approved_by=finance(world))
        statement = fee_services.issue(statement=statement, issued_by=finance(world))
        fee_services.on_charge(Charge(reference=str(statement.pk), stripe_id="pi_fv"), outcome="succeeded")
        assert Statement.objects.get(pk=statement.pk).status == StatementStatus.PAID
        for case in (case_a, case_b):  # what the lender owed X for the case's visit is paid: nothing left owing
            owed = LedgerLeg.objects.filter(case=case, account=Account.PARTNER_PAYABLE).aggregate(s=Sum("amount"))["s"]
            assert owed == D("0.00")


# ----------------------------------------------------------------- the pages


@pytest.mark.django_db
def test_a_manager_sets_the_fee_per_visit_on_the_agreement(world, client_for):
    from tests.outsourcing.test_outsourcing_pages import terms_form

    client = client_for("acme_manager", host="acme")
    agreement = world.outsourcing["agreement"]
    url = f"/outsourcing/agreements/{agreement.pk}/"
    refused = client.post(url, terms_form(field_visit_fee="-5"))
    assert refused.status_code == 200 and "Ensure this value is greater than or equal to 0" in refused.content.decode()
    assert client.post(url, terms_form(field_visit_fee="150", note="外访费每次150元")).status_code == 302
    with in_acme(world):
        assert agreement.versions.order_by("-number").first().field_visit_fee == D("150.00")
    assert "¥150.00 per reported visit" in client.get(url).content.decode()


@pytest.mark.django_db
def test_finance_drafts_the_field_visit_statement_from_the_statements_page(world, client_for):
    with in_acme(world):
        reported_visit(world, "FV-020", "150.00")
    client = client_for("acme_finance", host="acme")
    assert "Field-visit fee statement" in client.get("/fees/").content.decode()  # offered in the draft form
    body = {"partner": str(world.orgs["xagency"].pk), "month": "2025-06", "kind": "field_visit"}
    response = client.post("/fees/draft/", body)
    assert response.status_code == 302
    with in_acme(world):
        statement = Statement.objects.get(kind="field_visit", partner=world.orgs["xagency"])
    page = client.get(response["Location"]).content.decode()
    assert statement.number in page and "FV-020" in page and "¥150.00" in page and "Reported deceased" in page
    # A law firm cannot receive an agency's field-visit statement: refused with the reason, nothing drafted.
    refused = client.post("/fees/draft/", body | {"partner": str(world.orgs["lfirm"].pk)}, follow=True)
    assert "cannot receive a Field-visit fee statement" in refused.content.decode()
    with in_acme(world):
        assert not Statement.objects.filter(kind="field_visit", partner=world.orgs["lfirm"]).exists()
