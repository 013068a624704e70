"""Payments (还款): posting, idempotency, partner reports and matching, disputes; and what outsourcing
does with a payment: the commission line of the placement in force on the payment's date, and the
promises to pay evaluated again."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from outsourcing import placement
from outsourcing.models import CommissionLine
from portal.models import BalanceSnapshot, Case, CaseStatus, LimitationEvent
from portal.payments import services
from portal.payments.models import DisputeStatus, Payment, PaymentSource, ReportStatus
from portal.payments.posting import Balances, allocate
from tests.factories import CaseFactory, PaymentFactory, finance, place

pytestmark = pytest.mark.django_db
D = Decimal


def test_allocation_follows_the_statutory_order_and_keeps_the_overpayment():
    split, left = allocate("500.00", Balances(principal=D("1000"), interest=D("100"), penalty=D("50"), fees=D("20")))
    assert (split.to_fees, split.to_penalty, split.to_interest, split.to_principal, split.unapplied) == (
        D("20"),
        D("50"),
        D("100"),
        D("330"),
        D("0"),
    )
    assert left == Balances(principal=D("670.00"), interest=D("0"), penalty=D("0"), fees=D("0"))
    split, left = allocate("10.005", Balances(principal=D("5"), interest=D("0"), penalty=D("0"), fees=D("0")))
    assert split.to_principal == D("5.00") and split.unapplied == D("5.01")  # half up to the fen
    with pytest.raises(ValueError):
        allocate("0", Balances(principal=D("1"), interest=D("0"), penalty=D("0"), fees=D("0")))


def test_a_payment_posts_to_the_balances_history_and_limitation(acme):
    case = CaseFactory(principal_due="1000.00")
    Case.objects.filter(pk=case.pk).update(interest_due=D("100.00"))
    today = timezone.localdate()
    payment, created = services.record_payment(case=case, amount="300.00", paid_on=today, reference="BANK-1", source=PaymentSource.MANUAL)
    assert created
    case.refresh_from_db()
    assert (payment.to_interest, payment.to_principal) == (D("100.00"), D("200.00"))
    assert case.principal_due == D("800.00") and case.interest_due == 0 and case.last_payment_on == today
    assert BalanceSnapshot.objects.filter(case=case, source=f"payment:{payment.pk}", principal_due=D("800.00")).exists()
    assert LimitationEvent.objects.filter(case=case, kind="partial_payment", occurred_on=today).exists()
    assert case.limitation_expires_on == today.replace(year=today.year + 3)


def test_the_same_reference_records_once_and_a_conflicting_one_is_refused(acme):
    case, other = CaseFactory.create_batch(2)
    today = timezone.localdate()
    first, created = services.record_payment(case=case, amount="100.00", paid_on=today, reference="BANK-2", source=PaymentSource.MANUAL)
    again, created_again = services.record_payment(
        case=case, amount="100.00", paid_on=today, reference="BANK-2", source=PaymentSource.MANUAL
    )
    assert created and not created_again and again.pk == first.pk
    assert Payment.objects.filter(reference="BANK-2").count() == 1
    with pytest.raises(ValidationError) as excinfo:
        services.record_payment(case=other, amount="100.00", paid_on=today, reference="BANK-2", source=PaymentSource.MANUAL)
    assert excinfo.value.code == "reference_taken"
    case.refresh_from_db()
    assert case.principal_due == D("900.00")  # posted once


@pytest.mark.parametrize("amount, day_offset, code", [("0", 0, "amount"), ("-5", 0, "amount"), ("abc", 0, "amount"), ("10", 1, "future")])
def test_bad_payments_are_refused_and_leave_nothing(acme, amount, day_offset, code):
    case = CaseFactory()
    with pytest.raises(ValidationError) as excinfo:
        services.record_payment(
            case=case,
            amount=amount,
            paid_on=timezone.localdate() + datetime.timedelta(days=day_offset),
            reference="BAD-1",
            source=PaymentSource.MANUAL,
        )
    assert excinfo.value.code == code
    assert not Payment.objects.filter(case=case).exists()


def test_paying_everything_settles_the_case(acme):
    case = CaseFactory(principal_due="50.00")
    PaymentFactory(case=case, amount="50.00", paid_on=timezone.localdate(), reference="BANK-3")
    case.refresh_from_db()
    assert case.status == CaseStatus.SETTLED and case.balance == 0


def test_the_database_refuses_changes_to_a_payment(acme):
    case = CaseFactory()
    payment = PaymentFactory(case=case, amount="10.00", paid_on=timezone.localdate(), reference="BANK-4")
    with pytest.raises(DatabaseError), transaction.atomic():  # the append-only trigger
        Payment.objects.filter(pk=payment.pk).update(amount=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            case=case, amount=D("5.00"), paid_on=timezone.localdate(), reference="X", source="manual", to_principal=D("4.00")
        )


# ------------------------------------------------------------------ commission attribution


def test_a_payment_inside_the_term_earns_the_agency_its_commission(acme):
    world = acme
    case = CaseFactory(dpd=45, principal_due="5000.00")  # M2, round 1 → 16% in the test schedule
    p = place(world, [case])[0]
    payment = PaymentFactory(case=case, amount="3000.00", paid_on=timezone.localdate(), reference="BANK-5")  # paid straight to the lender
    line = CommissionLine.objects.get(payment=payment)
    assert line.placement == p and line.partner_id == world.orgs["xagency"].pk
    assert (line.bucket, line.round, line.rate, line.commission) == ("M2", 1, D("0.1600"), D("480.00"))


def test_no_commission_after_recall_or_before_placement(acme):
    world = acme
    case = CaseFactory(dpd=45)
    now = timezone.now()
    p = place(world, [case], now=now - datetime.timedelta(days=10))[0]
    placement.recall_placements(
        placements=[p], by=world.people["acme_manager"].user, reason="测试撤案", now=now - datetime.timedelta(days=5)
    )
    today = timezone.localdate()
    late = PaymentFactory(case=case, amount="100.00", paid_on=today, reference="BANK-6")
    early = PaymentFactory(case=case, amount="100.00", paid_on=today - datetime.timedelta(days=20), reference="BANK-7")
    inside = PaymentFactory(
        case=case, amount="100.00", paid_on=today - datetime.timedelta(days=7), reference="BANK-8"
    )  # recorded after recall, dated in the term
    assert not CommissionLine.objects.filter(payment__in=[late, early]).exists()
    assert CommissionLine.objects.get(payment=inside).placement == p


def test_attribution_is_written_once(acme):
    from outsourcing import commissions

    world = acme
    case = CaseFactory()
    place(world, [case])
    payment = PaymentFactory(case=case, amount="100.00", paid_on=timezone.localdate(), reference="BANK-9")
    assert commissions.attribute(payment=payment) == CommissionLine.objects.get(payment=payment)
    assert CommissionLine.objects.filter(payment=payment).count() == 1


def test_a_payment_keeps_the_promise(acme):
    from outsourcing.workbench.models import PromiseStatus, PromiseToPay
    from tests.matrix_workbench import make_case

    world = acme
    case, p = make_case(world, "PTP-PAY-1")
    promise = PromiseToPay.objects.filter(case=case).first()
    if promise is None:
        from outsourcing.workbench.models import ContactAttempt

        today = timezone.localdate()
        attempt = ContactAttempt.objects.create(
            case=case,
            debtor=case.debtor,
            placement=p,
            organisation=world.orgs["xagency"],
            channel="phone",
            started_at=timezone.now(),
            ended_at=timezone.now(),
            outcome="promise_to_pay",
            party_reached="debtor",
            identity_verified=True,
            identity_method="id_last4",
            debtor_local_date=today,
        )
        promise = PromiseToPay.objects.create(
            case=case, placement=p, attempt=attempt, amount=D("3000.00"), promised_on=today, due_on=today + datetime.timedelta(days=3)
        )
    PaymentFactory(case=case, amount=str(promise.amount), paid_on=promise.promised_on, reference="BANK-PTP-1")
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT and promise.paid_amount == promise.amount


# ------------------------------------------------------------------ partner reports


def test_an_agency_report_waits_for_the_lender_and_then_matches(acme):
    world = acme
    case = CaseFactory()
    place(world, [case])
    today = timezone.localdate()
    report = services.report_payment(
        case=case,
        organisation=world.orgs["xagency"],
        amount="200.00",
        paid_on=today - datetime.timedelta(days=1),
        reference="RCPT-1",
        reported_by=world.people["x_admin"].user,
    )
    assert report.status == ReportStatus.PENDING
    case.refresh_from_db()
    assert case.principal_due == D("1000.00")  # a report never moves a balance
    payment = PaymentFactory(case=case, amount="200.00", paid_on=today, reference="BANK-10")
    report.refresh_from_db()
    assert report.status == ReportStatus.MATCHED and report.matched_payment == payment
    with pytest.raises(ValidationError):
        services.report_payment(case=case, organisation=world.orgs["xagency"], amount="200.00", paid_on=today - datetime.timedelta(days=1))


def test_a_report_after_the_lender_recorded_matches_at_once_and_reject_needs_a_reason(acme):
    world = acme
    case = CaseFactory()
    today = timezone.localdate()
    payment = PaymentFactory(case=case, amount="70.00", paid_on=today, reference="BANK-11")
    report = services.report_payment(case=case, organisation=world.orgs["xagency"], amount="70.00", paid_on=today)
    assert report.status == ReportStatus.MATCHED and report.matched_payment == payment
    other = services.report_payment(case=case, organisation=world.orgs["xagency"], amount="80.00", paid_on=today)
    with pytest.raises(ValidationError):
        services.reject_report(report=other, decided_by=finance(world), note=" ")
    services.reject_report(report=other, decided_by=finance(world), note="未收到该笔款项")
    other.refresh_from_db()
    assert other.status == ReportStatus.REJECTED


# ------------------------------------------------------------------ disputes


def test_a_dispute_has_a_status_and_a_history_only_the_lender_decides(acme):
    world = acme
    case = CaseFactory()
    place(world, [case])
    payment = PaymentFactory(case=case, amount="100.00", paid_on=timezone.localdate(), reference="BANK-12")
    x, acme_org = world.orgs["xagency"], world.lenders["acme"].organisation
    dispute = services.open_dispute(
        payment=payment, partner=x, raised_by_org=x, raised_by=world.people["x_admin"].user, reason="commission", text="费率应为M3"
    )
    with pytest.raises(ValidationError):
        services.open_dispute(payment=payment, partner=x, raised_by_org=x, raised_by=None, reason="commission", text="again")
    services.comment_on_dispute(dispute=dispute, actor=finance(world), organisation=acme_org, text="已核对")
    with pytest.raises(ValidationError):
        services.close_dispute(
            dispute=dispute,
            outcome=DisputeStatus.UPHELD,
            actor=world.people["x_admin"].user,
            organisation=x,
            lender_organisation_id=acme_org.pk,
            text="我们赢了",
        )
    services.close_dispute(
        dispute=dispute,
        outcome=DisputeStatus.DISMISSED,
        actor=finance(world),
        organisation=acme_org,
        lender_organisation_id=acme_org.pk,
        text="入账日期在委托期内，费率正确",
    )
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.DISMISSED
    assert [e.kind for e in dispute.events.all()] == ["opened", "comment", "dismissed"]
    with pytest.raises(ValidationError):
        services.comment_on_dispute(dispute=dispute, actor=None, organisation=x, text="late")


def test_the_daily_sweep_breaks_promises_whose_date_passed_without_payment(acme):
    from outsourcing.payments import evaluate_due_promises
    from outsourcing.workbench.models import ContactAttempt, PromiseStatus, PromiseToPay
    from tests.matrix_workbench import make_case

    world = acme
    case, p = make_case(world, "PTP-SWEEP-1")
    today = timezone.localdate()
    attempt = ContactAttempt.objects.create(
        case=case,
        debtor=case.debtor,
        placement=p,
        organisation=world.orgs["xagency"],
        channel="phone",
        started_at=timezone.now(),
        ended_at=timezone.now(),
        outcome="promise_to_pay",
        party_reached="debtor",
        identity_verified=True,
        identity_method="id_last4",
        debtor_local_date=today - datetime.timedelta(days=9),
    )
    promise = PromiseToPay.objects.create(
        case=case,
        placement=p,
        attempt=attempt,
        amount=D("500.00"),
        promised_on=today - datetime.timedelta(days=9),
        due_on=today - datetime.timedelta(days=2),
    )
    assert evaluate_due_promises(now=timezone.now()) >= 1
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.BROKEN
    assert evaluate_due_promises(now=timezone.now()) == 0  # idempotent
