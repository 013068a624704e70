"""Shared by the statement tests: months long over, placed cases, payments that earn commission lines, a charge."""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from outsourcing.models import CommissionLine
from portal.fees import services
from tests.factories import CaseFactory, PaymentFactory, finance, place

SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_start(months_back: int) -> datetime.date:
    first = timezone.localdate().replace(day=1)
    for _ in range(months_back):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first


# Months of their own (tests/outsourcing/test_statements.py works in the two before the current one; the matrix's
# review statement of agency Y sits 13 months back): everything here is rolled back anyway.
M4, M3 = month_start(4), month_start(3)


def day(first: datetime.date, n: int) -> datetime.date:
    return first.replace(day=n)


def moment(on: datetime.date, hour=9) -> datetime.datetime:
    return datetime.datetime.combine(on, datetime.time(hour), tzinfo=SHANGHAI)


def placed(world, n=1, *, agency="xagency", prefix="FEE", principal="5000.00", period=M4):
    cases = CaseFactory.create_batch(n, prefix=prefix, dpd=150, principal_due=principal)
    place(world, cases, agency=agency, now=moment(period, 8))
    return cases


def pay(case, amount, on, reference) -> CommissionLine:
    return CommissionLine.objects.get(payment=PaymentFactory(case=case, amount=amount, paid_on=on, reference=reference))


def draft(world, period=M4, agency="xagency"):
    return services.draft(kind="commission", partner=world.orgs[agency], period=period, created_by=finance(world))


def in_review(world, period=M4, agency="xagency"):
    return services.send_for_review(statement=draft(world, period, agency), sent_by=finance(world))


def issued(world, period=M4, agency="xagency"):
    statement = services.approve(statement=in_review(world, period, agency), approved_by=finance(world))
    return services.issue(statement=statement, issued_by=finance(world))


@dataclass
class Charge:
    """What billing hands the charge handler: its purpose, its reference (the statement's id) and Stripe's facts."""

    reference: str
    stripe_id: str = "pi_test_1"
    purpose: str = "statement"
    failure_message: str = ""


def direct_line(world, *, agency: str, case_key: str, paid_on, amount: str, reference: str, rate="0.1000") -> CommissionLine:
    """A payment and its commission line written directly on the agency's placement of a world case (as
    tests/matrix_statements.py does): for an agency acme has no agreement with to place new cases (Y)."""
    from decimal import Decimal

    from outsourcing.commissions import commission_for
    from outsourcing.models import Placement
    from portal.payments.models import Payment, PaymentSource

    case = world.cases[case_key]
    placement = Placement.objects.filter(case=case, partner=world.orgs[agency]).order_by("starts_at").first()
    money, fraction = Decimal(amount), Decimal(rate)
    payment = Payment.objects.create(
        case=case, amount=money, paid_on=paid_on, reference=reference, source=PaymentSource.MANUAL, to_principal=money
    )
    return CommissionLine.objects.create(
        payment=payment,
        placement=placement,
        partner=placement.partner,
        case=case,
        paid_on=paid_on,
        bucket=placement.bucket,
        round=placement.round,
        recovered=money,
        rate=fraction,
        commission=commission_for(money, fraction),
    )
