"""Property (hypothesis, real PostgreSQL): for any payments and reversals on a law firm's matter, each payment's fee
lines sum to the success fee on the money it applies as it stands (zero once reversed), to the fen, and the ledger's
legal-fee accounts hold exactly the lines' sum, every entry balanced."""

from decimal import Decimal as D

from django.db import connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings, strategies as st

from litigation import escalation, fees
from litigation.models import LegalFeeLine
from portal.ledger.models import Account, LedgerLeg
from portal.payments import services as payment_services
from portal.payments.models import Payment
from tests.factories import CaseFactory, PaymentFactory, finance
from tests.litigation.support import fee_agreement, legal_manager


class Rollback(Exception):
    pass


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    principal=st.decimals(min_value=D("100.00"), max_value=D("20000.00"), places=2),
    interest=st.decimals(min_value=D("0.00"), max_value=D("3000.00"), places=2),
    percent=st.decimals(min_value=D("0.5"), max_value=D("30"), places=2),
    payments=st.lists(st.tuples(st.decimals(min_value=D("0.01"), max_value=D("9000.00"), places=2), st.booleans()), min_size=1, max_size=5),
)
def test_fee_lines_follow_the_money_applied_through_any_reversals(acme, principal, interest, percent, payments):
    try:
        with transaction.atomic():
            fee_agreement(acme, fixed="0.00", success=str(percent))
            case = CaseFactory(principal_due=principal, interest_due=interest)
            [matter] = escalation.escalate(cases=[case], firm=acme.orgs["lfirm"], by=legal_manager(acme), reason="拒不还款")
            recorded = [(PaymentFactory(case=case, amount=amount), reverse) for amount, reverse in payments]
            for payment, reverse in recorded:
                if reverse:
                    payment_services.reverse_payment(payment=payment, reason="error", note="误录", reversed_by=finance(acme))
            for payment in Payment.objects.filter(case=case).with_effective_split():
                lines = LegalFeeLine.objects.filter(payment=payment).aggregate(base=Sum("base"), amount=Sum("amount"))
                base, amount = lines["base"] or D("0.00"), lines["amount"] or D("0.00")
                if Payment.objects.filter(pk=payment.pk, reversal__isnull=False).exists():
                    assert (base, amount) == (D("0.00"), D("0.00"))
                else:
                    assert base == payment.applied
                    assert amount == fees.success_fee(payment.applied, percent)
            line_total = LegalFeeLine.objects.filter(matter=matter).aggregate(s=Sum("amount"))["s"] or D("0.00")
            legs = LedgerLeg.objects.filter(matter_id=matter.pk)
            assert (legs.filter(account=Account.LEGAL_FEE_SUCCESS).aggregate(s=Sum("amount"))["s"] or D("0.00")) == line_total
            assert (legs.filter(account=Account.PARTNER_PAYABLE).aggregate(s=Sum("amount"))["s"] or D("0.00")) == -line_total
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # every deferred balance check, as at COMMIT
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to deferred for the next example
            raise Rollback
    except Rollback:  # nothing kept between examples
        pass
