"""Canaries for what a leak of money and contact data looks like: a distinctive amount, phone and bank reference.

``extend_world`` adds to acme one case that is never placed (so no partner may ever see it, and the
counts and lists of every partner stay as tests/world.py built them) whose balance is ¥987,654.32 and
whose debtor's mobile is 139 8765 4321, and one lender payment on it with a bank reference (流水号) of
its own. The payment is written directly, so no balance or limitation date of any other case moves.
The markers join world.canaries["acme"], so every isolation test searches for them too.
"""

import datetime
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

CASE_NO = "ACME-CANARY-005"
AMOUNT = Decimal("987654.32")
AMOUNT_MARKERS = ["987654.32", "987,654.32"]
MOBILE = "13987654321"
PHONE_MARKERS = [MOBILE, "139****4321", "02198765432"]
BANK_REFERENCE = "CNRY62220098765"  # a bank serial (流水号) that matches no other canary's pattern
PAYMENT_AMOUNT = Decimal("4321.09")
ID_NUMBER = "330106197607152839"  # valid GB 11643, used nowhere else


def extend_world(world):
    from portal.models import Case, Debtor
    from portal.payments.models import Payment, PaymentSource

    with tenant_context(world.lenders["acme"]):
        debtor = Debtor(name="己金丝雀", mobile=MOBILE, home_phone="02198765432", address="上海市徐汇区漕溪北路CANARY-ACME-ADDR")
        debtor.set_id_number(ID_NUMBER)
        debtor.save()
        case = Case.objects.create(
            debtor=debtor,
            contract_no=CASE_NO,
            product="随心贷",
            loan_amount=Decimal("1000000.00"),
            principal_due=AMOUNT,
            interest_due=Decimal("0.00"),
            overdue_since=timezone.localdate() - datetime.timedelta(days=30),
        )
        payment = Payment.objects.create(
            case=case,
            amount=PAYMENT_AMOUNT,
            paid_on=timezone.localdate(),
            reference=BANK_REFERENCE,
            source=PaymentSource.MANUAL,
            to_principal=PAYMENT_AMOUNT,
            recorded_by=world.people["acme_finance"].user,
        )
    world.cases["acme_money_canary"] = case
    world.canaries["acme"].extend(["己金丝雀", ID_NUMBER, BANK_REFERENCE, *AMOUNT_MARKERS, *PHONE_MARKERS])
    world.money_canary = {"case": case, "payment": payment}


def owner_kwargs(world):
    return {}
