"""Which payment lines, reports and disputes a principal may see: the lender's staff all of them;
a partner only its own lines (registered by the app that attributes payments), its own reports and
its own disputes. Contract numbers and amounts only: a partner's view of a line never carries the
debtor's data (that goes with the case, and disappears when the placement ends)."""
from portal.access import can

from . import hooks
from .models import Dispute, Payment, PaymentReport


def visible_payments(principal):
    if principal is None or not can(principal, "payment.view"):
        return Payment.objects.none()
    if principal.is_lender_staff:
        return Payment.objects.all()
    if not hooks.PARTNER_PAYMENT_SCOPES:
        return Payment.objects.none()
    condition = hooks.PARTNER_PAYMENT_SCOPES[0](principal)
    for scope in hooks.PARTNER_PAYMENT_SCOPES[1:]:
        condition |= scope(principal)
    return Payment.objects.filter(condition)


def visible_reports(principal):
    """Lender staff who see payments: every report. A partner: its organisation's reports (its admin)
    or the ones the person filed (a collector)."""
    if principal is None:
        return PaymentReport.objects.none()
    if principal.is_lender_staff:
        return PaymentReport.objects.all() if can(principal, "payment.view") else PaymentReport.objects.none()
    if can(principal, "payment.view"):
        return PaymentReport.objects.filter(organisation=principal.organisation)
    if can(principal, "payment.report"):
        return PaymentReport.objects.filter(organisation=principal.organisation, reported_by=principal.user)
    return PaymentReport.objects.none()


def visible_disputes(principal):
    if principal is None or not can(principal, "payment.view"):
        return Dispute.objects.none()
    if principal.is_lender_staff:
        return Dispute.objects.all()
    return Dispute.objects.filter(partner=principal.organisation)
