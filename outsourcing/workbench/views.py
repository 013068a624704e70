"""The workbench's pages: thin edges that parse input, call one service or selector, and render.

Every case is fetched through portal.access.get_visible_case, so a recalled placement closes every
page here at once (404, audited). Business rules live in services.py and conduct.py.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from outsourcing.models import CollectionAction, Placement
from portal import access, errors
from portal.audit.log import Action, record
from portal.lib.downloads import stored_file
from portal.lib.keyset import paginate
from portal.models import Contact, RiskFlag

from . import conduct, history, queue, services
from .errors import WorkbenchError
from .forms import (
    AssignForm,
    ContactPolicyForm,
    DecideVisitForm,
    OutcomeForm,
    RecordingForm,
    StartAttemptForm,
    VerifyIdentityForm,
    VisitReportForm,
    VisitRequestForm,
)
from .models import (
    CallRecording,
    Channel,
    ContactAttempt,
    ContactPolicy,
    FieldVisitPhoto,
    FieldVisitReport,
    FieldVisitRequest,
    PromiseToPay,
    VisitStatus,
)


def now():
    """The request's moment. One function, so tests can pin it (the conduct rules depend on it)."""
    return timezone.now()


def _our_placement(principal, case, at):
    """The partner's placement of this case in force now (None for lender staff)."""
    if not principal.is_partner:
        return None
    return Placement.objects.active(at=at).select_related("agreement_version").filter(case=case, partner=principal.organisation).first()


def _case_url(case_id, anchor=""):
    return reverse("workbench-case", args=[case_id]) + (f"#{anchor}" if anchor else "")


def _error(request, error):
    errors.to_messages(request, error)


# ------------------------------------------------------------------ queue and assignment
def queue_page(request):
    access.require(request, "workbench.work")
    moment = now()
    # Nothing is written on a GET: calls left open on placements that have ended since are closed by the next
    # action that meets them (start_attempt, log_outcome ... : services.close_orphaned_attempts).
    policy = ContactPolicy.current()
    page = queue.collector_queue(
        agency=request.principal.organisation,
        collector=request.user,
        today=conduct.debtor_local(moment, policy).date(),
        now=moment,
        cursor=request.GET.get("cursor"),
    )
    template = "workbench/partials/queue_rows.html" if request.htmx else "workbench/queue.html"
    return render(
        request,
        template,
        {
            "page": page,
            "can_assign": access.can(request.principal, "workbench.assign"),
            "groups": {"due": queue.DUE_TODAY, "new": queue.NEW},
        },
    )


def assign_page(request):
    access.require(request, "workbench.assign")
    agency = request.principal.organisation
    form = AssignForm(request.POST or None, agency=agency)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = services.assign_cases(
                    placement_ids=form.cleaned_data["placement_ids"],
                    collector=form.cleaned_data["collector"],
                    agency=agency,
                    assigned_by=request.user,
                    now=now(),
                )
            except WorkbenchError as error:
                _error(request, error)
            else:
                messages.success(request, _("%(n)s case(s) assigned.") % {"n": changed})
                return redirect("workbench-assign")
        else:
            for error in form.non_field_errors():
                messages.error(request, error)
    page = queue.agency_placements(agency=agency, now=now(), cursor=request.GET.get("cursor"))
    template = "workbench/partials/assign_rows.html" if request.htmx else "workbench/assign.html"
    return render(request, template, {"page": page, "form": form})


