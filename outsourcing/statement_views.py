"""Commission statement (佣金结算单) pages and files on a lender's host.

Thin: ask portal.access, find the statement the principal may see, call one function of
statements.py (which owns the rules: what a draft takes, when approval is refused) or
statement_documents.py (the rows of the CSV, XLSX and PDF), render. The lender's staff with
``statement.view`` see every statement; an agency admin sees its own agency's, read-only; anyone
else's statement is a 404 (never confirm it exists), audited. Every download is audited.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_POST

from portal import access, errors
from portal.audit.log import Action, record
from portal.lib.downloads import attachment
from portal.lib.keyset import paginate
from portal.lib.months import parse_month, previous_month
from tenants.models import EngagementStatus, Organisation

from . import statement_documents, statements
from .forms import engaged_agencies, uuids
from .models import Statement, StatementStatus
from .views import _not_found

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class DraftForm(forms.Form):
    """Draft (or bring up to date) one agency's statement for one month."""

    partner = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=gettext_lazy("Agency"), empty_label=gettext_lazy("Choose an agency")
    )
    month = forms.DateField(
        label=gettext_lazy("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}),
        help_text=gettext_lazy("The statement takes every line paid up to the month's last day that no statement took yet."),
    )

    def __init__(self, *args, lender, **kwargs):
        super().__init__(*args, **kwargs)
        # Any agency the lender ever engaged: an ended or suspended engagement still has its last months to settle.
        self.fields["partner"].queryset = engaged_agencies(lender, statuses=EVERY_ENGAGEMENT)


EVERY_ENGAGEMENT = (EngagementStatus.ACTIVE, EngagementStatus.SUSPENDED, EngagementStatus.ENDED)


def _statements_for(principal):
    """Lender staff: every statement. An agency: its own agency's, whatever the status."""
    if principal.is_lender_staff:
        return Statement.objects.all()
    return Statement.objects.filter(partner=principal.organisation)


def _statement(request, statement_id):
    statement = (
        _statements_for(request.principal)
        .filter(pk=statement_id)
        .select_related("partner", "created_by", "approved_by", "issued_by")
        .first()
    )
    if statement is None:
        _not_found(request, "outsourcing.statement", statement_id)
    return statement


def _can_manage(principal):
    return access.can(principal, "statement.manage") and principal.is_lender_staff


# ----------------------------------------------------------------- pages


def statement_list(request):
    access.require(request, "statement.view")
    principal = request.principal
    listed = _statements_for(principal).select_related("partner")
    month = parse_month(request.GET.get("month"))
    status = request.GET.get("status", "")
    partner_id = (uuids([request.GET.get("partner", "")]) or [None])[0]
    if month:
        listed = listed.filter(period=month)
    if status in StatementStatus.values:
        listed = listed.filter(status=status)
    if partner_id and principal.is_lender_staff:
        listed = listed.filter(partner_id=partner_id)
    page = paginate(listed, time_field="created_at", cursor=request.GET.get("cursor"), size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "page": page,
        "month": request.GET.get("month", "") if month else "",
        "status": status,
        "partner_id": partner_id,
        "statuses": StatementStatus.choices,
        "filter_query": query.urlencode(),
        "can_manage": _can_manage(principal),
        "filtered": bool(month or status in StatementStatus.values or partner_id),
    }
    if principal.is_lender_staff:
        context["partners"] = engaged_agencies(request.tenant, statuses=EVERY_ENGAGEMENT)
    if context["can_manage"]:
        context["draft_form"] = DraftForm(lender=request.tenant, initial={"month": previous_month(timezone.localdate())})
    return render(request, "outsourcing/statement_list.html", context)


@require_POST
def statement_draft(request):
    access.require(request, "statement.manage", lender_only=True)
    form = DraftForm(request.POST, lender=request.tenant)
    if not form.is_valid():
        for field_errors in form.errors.values():
            messages.error(request, field_errors[0])
        return redirect("outsourcing:statement-list")
    try:
        statement = statements.draft_statement(
            partner=form.cleaned_data["partner"], period=form.cleaned_data["month"], created_by=request.user, request=request
        )
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("outsourcing:statement-list")
    messages.success(
        request, _("Draft %(number)s is up to date: %(count)s line(s).") % {"number": statement.number, "count": statement.line_count}
    )
    return redirect("outsourcing:statement-detail", statement_id=statement.pk)


def statement_detail(request, statement_id):
    access.require(request, "statement.view")
    statement = _statement(request, statement_id)
    document = statement_documents.build(statement)
    disputed = set(statements.open_disputes(statement).values_list("payment_id", flat=True))  # one open dispute per payment
    rows = [(line, line.payment_id in disputed) for line in document.lines]
    today = timezone.localdate()
    return render(
        request,
        "outsourcing/statement_detail.html",
        {
            "statement": statement,
            "document": document,
            "can_manage": _can_manage(request.principal),
            "rows": rows,
            "disputed_count": sum(1 for _line, under_dispute in rows if under_dispute),  # lines, as the page says
            "month_open": statement.period_end >= today,
            "is_lender": request.principal.is_lender_staff,
        },
    )


def _act(request, statement_id, act, success):
    """Run one manage action on a statement; a refusal becomes the ValidationError's own message."""
    access.require(request, "statement.manage", lender_only=True)
    statement = _statement(request, statement_id)
    try:
        result = act(statement)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(request, success(result))
    return statement


@require_POST
def statement_refresh(request, statement_id):
    def act(statement):
        return statements.draft_statement(partner=statement.partner, period=statement.period, created_by=request.user, request=request)

    statement = _act(request, statement_id, act, lambda s: _("Draft brought up to date: %(count)s line(s).") % {"count": s.line_count})
    return redirect("outsourcing:statement-detail", statement_id=statement.pk)


@require_POST
def statement_approve(request, statement_id):
    def act(statement):
        return statements.approve(statement=statement, approved_by=request.user, request=request)

    statement = _act(request, statement_id, act, lambda s: _("Statement %(number)s approved; its lines are final.") % {"number": s.number})
    return redirect("outsourcing:statement-detail", statement_id=statement.pk)


@require_POST
def statement_issue(request, statement_id):
    def act(statement):
        # The PDF sent to the agency; its hash is kept so that any later download can be checked against it.
        return statements.issue(
            statement=statement,
            issued_by=request.user,
            request=request,
            render=lambda locked: statement_documents.to_pdf(statement_documents.build(locked)),
        )

    statement = _act(
        request, statement_id, act, lambda s: _("Statement %(number)s issued; send the PDF to the agency.") % {"number": s.number}
    )
    return redirect("outsourcing:statement-detail", statement_id=statement.pk)


@require_POST
def statement_discard(request, statement_id):
    access.require(request, "statement.manage", lender_only=True)
    statement = _statement(request, statement_id)
    number, pk = statement.number, statement.pk
    try:
        statements.discard_draft(statement=statement, discarded_by=request.user, request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("outsourcing:statement-detail", statement_id=pk)
    messages.success(request, _("Draft %(number)s discarded; its lines wait for the next statement.") % {"number": number})
    return redirect("outsourcing:statement-list")


# ----------------------------------------------------------------- files


def _download(request, statement_id, kind):
    access.require(request, "statement.view")
    statement = _statement(request, statement_id)
    document = statement_documents.build(statement)
    stem = document.filename_stem
    if kind == "csv":
        content, name, content_type = statement_documents.to_csv(document), f"{stem}.csv", "text/csv; charset=utf-8"
    elif kind == "xlsx":
        content, name, content_type = statement_documents.to_xlsx(document), f"{stem}.xlsx", XLSX
    else:  # an issued statement's PDF is the one stored when it was issued
        content = statements.issued_document(statement) or statement_documents.to_pdf(document)
        name, content_type = f"{stem}.pdf", "application/pdf"
    detail = {"what": f"commission statement {kind}", "lines": document.totals.count}
    if kind == "pdf":
        detail["sha256"] = statement_documents.sha256(content)
    record(Action.DOWNLOAD, request=request, obj=statement, **detail)
    return attachment(content, name, content_type)


def statement_csv(request, statement_id):
    return _download(request, statement_id, "csv")


def statement_xlsx(request, statement_id):
    return _download(request, statement_id, "xlsx")


def statement_pdf(request, statement_id):
    return _download(request, statement_id, "pdf")
