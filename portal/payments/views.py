"""Payments pages on a lender's host (/payments/): the lender's finance records and imports
payments, matches partners' reports and decides disputes; a partner reports payments, sees its own
payment lines and reports, and disputes them. Thin: every rule is in services / importing."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import access, errors
from portal.audit.log import Action, record
from portal.jobs.services import start_job
from portal.lib import uploads
from portal.lib.downloads import attachment
from portal.lib.keyset import paginate
from portal.lib.spreadsheet import csv_bytes
from tenants.models import Organisation

from . import hooks, importing, ledger, services
from .forms import CommentForm, DecisionForm, DisputeForm, PaymentFileForm, PaymentForm, ReportForm, ReversalForm
from .job_handlers import JOB_KIND
from .models import DISPUTE_DECISION_DAYS, DisputeStatus, Payment, PaymentReversal, PaymentSource, ReportStatus
from .visibility import (
    PARTNER_RECEIVED,
    dispute_rights,
    filter_reports,
    report_status_label,
    report_statuses,
    sees_report_match,
    visible_disputes,
    visible_payments,
    visible_reports,
)

PAGE_SIZE = 50
UPLOAD_SESSION_KEY = "payment-upload"


def _render(request, template, context):
    """Every payments page shows the same sub-navigation, with the recording actions for those who may record."""
    principal = request.principal
    context.setdefault("can_record", principal.is_lender_staff and access.can(principal, "payment.record"))
    return render(request, template, context)


def _get_or_404(request, queryset, pk, object_type):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise access.not_found(request, object_type, pk)
    return obj


def _case_for(request, contract_no):
    """The case with this contract no., if the principal may see it."""
    return access.visible_cases(request.principal).filter(contract_no=contract_no.strip()).first()


# ------------------------------------------------------------------ payments


def payment_list(request):
    access.require(request, "payment.view")
    principal = request.principal
    filters, problems = ledger.parse_filters(request.GET)
    for problem in problems:
        messages.warning(request, problem)
    payments = ledger.apply(visible_payments(principal).select_related("case", "reversal"), filters)
    page = paginate(payments, time_field="recorded_at", cursor=request.GET.get("after"), size=PAGE_SIZE)
    notes = hooks.annotations([p.pk for p in page.rows])
    rows = [(payment, notes.get(payment.pk, {}) | {"reversed": hasattr(payment, "reversal")}) for payment in page.rows]
    context = {
        "rows": rows,
        "page": page,
        "filters": filters,
        "query": urlencode(filters.as_query()),
        "is_lender": principal.is_lender_staff,
        "states": [("", _("All")), (ledger.STANDING, _("Not reversed")), (ledger.REVERSED, _("Reversed"))],
        "pending_reports": (
            visible_reports(principal).filter(status=ReportStatus.PENDING)
            if sees_report_match(principal)
            else filter_reports(visible_reports(principal), principal, PARTNER_RECEIVED)
        ).count(),
        "show_match": sees_report_match(principal),
        "open_disputes": visible_disputes(principal).filter(status=DisputeStatus.OPEN).count(),
    }
    return _render(request, "payments/payment_list.html", context)


def payment_export(request):
    """The filtered ledger as CSV (at most ledger.EXPORT_LIMIT rows); every export is audited."""
    access.require(request, "payment.view")
    principal = request.principal
    filters, _problems = ledger.parse_filters(request.GET)
    payments = ledger.apply(visible_payments(principal), filters)
    found = payments.count()
    if found > ledger.EXPORT_LIMIT:
        messages.error(
            request,
            _("%(count)s payments match; one file holds at most %(limit)s. Narrow the dates and export in parts.")
            % {"count": f"{found:,}", "limit": f"{ledger.EXPORT_LIMIT:,}"},
        )
        query = urlencode(filters.as_query())
        return redirect(reverse("payment-list") + (f"?{query}" if query else ""))
    table = list(ledger.rows(payments, partner=not principal.is_lender_staff))
    content = csv_bytes(table)
    record(Action.EXPORT, request=request, object_type="payments.ledger", object_id="csv", filters=filters.as_query(), rows=len(table) - 1)
    return attachment(content, f"payments-{timezone.localdate():%Y%m%d}.csv", "text/csv; charset=utf-8")


def payment_record(request):
    access.require(request, "payment.record", lender_only=True)
    form = PaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        case = _case_for(request, data["contract_no"])
        if case is None:
            form.add_error("contract_no", _("No case has this contract no."))
        else:
            try:
                payment, created = services.record_payment(
                    case=case,
                    amount=data["amount"],
                    paid_on=data["paid_on"],
                    reference=data["reference"],
                    source=PaymentSource.MANUAL,
                    recorded_by=request.user,
                    note=data["note"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if created:
                    messages.success(request, _("Payment %(reference)s recorded.") % {"reference": payment.reference})
                else:
                    messages.info(
                        request, _("Payment %(reference)s was already recorded; nothing changed.") % {"reference": payment.reference}
                    )
                return redirect("payment-detail", payment_id=payment.pk)
    return _render(request, "payments/payment_form.html", {"form": form})


def payment_detail(request, payment_id):
    access.require(request, "payment.view")
    principal = request.principal
    payment = _get_or_404(request, visible_payments(principal).select_related("case", "recorded_by"), payment_id, "payments.payment")
    note = hooks.annotations([payment.pk]).get(payment.pk, {})
    disputes = visible_disputes(principal).filter(payment=payment).prefetch_related("events__actor")
    reversal = PaymentReversal.objects.filter(payment=payment).select_related("reversed_by").first()
    can_reverse = reversal is None and principal.is_lender_staff and access.can(principal, "payment.reverse")
    context = {
        "payment": payment,
        "note": note,
        "disputes": disputes,
        "is_lender": principal.is_lender_staff,
        "reversal": reversal,
        # Which report matched this payment is the lender's knowledge (access: report.view_match).
        "reports": visible_reports(principal).filter(matched_payment=payment) if sees_report_match(principal) else [],
        "dispute_form": DisputeForm() if access.can(principal, "dispute.raise") else None,
        "can_dispute": access.can(principal, "dispute.raise") and (not principal.is_lender_staff or note.get("partner_id")),
        "reversal_form": ReversalForm(initial={"reversed_on": timezone.localdate()}) if can_reverse else None,
    }
    return _render(request, "payments/payment_detail.html", context)


@require_POST
def payment_reverse(request, payment_id):
    """Reverse (冲正) a payment: lender finance only, with a reason; the case and the agency's statement follow."""
    access.require(request, "payment.reverse", lender_only=True)
    payment = _get_or_404(request, visible_payments(request.principal), payment_id, "payments.payment")
    form = ReversalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why the payment is reversed, the date, and explain it."))
        return redirect("payment-detail", payment_id=payment.pk)
    try:
        services.reverse_payment(
            payment=payment,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            reversed_on=form.cleaned_data["reversed_on"],
            reversed_by=request.user,
            request=request,
        )
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("payment-detail", payment_id=payment.pk)
    messages.success(request, _("Payment %(reference)s reversed.") % {"reference": payment.reference})
    return redirect("payment-detail", payment_id=payment.pk)


