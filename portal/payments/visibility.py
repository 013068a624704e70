"""Which payment lines, reports and disputes a principal may see: the lender's staff all of them;
a partner only its own lines (registered by the app that attributes payments), its own reports and
its own disputes. Contract numbers and amounts only: a partner's view of a line never carries the
debtor's data (that goes with the case, and disappears when the placement ends)."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from portal.access import can

from . import hooks
from .models import Dispute, DisputeStatus, Payment, PaymentReport, ReportStatus


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


@dataclass(frozen=True)
class DisputeRights:
    """What a principal may do on one dispute it can see (the dispute page asks here, and only here)."""

    decide: bool  # uphold or reject: the lender, whose money record is disputed, by its finance (payment.record)
    withdraw: bool  # only the organisation that raised the dispute takes it back
    comment: bool  # both sides argue their case, with dispute.raise

    def may_close(self, outcome: str) -> bool:
        return self.withdraw if outcome == DisputeStatus.WITHDRAWN else self.decide


def dispute_rights(principal, dispute: Dispute, *, lender_organisation_id) -> DisputeRights:
    """The rights of ``principal`` on ``dispute`` in the lender whose organisation is ``lender_organisation_id``.
    A closed dispute accepts nothing more (the services refuse it too); ``may_close`` answers for the role alone."""
    if principal is None:
        return DisputeRights(decide=False, withdraw=False, comment=False)
    return DisputeRights(
        decide=principal.organisation.pk == lender_organisation_id and can(principal, "payment.record"),
        withdraw=principal.organisation.pk == dispute.raised_by_org_id and can(principal, "dispute.raise"),
        comment=can(principal, "dispute.raise"),
    )


# ------------------------------------------------------------------ what a partner learns of its reports
# A partner's report is a claim; whether it matched the lender's money (and which payment) is the lender's
# record, not the partner's (PIPL art. 6): otherwise a report becomes a way to ask "did the debtor pay you
# this?". A partner sees its report received, or rejected with the lender's reason (so that it can dispute).
PARTNER_RECEIVED = "received"
PARTNER_REPORT_STATUSES = [(PARTNER_RECEIVED, _("Received, awaiting the lender")), (ReportStatus.REJECTED, _("Rejected"))]


def sees_report_match(principal) -> bool:
    return can(principal, "report.view_match")


def report_statuses(principal):
    """The statuses this principal may filter reports by, as (value, label)."""
    return list(ReportStatus.choices) if sees_report_match(principal) else list(PARTNER_REPORT_STATUSES)


def filter_reports(reports, principal, status):
    """Reports with the status chosen among report_statuses(principal); anything else: all of them."""
    if sees_report_match(principal):
        return reports.filter(status=status) if status in ReportStatus.values else reports
    if status == PARTNER_RECEIVED:
        return reports.exclude(status=ReportStatus.REJECTED)
    if status == ReportStatus.REJECTED:
        return reports.filter(status=ReportStatus.REJECTED)
    return reports


def report_status_label(principal, report):
    """The report's status in this principal's words: matched and pending are one status to a partner."""
    if sees_report_match(principal) or report.status == ReportStatus.REJECTED:
        return report.get_status_display()
    return PARTNER_REPORT_STATUSES[0][1]
