"""The legal workbench on a lender's host (/litigation/): escalation, the matter list, the matter page and its forms.

Thin: ask portal.access first, reach a matter only through litigation.access.get_visible_matter (a law firm
sees its own open matters, anything else is a 404), parse with litigation.forms, call one service
(escalation, stages, packets, preflight), render. A refusal of a business rule reaches the person through
portal.errors.to_messages. Every change is a POST (CSRF-checked); a GET writes nothing but the audit log.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext
from django.views.decorators.http import require_POST

from portal import access, limitation
from portal.audit.log import Action, record
from portal.errors import to_messages
from portal.lib import downloads, filecrypt, uploads
from portal.lib.keyset import paginate
from portal.lib.money import format_percent
from portal.models import Case, RiskFlag

from . import debt, escalation, stages
from .access import get_visible_matter, visible_matters
from .forms import (
    IN_HOUSE,
    MAX_CONTRACTS,
    DocumentForm,
    EscalationForm,
    LoanElementsForm,
    MatterElementsForm,
    MatterFilterForm,
    OverrideForm,
    ReassignForm,
    ReferralForm,
    StageForm,
    TickForm,
    contract_numbers,
    engaged_law_firms,
)
from .models import (
    CriminalReferral,
    Deadline,
    DeadlineKind,
    MatterDocument,
    MatterLoan,
    Packet,
    PacketStatus,
    Stage,
    document_upload_to,
)

HUNDRED = Decimal(100)


def pct(rate) -> str:
    """A rate held in per cent (18 = 18% a year, as everywhere in Caseport) shown the one way (portal.lib.money.format_percent),
    with as many decimals as it has (at least two): 18 → "18.00%", 12.775 → "12.775%"."""
    if rate is None:
        return "—"
    exponent = Decimal(rate).normalize().as_tuple().exponent
    return format_percent(Decimal(rate) / HUNDRED, max(2, -exponent if isinstance(exponent, int) else 2))


# Cases shown with their detailed hints on the escalation page; a bigger selection shows counts only.
HINT_DETAIL_LIMIT = 50
ZERO = Decimal("0.00")


def _back_to_matter(matter, anchor=""):
    return redirect(reverse("litigation:matter-detail", args=[matter.pk]) + (f"#{anchor}" if anchor else ""))


# ----------------------------------------------------------------- matter list


def matter_list(request):
    principal = access.require(request, "matter.view")
    lender_view = principal.is_lender_staff
    filters = MatterFilterForm(request.GET or None)
    matters = filters.apply(visible_matters(principal), user=request.user, lender_view=lender_view)
    next_deadline = Deadline.objects.filter(matter=OuterRef("pk"), done_at__isnull=True).order_by("due_on").values("due_on")[:1]
    next_deadline_kind = Deadline.objects.filter(matter=OuterRef("pk"), done_at__isnull=True).order_by("due_on").values("kind")[:1]
    latest_packet = Packet.objects.filter(matter=OuterRef("pk")).order_by("-version").values("status")[:1]
    principal_on_books = (
        MatterLoan.objects.filter(matter=OuterRef("pk"), active=True)
        .values("matter")
        .annotate(total=Sum("case__principal_due"))
        .values("total")[:1]
    )
    loans = MatterLoan.objects.filter(matter=OuterRef("pk")).values("matter").annotate(n=Count("pk")).values("n")[:1]
    matters = matters.select_related("debtor", "firm", "lawyer", "paralegal").annotate(
        next_deadline=Subquery(next_deadline),
        next_deadline_kind=Subquery(next_deadline_kind),
        packet_status=Subquery(latest_packet),
        principal_on_books=Coalesce(Subquery(principal_on_books), ZERO),
        loan_count=Coalesce(Subquery(loans), 0),
    )
    page = paginate(matters, time_field="escalated_at", cursor=request.GET.get("cursor"))
    for matter in page.rows:
        matter.packet_status_label = PacketStatus(matter.packet_status).label if matter.packet_status else ""
        matter.next_deadline_label = DeadlineKind(matter.next_deadline_kind).label if matter.next_deadline_kind else ""
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "litigation/matter_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "lender_view": lender_view,
            "firms": engaged_law_firms(request.tenant) if lender_view else [],
            "in_house": IN_HOUSE,
            "stages": Stage.choices,
            "can_escalate": access.can(principal, "matter.escalate"),
        },
    )


# ----------------------------------------------------------------- escalation


def _cases_for_escalation(request, numbers):
    return list(
        access.visible_cases(request.principal)
        .filter(contract_no__in=numbers)
        .select_related("debtor")
        .order_by("debtor__name", "contract_no")[: MAX_CONTRACTS + 1]
    )


def _escalation_context(request, cases, form):
    """The escalation page: each case with its hints (the first HINT_DETAIL_LIMIT), or counts for a bigger selection."""
    ids = [case.pk for case in cases]
    busy = set(MatterLoan.objects.filter(case_id__in=ids, active=True).values_list("case_id", flat=True))
    rows, summary = [], None
    if len(cases) <= HINT_DETAIL_LIMIT:
        history = escalation.agency_history(ids)
        for case in cases:
            rows.append({"case": case, "hints": escalation.hints(case, history=history[case.pk]), "busy": case.pk in busy})
    else:
        today = timezone.localdate()
        threshold = escalation.min_balance()
        summary = {
            "count": len(cases),
            "balance": sum((case.balance for case in cases), ZERO),
            "below_threshold": sum(1 for case in cases if case.balance < threshold),
            "threshold": threshold,
            "expired": sum(1 for case in cases if case.limitation_expires_on and case.limitation_expires_on < today),
            "no_limitation": sum(1 for case in cases if case.limitation_expires_on is None),
            "busy": len(busy),
            "fraud": sum(1 for case in cases if RiskFlag.FRAUD in (case.risk_flags or [])),
        }
    agreements = form.agreements
    return {
        "rows": rows,
        "summary": summary,
        "count": len(cases),
        "form": form,
        "firms": [
            {"firm": firm, "agreement": agreements[firm.pk], "success_fee": pct(agreements[firm.pk].success_fee_percent)}
            for firm in form.firms
        ],
        "referral_form": ReferralForm(initial={"reported_on": timezone.localdate()}),
        "can_refer": access.can(request.principal, "referral.manage"),
        "contracts": " ".join(case.contract_no for case in cases),
    }


def escalate(request):
    """GET ?case=<id> (from the case page) or POST contracts (the case list's selection): the cases, their hints and the
    team form; POST with confirm: escalate (litigation.escalation.escalate)."""
    principal = access.require(request, "matter.escalate", lender_only=True)
    cases = []
    if request.method == "GET":
        case_id = request.GET.get("case")
        if case_id:
            try:
                uuid.UUID(case_id)
            except ValueError:
                raise access.not_found(request, "portal.case", case_id) from None
            cases = [access.get_visible_case(principal, case_id, request=request)]
        form = EscalationForm(lender=request.tenant, initial={"contracts": " ".join(c.contract_no for c in cases)})
    else:
        numbers = contract_numbers(request.POST.get("contracts", ""))
        if len(numbers) > MAX_CONTRACTS:
            messages.error(request, _("Choose at most %(limit)s cases at once.") % {"limit": f"{MAX_CONTRACTS:,}"})
            return redirect("case-list")
        cases = _cases_for_escalation(request, numbers)
        missing = len(set(numbers)) - len(cases)
        if missing > 0:
            messages.warning(
                request,
                ngettext("%(n)s contract number was not found.", "%(n)s contract numbers were not found.", missing) % {"n": missing},
            )
        if request.POST.get("confirm") == "1":
            form = EscalationForm(request.POST, lender=request.tenant)
            if form.is_valid():
                try:
                    matters = escalation.escalate(
                        cases=cases,
                        firm=form.firm(),
                        lawyer=form.cleaned_data["lawyer"],
                        paralegal=form.cleaned_data["paralegal"],
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                        request=request,
                    )
                except ValidationError as error:
                    to_messages(request, error)
                else:
                    messages.success(
                        request,
                        ngettext(
                            "Escalated: %(count)s matter opened (%(numbers)s).",
                            "Escalated: %(count)s matters opened (%(numbers)s).",
                            len(matters),
                        )
                        % {"count": len(matters), "numbers": ", ".join(m.number for m in matters[:10])},
                    )
                    if len(matters) == 1:
                        return redirect("litigation:matter-detail", matter_id=matters[0].pk)
                    return redirect("litigation:matter-list")
        else:
            form = EscalationForm(lender=request.tenant, initial={"contracts": " ".join(c.contract_no for c in cases)})
            if not cases:
                messages.error(request, _("Choose at least one case."))
    if cases:
        record(Action.VIEW_PERSONAL_DATA, request=request, object_type="litigation.escalation", object_id="", cases=len(cases))
    return render(request, "litigation/escalate.html", _escalation_context(request, cases, form))


@require_POST
def referral_create(request, case_id):
    """A criminal referral (报案) of suspected fraud on a case: its own record, and the case is flagged FRAUD."""
    principal = access.require(request, "referral.manage")
    case = access.get_visible_case(principal, case_id, request=request)
    form = ReferralForm(request.POST)
    if form.is_valid():
        referral = CriminalReferral.objects.create(case=case, recorded_by=request.user, **form.cleaned_data)
        flags = list(case.risk_flags or [])
        if RiskFlag.FRAUD not in flags:
            flags.append(RiskFlag.FRAUD)
            Case.objects.filter(pk=case.pk).update(risk_flags=flags, updated_at=timezone.now())
        record(Action.CREATE, request=request, obj=referral, case_id=case.pk, authority=referral.authority)
        messages.success(request, _("Criminal referral recorded; the case is flagged as suspected fraud."))
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
    return redirect(reverse("case-detail", args=[case.pk]) + "#litigation-referrals")


# ----------------------------------------------------------------- the matter page


def _claim(matter):
    """The claim (litigation.claims.claim_for), or the reason it cannot be computed yet."""
    from . import claims

    try:
        return claims.claim_for(matter), None
    except claims.MissingElement as missing:
        return None, _("Complete the filing elements first: %(field)s is missing.") % {"field": missing.field}
    except (ValueError, ValidationError) as error:
        return None, str(getattr(error, "message", None) or error)


def _payments(case_ids):
    from portal.payments.models import Payment

    return list(
        Payment.objects.filter(case_id__in=case_ids)
        .with_effective_split()
        .select_related("case", "reversal")
        .order_by("-paid_on", "-recorded_at")
    )


def _limitation_rows(loans):
    rows = []
    for loan in loans:
        case = loan.case
        events = list(case.limitation_events.all()[:50])
        _expiry, setting = limitation.expiry_from((e.kind, e.occurred_on) for e in events if e.withdrawn_at is None)
        rows.append({"loan": loan, "case": case, "summary": limitation.case_summary(case), "events": events, "setting": setting})
    return rows


def _collection_histories(request, loans):
    from outsourcing.workbench import history

    show_all = request.GET.get("history") == "all"
    result = []
    for loan in loans:
        full = history.case_history(case=loan.case, principal=request.principal, max_attempts=None if show_all else 50)
        work = history.History([entry for entry in full.entries if entry.kind != "limitation"], full.truncated)
        result.append({"loan": loan, "history": work})
    return result


def _preflight(matter):
    from . import preflight

    return preflight.problems(matter)


def matter_detail(request, matter_id):
    principal = access.require(request, "matter.view")
    matter = get_visible_matter(request, matter_id)
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=matter, debtor=str(matter.debtor_id))
    loans = list(matter.loans.select_related("case", "case__debtor").order_by("position", "id"))
    claim, claim_problem = _claim(matter)
    statements = dict((loan.pk, statement) for loan, statement in claim.loans) if claim else {}
    can = {
        action.replace(".", "_"): access.can(principal, action)
        for action in ("matter.edit", "matter.record_stage", "packet.build", "packet.approve", "matter.escalate")
    }
    can["reassign"] = can["matter_escalate"] and principal.is_lender_staff
    documents = list(matter.documents.select_related("uploaded_by").order_by("removed_at", "kind", "uploaded_at"))
    packets = list(matter.packets.select_related("built_by", "approved_by").order_by("-version"))
    deadlines = sorted(matter.deadlines.select_related("done_by"), key=lambda d: (d.done_at is not None, d.due_on))
    context = {
        "matter": matter,
        "loans": [
            {
                "loan": loan,
                "form": LoanElementsForm(instance=loan, prefix=f"loan{loan.pk}"),
                "statement": statements.get(loan.pk),
                "penalty_rate": pct(loan.penalty_rate),
            }
            for loan in loans
        ],
        "entries": list(matter.entries.select_related("recorded_by").prefetch_related("instalments")),
        "stage_form": StageForm(matter=matter, initial={"entered_on": timezone.localdate()}, auto_id="stage_%s")
        if matter.is_open
        else None,
        "checklist": stages.checklist(matter),
        "deadlines": deadlines,
        "plan": stages.plan_rows(matter),
        "elements_form": MatterElementsForm(instance=matter),
        "claim": claim,
        "claim_problem": claim_problem,
        "documents": [d for d in documents if d.removed_at is None],
        "removed_documents": [d for d in documents if d.removed_at is not None],
        "document_form": DocumentForm(initial={"stage": matter.stage}, auto_id="document_%s"),
        "problems": _preflight(matter),
        "packets": packets,
        "latest_packet": packets[0] if packets else None,
        "limitation": _limitation_rows(loans),
        "histories": _collection_histories(request, loans),
        "payments": _payments([loan.case_id for loan in loans]),
        "can": can,
        "reassign_form": ReassignForm(
            lender=request.tenant,
            initial={
                "team": str(matter.firm_id) if matter.firm_id else IN_HOUSE,
                "lawyer": matter.lawyer_id,
                "paralegal": matter.paralegal_id,
            },
        )
        if can["reassign"] and matter.is_open
        else None,
        "recovered": stages.recovered_on(matter),
        "success_fee": pct(matter.success_fee_percent),
        "max_upload_mb": settings.MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "litigation/matter_detail.html", context)


def debt_statement(request, matter_id):
    """The full debt calculation (债权计算表) per loan: every segment with its formula, the cap check, the conventions."""
    access.require(request, "matter.view")
    matter = get_visible_matter(request, matter_id)
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=matter, view="debt_statement")
    claim, claim_problem = _claim(matter)
    labels = debt.COMPONENT_LABELS | {debt.PAYMENT: _("payment"), debt.CAP_REDUCTION: _("cap reduction")}
    loans = []
    for loan, statement in claim.loans if claim else ():
        segments = [
            {
                "segment": s,
                "label": labels.get(s.kind, s.kind),
                "component": labels.get(s.component, ""),
                "rate": pct(s.rate) if s.kind in debt.ACCRUALS or s.kind == debt.CAP_REDUCTION else "—",
            }
            for s in statement.segments
        ]
        terms, cap = statement.terms, statement.cap
        rates = {"annual": pct(terms.annual_rate), "penalty": pct(terms.penalty_rate)}
        if cap is not None:
            rates |= {"limit": pct(cap.limit), "lpr": pct(cap.lpr) if cap.lpr is not None else ""}
        loans.append({"loan": loan, "statement": statement, "terms": terms, "segments": segments, "rates": rates})
    return render(
        request, "litigation/debt_statement.html", {"matter": matter, "claim": claim, "claim_problem": claim_problem, "loans": loans}
    )


@require_POST
def record_stage(request, matter_id):
    principal = access.require(request, "matter.record_stage")
    matter = get_visible_matter(request, matter_id)
    form = StageForm(request.POST, matter=matter)
    if not form.is_valid():
        _form_errors(request, form)
        return _back_to_matter(matter, "stages")
    try:
        entry = stages.record_stage(matter=matter, by=principal.user, request=request, **form.service_kwargs())
    except ValidationError as error:
        to_messages(request, error)
    else:
        messages.success(
            request, _("Recorded: %(stage)s on %(date)s.") % {"stage": entry.get_stage_display(), "date": entry.entered_on.isoformat()}
        )
    return _back_to_matter(matter, "stages")


@require_POST
def checklist_tick(request, matter_id):
    principal = access.require(request, "matter.edit")
    matter = get_visible_matter(request, matter_id)
    form = TickForm(request.POST)
    if form.is_valid():
        try:
            stages.tick(
                matter=matter,
                stage=form.cleaned_data["stage"],
                key=form.cleaned_data["key"],
                by=principal.user,
                done=form.cleaned_data["done"],
            )
        except ValidationError as error:
            to_messages(request, error)
    else:
        messages.error(request, _("Unknown checklist item."))
    if request.htmx:
        return render(
            request, "litigation/partials/checklist.html", {"matter": matter, "checklist": stages.checklist(matter), "can_edit": True}
        )
    return _back_to_matter(matter, "checklist")


@require_POST
def matter_elements(request, matter_id):
    access.require(request, "matter.edit")
    matter = get_visible_matter(request, matter_id)
    form = MatterElementsForm(request.POST, instance=matter)
    if form.is_valid():
        form.save()
        record(Action.CHANGE, request=request, obj=matter, event="elements", fields=sorted(form.changed_data))
        messages.success(request, _("Filing elements saved."))
    else:
        _form_errors(request, form)
    return _back_to_matter(matter, "elements")


@require_POST
def loan_elements(request, matter_id, loan_id):
    access.require(request, "matter.edit")
    matter = get_visible_matter(request, matter_id)
    loan = matter.loans.filter(pk=loan_id).select_related("case").first()
    if loan is None:
        raise access.not_found(request, "litigation.matterloan", loan_id)
    form = LoanElementsForm(request.POST, instance=loan, prefix=f"loan{loan.pk}")
    if form.is_valid():
        form.save()
        record(Action.CHANGE, request=request, obj=matter, event="loan_elements", loan=loan.pk, fields=sorted(form.changed_data))
        messages.success(request, _("Elements of %(contract)s saved.") % {"contract": loan.case.contract_no})
    else:
        _form_errors(request, form)
    return _back_to_matter(matter, "loans")


def _form_errors(request, form):
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


# ----------------------------------------------------------------- documents


def pdf_pages(content: bytes) -> int:
    """The number of pages of a PDF (pikepdf, the library the packet is assembled with); ValueError if it does not open."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(content)) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError as error:
        raise ValueError(str(error)) from error


def _upload_refused(request, max_bytes):
    messages.error(request, uploads.too_large_message(max_bytes))
    matter_id = request.resolver_match.kwargs.get("matter_id") if request.resolver_match else None
    return (
        redirect(reverse("litigation:matter-detail", args=[matter_id]) + "#documents") if matter_id else redirect("litigation:matter-list")
    )


@require_POST
@uploads.capped_upload(lambda: settings.MAX_UPLOAD_BYTES, refused=_upload_refused)
def document_upload(request, matter_id):
    principal = access.require(request, "matter.edit")
    matter = get_visible_matter(request, matter_id)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        if getattr(request, "upload_too_large", None):
            messages.error(request, uploads.too_large_message(request.upload_too_large))
        else:
            _form_errors(request, form)
        return _back_to_matter(matter, "documents")
    upload = form.cleaned_data["file"]
    try:
        mime = uploads.check_document(upload)
    except ValidationError as error:
        to_messages(request, error)
        return _back_to_matter(matter, "documents")
    content = upload.read()
    pages = 1  # an image is one page of the packet
    if mime == "application/pdf":
        try:
            pages = pdf_pages(content)
        except ValueError:
            messages.error(request, _("The PDF cannot be opened: it is damaged or protected by a password."))
            return _back_to_matter(matter, "documents")
    data = form.cleaned_data
    document = MatterDocument(
        matter=matter,
        stage=data["stage"],
        kind=data["kind"],
        title=data["title"],
        source=data["source"],
        proves=data["proves"],
        is_exhibit=data["is_exhibit"],
        original_name=(upload.name or "")[:200],
        content_type=mime,
        size=len(content),
        pages=pages,
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=principal.user,
    )
    # Sealed at rest (PIPL art. 51); the server chooses the stored name.
    document.file.name = filecrypt.save(document.file.storage, document_upload_to(document, upload.name), content)
    document.save()
    record(Action.CREATE, request=request, obj=document, matter=str(matter.pk), sha256=document.sha256)
    messages.success(request, _("%(title)s uploaded (%(pages)s pages).") % {"title": document.title, "pages": pages})
    return _back_to_matter(matter, "documents")


def _document(request, matter, document_id):
    document = matter.documents.filter(pk=document_id).first()
    if document is None:
        raise access.not_found(request, "litigation.matterdocument", document_id)
    return document


@require_POST
def document_remove(request, matter_id, document_id):
    access.require(request, "matter.edit")
    matter = get_visible_matter(request, matter_id)
    document = _document(request, matter, document_id)
    if document.removed_at is None:
        MatterDocument.objects.filter(pk=document.pk).update(removed_at=timezone.now())
        record(Action.CHANGE, request=request, obj=document, event="remove", matter=str(matter.pk))
        messages.success(request, _("%(title)s removed from the matter (kept for the packets that used it).") % {"title": document.title})
    return _back_to_matter(matter, "documents")


def document_download(request, matter_id, document_id):
    access.require(request, "matter.view")
    matter = get_visible_matter(request, matter_id)
    document = _document(request, matter, document_id)
    try:
        content = filecrypt.read(document.file.storage, document.file.name)
    except filecrypt.FileGone:
        raise Http404 from None
    record(Action.DOWNLOAD, request=request, obj=document, matter=str(matter.pk))
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(document.content_type, "bin")
    return downloads.attachment(content, f"{matter.number}-{document.title}.{extension}", document.content_type)


# ----------------------------------------------------------------- pre-flight and packets


@require_POST
def preflight_override(request, matter_id):
    from . import preflight

    principal = access.require(request, "packet.approve")
    matter = get_visible_matter(request, matter_id)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for overriding the problem."))
        return _back_to_matter(matter, "preflight")
    try:
        preflight.override(matter, form.cleaned_data["code"], form.cleaned_data["reason"], principal.user)
    except ValidationError as error:
        to_messages(request, error)
    else:
        messages.success(request, _("Override recorded with its reason."))
    return _back_to_matter(matter, "preflight")


@require_POST
def packet_build(request, matter_id):
    from . import packets

    principal = access.require(request, "packet.build")
    matter = get_visible_matter(request, matter_id)
    try:
        packet = packets.build_packet(matter, by=principal.user)
    except packets.PacketBlocked as blocked:
        messages.error(request, _("The packet was not generated: resolve or override these problems first."))
        for problem in blocked.problems:
            messages.error(request, str(problem.message))
    except ValidationError as error:
        to_messages(request, error)
    else:
        messages.success(
            request, _("Packet version %(version)s generated (%(pages)s pages).") % {"version": packet.version, "pages": packet.pages}
        )
    return _back_to_matter(matter, "packets")


def _packet(request, matter, packet_id):
    packet = matter.packets.filter(pk=packet_id).first()
    if packet is None:
        raise access.not_found(request, "litigation.packet", packet_id)
    return packet


def packet_download(request, matter_id, packet_id):
    from . import packets

    access.require(request, "matter.view")
    matter = get_visible_matter(request, matter_id)
    packet = _packet(request, matter, packet_id)
    try:
        content = packets.packet_bytes(packet)
    except filecrypt.FileGone:
        raise Http404 from None
    record(Action.DOWNLOAD, request=request, obj=packet, matter=str(matter.pk), version=packet.version, sha256=packet.sha256)
    # Shown in the browser's PDF viewer for review (sandboxed like every file: no script runs in the portal's origin).
    return downloads.stored_file(
        io.BytesIO(content), filename=f"{matter.number}-v{packet.version}.pdf", content_type="application/pdf", inline=True
    )


@require_POST
def packet_approve(request, matter_id, packet_id):
    from . import packets

    principal = access.require(request, "packet.approve")
    matter = get_visible_matter(request, matter_id)
    packet = _packet(request, matter, packet_id)
    try:
        packets.approve_packet(packet, by=principal.user)
    except ValidationError as error:
        to_messages(request, error)
    else:
        messages.success(request, _("Packet version %(version)s approved.") % {"version": packet.version})
    return _back_to_matter(matter, "packets")


# ----------------------------------------------------------------- reassignment


@require_POST
def matter_reassign(request, matter_id):
    principal = access.require(request, "matter.escalate", lender_only=True)
    matter = get_visible_matter(request, matter_id)
    form = ReassignForm(request.POST, lender=request.tenant)
    if form.is_valid():
        try:
            escalation.reassign(
                matter=matter,
                firm=form.firm(),
                lawyer=form.cleaned_data["lawyer"],
                paralegal=form.cleaned_data["paralegal"],
                by=principal.user,
                request=request,
            )
        except ValidationError as error:
            to_messages(request, error)
        else:
            messages.success(
                request, _("Matter reassigned to %(team)s.") % {"team": matter.firm.name if matter.firm else _("the in-house legal team")}
            )
    else:
        _form_errors(request, form)
    return _back_to_matter(matter)