@require_POST
def payment_dispute(request, payment_id):
    access.require(request, "dispute.raise")
    principal = request.principal
    payment = _get_or_404(request, visible_payments(principal), payment_id, "payments.payment")
    form = DisputeForm(request.POST)
    if principal.is_lender_staff:
        partner_id = hooks.annotations([payment.pk]).get(payment.pk, {}).get("partner_id")
        if partner_id is None:
            messages.error(request, _("No agency earned anything on this payment; there is no one to dispute it with."))
            return redirect("payment-detail", payment_id=payment.pk)
        partner = Organisation.objects.get(pk=partner_id)
    else:
        partner = principal.organisation
    if not form.is_valid():
        messages.error(request, _("Choose what is wrong and explain it."))
        return redirect("payment-detail", payment_id=payment.pk)
    try:
        dispute = services.open_dispute(
            payment=payment,
            partner=partner,
            raised_by_org=principal.organisation,
            raised_by=request.user,
            reason=form.cleaned_data["reason"],
            text=form.cleaned_data["text"],
        )
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("payment-detail", payment_id=payment.pk)
    messages.success(request, _("Dispute opened."))
    return redirect("dispute-detail", dispute_id=dispute.pk)


# ------------------------------------------------------------------ import


def _file_too_large(request, max_bytes):
    messages.error(request, uploads.too_large_message(max_bytes))
    return redirect("payment-import")