# ------------------------------------------------------------------ the case page
def case_page(request, case_id):
    access.require(request, "case.view")
    principal = request.principal
    case = access.get_visible_case(principal, case_id, request=request)
    moment = now()
    policy = ContactPolicy.current()
    placement = _our_placement(principal, case, moment)
    can_work = placement is not None and access.can(principal, "workbench.work")
    # The agreement decides which buttons exist; the services refuse the rest anyway.
    allowed = services.allowed_actions(placement)
    may_request_visit = placement is not None and access.can(principal, "fieldvisit.request")
    # Only a call under the placement in force now is offered: one left open under a placement that has ended can no
    # longer be logged (the next action closes it, unlogged). Read only: a GET writes nothing (issue item 15).
    open_attempt = (
        ContactAttempt.objects.filter(case=case, collector=request.user, outcome="", placement=placement)
        .select_related("contact")
        .order_by("-started_at")
        .first()
        if can_work
        else None
    )
    # Lender staff are the creditor; an agency sees the debt only in a call with the verified debtor.
    reveal = principal.is_lender_staff or services.reveals_debt(open_attempt, now=moment)
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=case, case_id=case.pk, debt_details=reveal)
    local = conduct.debtor_local(moment, policy)
    context = {
        "case": case,
        "debtor": case.debtor,
        "id_number_on_screen": services.id_number_on_screen(case.debtor),
        "placement": placement,
        "can_work": can_work,
        "reveal": reveal,
        "open_attempt": open_attempt,
        "policy": policy,
        "debtor_time": f"{local:%H:%M}",
        "risk_labels": [RiskFlag(flag).label for flag in case.risk_flags if flag in RiskFlag.values],
        "promises": PromiseToPay.objects.filter(case=case).order_by("-due_on", "-created_at"),
        "within_window": conduct.is_allowed_moment(moment, policy),
        "china_time": f"{moment.astimezone(conduct.ZoneInfo(conduct.CHINA_TIME_ZONE)):%H:%M}",
        "attempts_today": conduct.contacts_on(debtor_id=case.debtor_id, local_date=local.date(), policy=policy),
        "history": history.case_history(case=case, principal=principal),
        "address": access.address_for(principal, case.debtor.address),
        "allowed_actions": allowed,
        "allowed_labels": [action.label for action in CollectionAction if action in allowed],
        "can_request_visit": may_request_visit and CollectionAction.FIELD_VISIT in allowed,
        "visit_not_allowed": may_request_visit and CollectionAction.FIELD_VISIT not in allowed,
    }
    if can_work:
        context["numbers"] = services.dial_list(case.debtor, Contact.objects.filter(debtor_id=case.debtor_id).order_by("position"))
        if open_attempt is not None:
            context["verify_form"] = VerifyIdentityForm(auto_id="verify_%s")
            context["outcome_form"] = OutcomeForm(
                channel=open_attempt.channel, identity_verified=open_attempt.identity_verified, auto_id="outcome_%s"
            )
        context["recording_targets"] = list(
            ContactAttempt.objects.filter(case=case, organisation=principal.organisation, channel=Channel.PHONE, recordings__isnull=True)
            .exclude(outcome="")
            .order_by("-started_at")[:20]
        )
        context["recording_form"] = RecordingForm()
    if context["can_request_visit"]:
        context["visit_form"] = VisitRequestForm(auto_id="visit_%s")
        context["visit_pending"] = FieldVisitRequest.objects.filter(case=case, status=VisitStatus.PENDING).exists()
    return render(request, "workbench/case.html", context)


def _working_case(request, case_id):
    """The case and the caller's placement of it, for an action; 404 once it is no longer placed."""
    access.require(request, "workbench.work")
    case = access.get_visible_case(request.principal, case_id, request=request)
    placement = _our_placement(request.principal, case, now())
    if placement is None:
        raise Http404
    return case, placement


def _own_attempt(request, attempt_id):
    """An attempt of the caller's, on a case they can still see."""
    access.require(request, "workbench.work")
    attempt = ContactAttempt.objects.filter(pk=attempt_id, organisation=request.principal.organisation).first()
    if attempt is None:
        record(Action.ACCESS_DENIED, request=request, object_type="workbench.contactattempt", object_id=str(attempt_id))
        raise Http404
    access.get_visible_case(request.principal, attempt.case_id, request=request)
    return attempt


@require_POST
def start_attempt(request, case_id):
    case, placement = _working_case(request, case_id)
    form = StartAttemptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a number to contact."))
        return redirect(_case_url(case.pk))
    contact = None
    if form.cleaned_data["contact"]:
        contact = Contact.objects.filter(pk=form.cleaned_data["contact"], debtor_id=case.debtor_id).first()
    try:
        attempt = services.start_attempt(
            case=case,
            placement=placement,
            agency=request.principal.organisation,
            collector=request.user,
            channel=form.cleaned_data["channel"],
            number_kind=form.cleaned_data["number_kind"],
            contact=contact,
            now=now(),
        )
    except WorkbenchError as error:
        _error(request, error)
        return redirect(_case_url(case.pk, "call"))
    record(Action.REVEAL, request=request, obj=attempt, case_id=case.pk, field="number_dialled", number_kind=attempt.number_kind)
    return redirect(_case_url(case.pk, "call"))


