"""Payments' part of the isolation matrix: a committed lender payment on X's placement of
ACME-CANARY-002 (so it carries X's commission line), X's report of it, and X's dispute of the line.
The reference carries a canary of its own."""

from django.utils import timezone
from django_tenants.utils import tenant_context

PAYMENT_REFERENCE = "CANARY-ACME-PAY-0001"


def extend_world(world):
    from portal.payments import services
    from portal.payments.models import PaymentSource

    x = world.orgs["xagency"]
    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_unassigned"]
        today = timezone.localdate()
        report = services.report_payment(
            case=case, organisation=x, amount="88.00", paid_on=today, reference="CANARY-ACME-RCPT", reported_by=world.people["x_admin"].user
        )
        payment, _ = services.record_payment(
            case=case,
            amount="88.00",
            paid_on=today,
            reference=PAYMENT_REFERENCE,
            source=PaymentSource.MANUAL,
            recorded_by=world.people["acme_finance"].user,
        )
        dispute = services.open_dispute(
            payment=payment,
            partner=x,
            raised_by_org=x,
            raised_by=world.people["x_admin"].user,
            reason="commission",
            text="CANARY-ACME-DISPUTE 费率有误",
        )
    world.payments = {"payment": payment, "report": report, "dispute": dispute}


def owner_kwargs(world):
    return {
        "payment_id": world.payments["payment"].pk,
        "report_id": world.payments["report"].pk,
        "dispute_id": world.payments["dispute"].pk,
    }


# The action guarding each payments URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "payment-list": "payment.view",
    "payment-export": "payment.view",
    "payment-record": "payment.record",
    "payment-import": "payment.record",
    "payment-import-commit": "payment.record",
    "payment-template": "payment.record",
    "payment-reports": ("payment.report", "payment.view"),  # partners' staff file reports; the lender reviews them
    "payment-report-match": "payment.record",
    "payment-report-reject": "payment.record",
    "payment-report-dispute": "dispute.raise",
    "dispute-list": "payment.view",
    "dispute-detail": {"get": "payment.view", "post": "dispute.raise"},
    "payment-api": "payment.record",
    "payment-api-reversal": "payment.reverse",
    "payment-detail": "payment.view",
    "payment-dispute": "dispute.raise",
    "payment-reverse": "payment.reverse",
}


def post_bodies(world):
    """Bodies for the POST-only URLs whose form the world's state does not show on any page (tests/isolation_support.py)."""
    return {
        "payment-report-match": {"payment": str(world.payments["payment"].pk)},
        "payment-report-reject": {"note": "isolation matrix: not our money"},
        "payment-report-dispute": {"reason": "commission", "text": "isolation matrix: the rate is wrong"},
        "payment-import-commit": {"confirm": "1"},
    }