@uploads.capped_upload(importing.MAX_BYTES, refused=_file_too_large)  # refused while streaming, before it is written
def payment_import(request):
    access.require(request, "payment.record", lender_only=True)
    form = PaymentFileForm(request.POST or None, request.FILES or None)
    result = None
    if getattr(request, "upload_too_large", None):
        form.add_error("file", uploads.too_large_message(request.upload_too_large))
    elif request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read(importing.MAX_BYTES + 1)
        result = importing.check_and_record(content, commit=False)
        _discard_upload(request)  # only the last checked file waits to be recorded
        if not result.file_error and result.valid:
            name = importing.keep_checked_file(content)  # sealed with the field keys until recorded (or swept)
            request.session[UPLOAD_SESSION_KEY] = {"name": name, "filename": form.cleaned_data["file"].name[:200]}
    return _render(
        request,
        "payments/payment_import.html",
        {"form": form, "result": result, "upload": request.session.get(UPLOAD_SESSION_KEY) if result else None},
    )


def _discard_upload(request):
    upload = request.session.pop(UPLOAD_SESSION_KEY, None)
    if upload:
        importing.discard_checked_file(upload["name"])


@require_POST
def payment_import_commit(request):
    """Record the checked file in the background: the job page shows the progress."""
    access.require(request, "payment.record", lender_only=True)
    upload = request.session.pop(UPLOAD_SESSION_KEY, None)
    if not upload or not default_storage.exists(upload["name"]):
        messages.error(request, _("Upload the file again: the checked file is no longer here."))
        return redirect("payment-import")
    job = start_job(
        kind=JOB_KIND,
        params={"upload": upload["name"], "filename": upload["filename"]},
        user=request.user,
        organisation=request.principal.organisation,
        key=f"payment-import:{upload['name']}",
    )
    return redirect("job-detail", job_id=job.pk)


def payment_template(request):
    access.require(request, "payment.record", lender_only=True)
    return attachment(importing.template_csv(), "payments-template.csv", "text/csv; charset=utf-8")


# ------------------------------------------------------------------ partner reports