@require_POST
def verify_identity(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    form = VerifyIdentityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the name and the answer the person gave."))
        return redirect(_case_url(attempt.case_id, "call"))
    try:
        services.verify_identity(attempt=attempt, collector=request.user, now=now(), **form.cleaned_data)
    except WorkbenchError as error:
        _error(request, error)
    else:
        messages.success(request, _("Identity verified. The debt details are shown for this call only."))
    return redirect(_case_url(attempt.case_id, "call"))


@require_POST
def record_outcome(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    form = OutcomeForm(request.POST, channel=attempt.channel, identity_verified=attempt.identity_verified)
    if not form.is_valid():
        messages.error(
            request, _("Check the outcome: %(errors)s") % {"errors": "; ".join(e for errors in form.errors.values() for e in errors)}
        )
        return redirect(_case_url(attempt.case_id, "call"))
    data = form.cleaned_data
    try:
        services.record_outcome(
            attempt=attempt,
            collector=request.user,
            outcome=data["outcome"],
            note=data["note"],
            promise_amount=data.get("promise_amount"),
            promise_due_on=data.get("promise_due_on"),
            now=now(),
        )
    except WorkbenchError as error:
        _error(request, error)
        return redirect(_case_url(attempt.case_id, "call"))
    messages.success(request, _("Attempt logged."))
    return redirect(_case_url(attempt.case_id, "history"))


@require_POST
def upload_recording(request, attempt_id):
    attempt = _own_attempt(request, attempt_id)
    form = RecordingForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the recording file."))
        return redirect(_case_url(attempt.case_id, "recordings"))
    try:
        services.upload_recording(
            attempt=attempt, upload=form.cleaned_data["file"], uploaded_by=request.user, agency=request.principal.organisation, now=now()
        )
    except WorkbenchError as error:
        _error(request, error)
    else:
        messages.success(request, _("Recording uploaded."))
    return redirect(_case_url(attempt.case_id, "recordings"))


def recording_download(request, recording_id):
    access.require(request, "case.view")
    recording = CallRecording.objects.select_related("attempt").filter(pk=recording_id).first()
    if recording is None:
        record(Action.ACCESS_DENIED, request=request, object_type="workbench.callrecording", object_id=str(recording_id))
        raise Http404
    access.get_visible_case(request.principal, recording.attempt.case_id, request=request)
    record(Action.DOWNLOAD, request=request, obj=recording, case_id=recording.attempt.case_id)
    extension = {"audio/mpeg": "mp3", "audio/wav": "wav", "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr", "audio/ogg": "ogg"}
    return stored_file(
        recording.file.open("rb"),
        content_type=recording.mime,
        filename=f"recording-{recording.attempt.started_at:%Y%m%d-%H%M}.{extension.get(recording.mime, 'bin')}",
    )


# ------------------------------------------------------------------ field visits
@require_POST
def request_visit(request, case_id):
    access.require(request, "fieldvisit.request")
    case = access.get_visible_case(request.principal, case_id, request=request)
    placement = _our_placement(request.principal, case, now())
    if placement is None:
        raise Http404
    form = VisitRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason and say what phone collection found."))
        return redirect(_case_url(case.pk, "visits"))
    try:
        services.request_field_visit(
            case=case, placement=placement, agency=request.principal.organisation, requested_by=request.user, now=now(), **form.cleaned_data
        )
    except WorkbenchError as error:
        _error(request, error)
    else:
        messages.success(request, _("Field visit requested. The lender decides."))
    return redirect(_case_url(case.pk, "visits"))


def visit_list(request):
    access.require(request, "fieldvisit.decide")
    show = request.GET.get("show", "pending")
    visits = FieldVisitRequest.objects.select_related("case", "case__debtor", "organisation", "requested_by", "report")
    if show != "all":
        show = "pending"
        visits = visits.filter(status=VisitStatus.PENDING)
    page = paginate(visits, time_field="requested_at", cursor=request.GET.get("cursor"))
    return render(request, "workbench/visits.html", {"page": page, "show": show})


def _visible_visit(request, visit_id):
    access.require(request, "case.view")
    visit = FieldVisitRequest.objects.select_related("organisation", "requested_by", "decided_by", "placement").filter(pk=visit_id).first()
    if visit is None:
        record(Action.ACCESS_DENIED, request=request, object_type="workbench.fieldvisitrequest", object_id=str(visit_id))
        raise Http404
    case = access.get_visible_case(request.principal, visit.case_id, request=request)
    return visit, case


def visit_detail(request, visit_id):
    visit, case = _visible_visit(request, visit_id)
    record(Action.VIEW_PERSONAL_DATA, request=request, obj=visit, case_id=case.pk)
    principal = request.principal
    report = FieldVisitReport.objects.filter(request=visit).select_related("visited_by").first()
    context = {
        "visit": visit,
        "case": case,
        "report": report,
        "photos": list(report.photos.all()) if report else [],
        "outside_window": False,
    }
    if report:
        policy = ContactPolicy.current()
        context["outside_window"] = not conduct.is_allowed_moment(report.visited_at, policy)
    if access.can(principal, "fieldvisit.decide") and visit.status == VisitStatus.PENDING:
        context["decide_form"] = DecideVisitForm()
    if (
        report is None
        and visit.status == VisitStatus.APPROVED
        and visit.organisation_id == principal.organisation.pk
        and access.can(principal, "fieldvisit.request")
    ):
        context["report_form"] = VisitReportForm()
    return render(request, "workbench/visit_detail.html", context)


@require_POST
def decide_visit(request, visit_id):
    access.require(request, "fieldvisit.decide")
    visit, _case = _visible_visit(request, visit_id)
    form = DecideVisitForm(request.POST)
    if form.is_valid():
        try:
            services.decide_field_visit(
                visit=visit,
                approve=form.cleaned_data["decision"] == "approve",
                decided_by=request.user,
                note=form.cleaned_data["note"],
                window_justification=form.cleaned_data["window_justification"],
                now=now(),
            )
        except WorkbenchError as error:
            _error(request, error)
        else:
            messages.success(request, _("Decision recorded."))
    else:
        messages.error(request, _("Choose approve or refuse."))
    return redirect("workbench-visit", visit_id=visit.pk)


@require_POST
def report_visit(request, visit_id):
    access.require(request, "fieldvisit.request")
    visit, _case = _visible_visit(request, visit_id)
    form = VisitReportForm(request.POST, request.FILES)
    if form.is_valid():
        visited_at = form.cleaned_data["visited_at"]
        if timezone.is_naive(visited_at):
            visited_at = timezone.make_aware(visited_at)
        try:
            services.file_visit_report(
                visit=visit,
                findings=form.cleaned_data["findings"],
                visited_at=visited_at,
                photos=form.cleaned_data["photos"],
                visited_by=request.user,
                agency=request.principal.organisation,
                window_justification=form.cleaned_data["window_justification"],
                now=now(),
            )
        except WorkbenchError as error:
            _error(request, error)
        else:
            messages.success(request, _("Visit report filed."))
    else:
        messages.error(
            request, _("Check the report: %(errors)s") % {"errors": "; ".join(e for errors in form.errors.values() for e in errors)}
        )
    return redirect("workbench-visit", visit_id=visit.pk)


def visit_photo(request, visit_photo_id):
    access.require(request, "case.view")
    photo = FieldVisitPhoto.objects.select_related("report__request").filter(pk=visit_photo_id).first()
    if photo is None:
        record(Action.ACCESS_DENIED, request=request, object_type="workbench.fieldvisitphoto", object_id=str(visit_photo_id))
        raise Http404
    case_id = photo.report.request.case_id
    access.get_visible_case(request.principal, case_id, request=request)
    record(Action.DOWNLOAD, request=request, obj=photo, case_id=case_id)
    return stored_file(photo.file.open("rb"), filename=None, content_type=photo.mime, inline=True)  # shown in the report page


# ------------------------------------------------------------------ the lender's contact policy
def contact_policy(request):
    # The contact rules are terms the lender sets for its partners, so the same role that manages engagements sets them.
    access.require(request, "engagement.manage")
    policy = ContactPolicy.current()
    initial = {
        "window_start": policy.window_start,
        "window_end": policy.window_end,
        "daily_cap": policy.daily_cap_per_debtor,
        "time_zone": policy.debtor_time_zone,
        "promise_grace_days": policy.promise_grace_days,
    }
    form = ContactPolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.set_contact_policy(
                window_start=data["window_start"],
                window_end=data["window_end"],
                daily_cap=data["daily_cap"],
                time_zone=data["time_zone"],
                promise_grace_days=data["promise_grace_days"],
                updated_by=request.user,
                now=now(),
                request=request,
            )
        except WorkbenchError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Contact rules saved."))
            return redirect("workbench-policy")
    return render(request, "workbench/policy.html", {"form": form, "policy": policy})
