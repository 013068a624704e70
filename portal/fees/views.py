"""Statement pages on a lender's host (/fees/): the lender's finance and the partner's review, one set of screens.

Thin: ask portal.access, find the statement the principal may see, call one function of services.py (which owns
every rule) or documents.py (the rows of the screen, CSV, XLSX and PDF), render.

- The lender's staff with ``statement.view`` see every statement; ``statement.manage`` (finance, admin) drafts,
  sends, decides disputes, approves, issues and pays.
- A partner (agency admin, law firm lawyer: ``statement.review``) sees only its own organisation's statements of this
  lender, and only from review onwards (drafts are the lender's working papers); it accepts, or disputes lines
  with a reason. Anyone else's statement is a 404 (never confirm it exists), audited. Every download is audited.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from portal import access, errors
from portal.audit.log import Action, record
from portal.lib.downloads import attachment
from portal.lib.keyset import paginate
from portal.lib.months import parse_month, previous_month
from tenants.models import EngagementStatus, Organisation

from . import documents, kinds, services
from .models import PARTNER_VISIBLE, DisputeStatus, LineDispute, Statement, StatementKindCode, StatementStatus

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVERY_ENGAGEMENT = (EngagementStatus.ACTIVE, EngagementStatus.SUSPENDED, EngagementStatus.ENDED)


def engaged_partners(lender):
    """Every agency or law firm the lender ever engaged whose kind of statement is registered: an ended or suspended
    engagement still has its last months to settle."""
    partner_kinds = {kind.partner_kind for kind in kinds.registered()}
    return (
        Organisation.objects.filter(kind__in=partner_kinds, engagements__lender=lender, engagements__status__in=list(EVERY_ENGAGEMENT))
        .distinct()
        .order_by("name")
    )


class DraftForm(forms.Form):
    """Draft (or bring up to date) one partner's statement for one month; the partner's kind decides the statement's."""

    partner = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label=gettext_lazy("Partner"), empty_label=gettext_lazy("Choose an agency or a law firm")
    )
    month = forms.DateField(
        label=gettext_lazy("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month"}),
        help_text=gettext_lazy("The statement takes every line dated up to the month's last day that no statement took yet."),
    )

    kind = forms.ChoiceField(label=gettext_lazy("Statement"), required=False)

    def __init__(self, *args, lender, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = engaged_partners(lender)
        # Blank: the partner's main statement (the first kind registered for its kind: commission, fee invoice).
        self.fields["kind"].choices = [("", gettext_lazy("The partner's usual statement"))] + [
            (kind.code, kind.label) for kind in kinds.registered()
        ]


class DisputeForm(forms.Form):
    line_id = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Why is this line wrong?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            (DisputeStatus.UPHELD, gettext_lazy("Uphold: take the line off")),
            (DisputeStatus.DISMISSED, gettext_lazy("Dismiss: the line stays")),
        ],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(label=gettext_lazy("Reasons"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


# ----------------------------------------------------------------- who sees what


def require_reader(request):
    """Lender staff need ``statement.view``; a partner ``statement.review``."""
    principal = getattr(request, "principal", None)
    if principal is not None and principal.is_partner:
        return access.require(request, "statement.review")
    return access.require(request, "statement.view")


def visible_statements(principal):
    """Lender staff: every statement. A partner: its own organisation's, from review onwards (drafts are internal)."""
    if principal.is_lender_staff:
        return Statement.objects.all()
    return Statement.objects.filter(partner=principal.organisation, status__in=PARTNER_VISIBLE)


def _statement(request, statement_id) -> Statement:
    statement = (
        visible_statements(request.principal)
        .filter(pk=statement_id)
        .select_related("partner", "created_by", "sent_by", "accepted_by", "approved_by", "issued_by")
        .first()
    )
    if statement is None:
        raise access.not_found(request, "fees.statement", statement_id)
    return statement


def _can_manage(principal) -> bool:
    return principal.is_lender_staff and access.can(principal, "statement.manage")


def _can_review(principal) -> bool:
    return principal.is_partner and access.can(principal, "statement.review")


def _card_on_file(lender) -> str:
    """The lender's card as billing keeps it ("Visa ···· 4242"), or '' (none on file)."""
    from billing.models import BillingAccount

    account = BillingAccount.objects.filter(lender=lender).first() if lender is not None else None
    return account.payment_method_label if account is not None else ""


# ----------------------------------------------------------------- pages


@require_GET
def statement_list(request):
    principal = require_reader(request)
    listed = visible_statements(principal).select_related("partner")
    month = parse_month(request.GET.get("month"))
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    partner_id = request.GET.get("partner", "")
    if month:
        listed = listed.filter(period=month)
    if status in StatementStatus.values:
        listed = listed.filter(status=status)
    if kind in StatementKindCode.values:
        listed = listed.filter(kind=kind)
    partner = None
    if partner_id and principal.is_lender_staff:
        partner = engaged_partners(request.tenant).filter(pk__in=_uuid_or_none(partner_id)).first()
        listed = listed.filter(partner=partner) if partner else listed.none()
    page = paginate(listed, time_field="created_at", cursor=request.GET.get("cursor"), size=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    statuses = StatementStatus.choices if principal.is_lender_staff else [c for c in StatementStatus.choices if c[0] in PARTNER_VISIBLE]
    context = {
        "page": page,
        "month": request.GET.get("month", "") if month else "",
        "status": status,
        "kind": kind,
        "partner_id": str(partner.pk) if partner else "",
        "statuses": statuses,
        "kinds": [(k.code, k.label) for k in kinds.registered()],
        "filter_query": query.urlencode(),
        "can_manage": _can_manage(principal),
        "is_lender": principal.is_lender_staff,
        "filtered": bool(month or status in StatementStatus.values or kind in StatementKindCode.values or partner_id),
    }
    if principal.is_lender_staff:
        context["partners"] = engaged_partners(request.tenant)
    if context["can_manage"]:
        context["draft_form"] = DraftForm(lender=request.tenant, initial={"month": previous_month(timezone.localdate())})
    return render(request, "fees/statement_list.html", context)


def _uuid_or_none(value):
    try:
        return [uuid.UUID(str(value))]
    except ValueError:
        return []


@require_POST
def statement_draft(request):
    access.require(request, "statement.manage", lender_only=True)
    form = DraftForm(request.POST, lender=request.tenant)
    if not form.is_valid():
        for field_errors in form.errors.values():
            messages.error(request, field_errors[0])
        return redirect("fees:statement-list")
    partner = form.cleaned_data["partner"]
    candidates = kinds.for_partner_kind(partner.kind)
    try:
        if not candidates:
            raise errors.RuleError(_("No kind of statement is set up for this partner."), code="no_kind")
        statement = services.draft(
            kind=form.cleaned_data["kind"] or candidates[0].code,
            partner=partner,
            period=form.cleaned_data["month"],
            created_by=request.user,
            request=request,
        )
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("fees:statement-list")
    messages.success(
        request, _("Draft %(number)s is up to date: %(count)s line(s).") % {"number": statement.number, "count": statement.line_count}
    )
    return redirect("fees:statement-detail", statement_id=statement.pk)


@require_GET
def statement_detail(request, statement_id):
    principal = require_reader(request)
    statement = _statement(request, statement_id)
    document = documents.build(statement)
    disputes = list(statement.disputes.select_related("opened_by", "resolved_by").order_by("opened_at", "id"))
    open_by_line = {d.line_id: d for d in disputes if d.status == DisputeStatus.OPEN}
    can_manage, can_review = _can_manage(principal), _can_review(principal)
    rows = [(row, open_by_line.get(row.line_id)) for row in document.rows]
    context = {
        "statement": statement,
        "document": document,
        "rows": rows,
        "disputes": disputes,
        "open_count": len(open_by_line),
        "can_manage": can_manage,
        "can_review": can_review and statement.status == StatementStatus.IN_REVIEW,
        "is_lender": principal.is_lender_staff,
        "case_ref_label": documents.label(document, "case_ref"),
        "description_label": documents.label(document, "description"),
        "period_end_label": documents.label(document, "period_end"),
        "base_label": documents.base_label(document),
        "amount_label": documents.amount_label(document),
        "resolve_form": ResolveForm(),
    }
    if can_manage:
        context["blockers"] = services.approval_blockers(statement) if statement.status == StatementStatus.IN_REVIEW else []
        context["month_open"] = statement.period_end >= timezone.localdate()
        if statement.status == StatementStatus.ISSUED:
            context["pay_problem"] = services.payable_problem(statement)
            context["card"] = _card_on_file(getattr(request, "tenant", None))
    return render(request, "fees/statement_detail.html", context)


def _act(request, statement_id, act, success, *, action="statement.manage", partner=False):
    """Run one action on a statement; a refusal becomes the ValidationError's own messages."""
    principal = access.require(request, action, lender_only=not partner)
    if partner and not principal.is_partner:
        record(Action.ACCESS_DENIED, request=request, object_type="action", object_id=action)
        raise PermissionDenied
    statement = _statement(request, statement_id)
    try:
        result = act(statement)
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(request, success(result))
    return redirect("fees:statement-detail", statement_id=statement.pk)


@require_POST
def statement_refresh(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.refresh(statement=s, refreshed_by=request.user, request=request),
        lambda s: _("Draft brought up to date: %(count)s line(s).") % {"count": s.line_count},
    )


@require_POST
def statement_send(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.send_for_review(statement=s, sent_by=request.user, request=request),
        lambda s: _("Statement %(number)s sent to %(partner)s for review.") % {"number": s.number, "partner": s.partner.name},
    )


@require_POST
def statement_approve(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.approve(statement=s, approved_by=request.user, request=request),
        lambda s: _("Statement %(number)s approved; its lines are final.") % {"number": s.number},
    )


@require_POST
def statement_issue(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.issue(statement=s, issued_by=request.user, request=request),
        lambda s: _("Statement %(number)s issued; send the PDF to the partner.") % {"number": s.number},
    )


@require_POST
def statement_pay(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.pay(statement=s, paid_by=request.user, request=request),
        lambda _charge: _("Payment sent to the card processor; the statement is marked paid when the payment is confirmed."),
    )


@require_POST
def statement_discard(request, statement_id):
    access.require(request, "statement.manage", lender_only=True)
    statement = _statement(request, statement_id)
    number = statement.number
    try:
        services.discard_draft(statement=statement, discarded_by=request.user, request=request)
    except ValidationError as error:
        errors.to_messages(request, error)
        return redirect("fees:statement-detail", statement_id=statement.pk)
    messages.success(request, _("Draft %(number)s discarded; its lines wait for the next statement.") % {"number": number})
    return redirect("fees:statement-list")


@require_POST
def statement_accept(request, statement_id):
    return _act(
        request,
        statement_id,
        lambda s: services.partner_accept(statement=s, accepted_by=request.user, request=request),
        lambda s: _("You accepted statement %(number)s.") % {"number": s.number},
        action="statement.review",
        partner=True,
    )


@require_POST
def statement_dispute(request, statement_id):
    form = DisputeForm(request.POST)

    def act(statement):
        if not form.is_valid():
            raise errors.RuleError(_("Choose a line and say why it is wrong."), code="invalid")
        return services.open_dispute(
            statement=statement,
            line_id=form.cleaned_data["line_id"],
            reason=form.cleaned_data["reason"],
            opened_by=request.user,
            request=request,
        )

    return _act(
        request,
        statement_id,
        act,
        lambda _d: _("Line disputed; the lender will decide."),
        action="statement.review",
        partner=True,
    )


@require_POST
def dispute_resolve(request, dispute_id):
    access.require(request, "statement.manage", lender_only=True)
    dispute = LineDispute.objects.select_related("statement").filter(pk=dispute_id).first()
    if dispute is None:
        raise access.not_found(request, "fees.linedispute", dispute_id)
    form = ResolveForm(request.POST)
    try:
        if not form.is_valid():
            raise errors.RuleError(_("Choose uphold or dismiss and write the reasons."), code="invalid")
        services.resolve_dispute(
            dispute=dispute,
            upheld=form.cleaned_data["outcome"] == DisputeStatus.UPHELD,
            resolution=form.cleaned_data["resolution"],
            resolved_by=request.user,
            request=request,
        )
    except ValidationError as error:
        errors.to_messages(request, error)
    else:
        messages.success(request, _("Dispute decided."))
    return redirect("fees:statement-detail", statement_id=dispute.statement_id)


# ----------------------------------------------------------------- files


def _download(request, statement_id, kind):
    require_reader(request)
    statement = _statement(request, statement_id)
    document = documents.build(statement)
    stem = document.filename_stem
    if kind == "csv":
        content, name, content_type = documents.to_csv(document), f"{stem}.csv", "text/csv; charset=utf-8"
    elif kind == "xlsx":
        content, name, content_type = documents.to_xlsx(document), f"{stem}.xlsx", XLSX
    else:  # an issued statement's PDF is the one stored when it was issued
        content = services.issued_document(statement) or documents.to_pdf(document)
        name, content_type = f"{stem}.pdf", "application/pdf"
    detail = {"what": f"{statement.kind} statement {kind}", "lines": document.totals.count}
    if kind == "pdf":
        detail["sha256"] = documents.sha256(content)
    record(Action.DOWNLOAD, request=request, obj=statement, **detail)
    return attachment(content, name, content_type)


@require_GET
def statement_csv(request, statement_id):
    return _download(request, statement_id, "csv")


@require_GET
def statement_xlsx(request, statement_id):
    return _download(request, statement_id, "xlsx")


@require_GET
def statement_pdf(request, statement_id):
    return _download(request, statement_id, "pdf")
