"""Commission statements' part of the isolation matrix (their pages are portal.fees', tests/matrix_fees.py).

``extend_world`` gives acme a committed draft statement for agency X holding one line: a payment
on X's placement of ACME-CANARY-001, dated today. The payment and the line are written directly
(not through payments.services.record_payment), so the case's balances, limitation date and
promise evaluations stay as tests/world.py and matrix_workbench left them. The payment reference
carries a canary of its own, so a statement leaking into another lender's or an unengaged agency's
response is caught.
"""

from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

REFERENCE_CANARY = "CANARY-ACME-STMT-PAY-001"


def extend_world(world):
    from outsourcing import commissions, statements
    from outsourcing.models import CommissionLine, Placement, PlacementStatus
    from portal.payments.models import Payment, PaymentSource

    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_placed"]
        placed = Placement.objects.get(case=case, status=PlacementStatus.ACTIVE)
        today = timezone.localdate()
        amount, rate = Decimal("1200.00"), Decimal("0.1500")
        payment = Payment.objects.create(
            case=case,
            amount=amount,
            paid_on=today,
            reference=REFERENCE_CANARY,
            source=PaymentSource.MANUAL,
            to_principal=amount,
            recorded_by=world.people["acme_finance"].user,
        )
        CommissionLine.objects.create(
            payment=payment,
            placement=placed,
            partner=placed.partner,
            case=case,
            paid_on=today,
            bucket=placed.bucket,
            round=placed.round,
            recovered=amount,
            rate=rate,
            commission=commissions.commission_for(amount, rate),
        )
        statement = statements.draft_statement(partner=world.orgs["xagency"], period=today, created_by=world.people["acme_finance"].user)
    world.canaries["acme"].append(REFERENCE_CANARY)
    world.statements = {"acme_x": statement, "payment": payment}


def owner_kwargs(world):
    return {"statement_id": world.statements["acme_x"].pk}


# The statement URLs live in portal.fees now (tests/matrix_fees.py declares them); the old list address
# /outsourcing/statements/ redirects there, for the same readers.
URL_ACTIONS = {"statement-list": ("statement.view", "statement.review")}