def report_list(request):
    principal = request.principal
    if not access.can(principal, "payment.report"):  # agency staff report; lender and agency admins review
        access.require(request, "payment.view")
    show_match = sees_report_match(principal)
    reports = visible_reports(principal).select_related("case", "organisation", "reported_by")
    if show_match:
        reports = reports.select_related("matched_payment__reversal")
    status = request.GET.get("status", ReportStatus.PENDING if principal.is_lender_staff else "")
    reports = filter_reports(reports, principal, status)
    form = None
    if access.can(principal, "payment.report") and principal.is_partner:
        form = ReportForm(request.POST or None, initial={"contract_no": request.GET.get("contract_no", "")[:64]})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            case = _case_for(request, data["contract_no"])
            if case is None:
                form.add_error("contract_no", _("No case with this contract no. is placed with you."))
            else:
                try:
                    services.report_payment(
                        case=case,
                        organisation=principal.organisation,
                        amount=data["amount"],
                        paid_on=data["paid_on"],
                        reference=data["reference"],
                        note=data["note"],
                        reported_by=request.user,
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    # The same words whether or not it matched at once: the match is the lender's (report.view_match).
                    messages.success(request, _("Reported. The lender checks it against the money it receives."))
                    return redirect("payment-reports")
    is_lender = principal.is_lender_staff
    rows = list(reports[:200])
    candidates = services.match_candidates([r for r in rows if r.status == ReportStatus.PENDING]) if is_lender else {}
    context = {
        "rows": [(report, candidates.get(report.pk, []), report_status_label(principal, report)) for report in rows],
        "form": form,
        "status": status,
        "statuses": report_statuses(principal),
        "is_lender": is_lender,
        "show_match": show_match,
        "can_decide": is_lender and access.can(principal, "payment.record"),
    }
    return _render(request, "payments/report_list.html", context)


@require_POST
def report_match(request, report_id):
    access.require(request, "payment.record", lender_only=True)
    report = _get_or_404(request, visible_reports(request.principal), report_id, "payments.paymentreport")
    payment = Payment.objects.filter(pk=request.POST.get("payment"), case_id=report.case_id).first()
    if payment is None:
        messages.error(request, _("Choose one of the lender's payments on this case."))
    else:
        try:
            services.match_report(report=report, payment=payment, decided_by=request.user, request=request)
        except ValidationError as error:
            errors.to_messages(request, error)
        else:
            messages.success(request, _("Report matched to payment %(reference)s.") % {"reference": payment.reference})
    return redirect("payment-reports")


@require_POST
def report_reject(request, report_id):
    access.require(request, "payment.record", lender_only=True)
    report = _get_or_404(request, visible_reports(request.principal), report_id, "payments.paymentreport")
    try:
        services.reject_report(report=report, decided_by=request.user, note=request.POST.get("note", ""), request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(request, _("Report rejected."))
    return redirect("payment-reports")


@require_POST
def report_dispute(request, report_id):
    access.require(request, "dispute.raise")
    principal = request.principal
    report = _get_or_404(request, visible_reports(principal).select_related("organisation"), report_id, "payments.paymentreport")
    form = DisputeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what is wrong and explain it."))
        return redirect("payment-reports")
    try:
        dispute = services.open_dispute(
            report=report,
            partner=report.organisation,
            raised_by_org=principal.organisation,
            raised_by=request.user,
            reason=form.cleaned_data["reason"],
            text=form.cleaned_data["text"],
        )
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("payment-reports")
    return redirect("dispute-detail", dispute_id=dispute.pk)


# ------------------------------------------------------------------ disputes


def dispute_list(request):
    access.require(request, "payment.view")
    disputes = visible_disputes(request.principal).select_related("payment__case", "report__case", "partner", "raised_by_org")
    status = request.GET.get("status", DisputeStatus.OPEN)
    if status in DisputeStatus.values:
        disputes = disputes.filter(status=status)
    if status == DisputeStatus.OPEN:
        disputes = disputes.order_by("raised_at", "pk")  # the oldest, nearest its decision date, first
    return _render(
        request,
        "payments/dispute_list.html",
        {"disputes": disputes[:200], "status": status, "statuses": DisputeStatus.choices, "decision_days": DISPUTE_DECISION_DAYS},
    )


def dispute_detail(request, dispute_id):
    access.require(request, "payment.view")
    principal = request.principal
    dispute = _get_or_404(
        request,
        visible_disputes(principal).select_related("payment__case", "report__case", "partner", "raised_by_org"),
        dispute_id,
        "payments.dispute",
    )
    lender_org_id = request.tenant.organisation_id
    rights = dispute_rights(principal, dispute, lender_organisation_id=lender_org_id)
    if request.method == "POST":
        access.require(request, "dispute.raise")
        try:
            if request.POST.get("action") == "comment":
                form = CommentForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_("Write a comment."))
                services.comment_on_dispute(
                    dispute=dispute, actor=request.user, organisation=principal.organisation, text=form.cleaned_data["text"]
                )
            else:
                form = DecisionForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_("Choose a decision."))
                outcome = form.cleaned_data["outcome"]
                if not rights.may_close(outcome):
                    record(Action.ACCESS_DENIED, request=request, object_type="payments.dispute", object_id=str(dispute.pk))
                    raise PermissionDenied
                services.close_dispute(
                    dispute=dispute,
                    outcome=outcome,
                    actor=request.user,
                    organisation=principal.organisation,
                    lender_organisation_id=lender_org_id,
                    text=form.cleaned_data["text"],
                )
        except ValidationError as error:
            errors.to_messages(request, error)
        return redirect("dispute-detail", dispute_id=dispute.pk)
    context = {
        "dispute": dispute,
        "events": dispute.events.select_related("actor", "organisation"),
        "report_status": report_status_label(principal, dispute.report) if dispute.report_id else "",
        "may_decide": rights.decide and dispute.is_open,
        "may_withdraw": rights.withdraw and dispute.is_open,
        "may_comment": rights.comment and dispute.is_open,
        "comment_form": CommentForm(),
    }
    return _render(request, "payments/dispute_detail.html", context)
