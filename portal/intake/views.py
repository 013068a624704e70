"""The import pages (lender host, action "case.import"; tokens: "api.integrate"). Thin: the work is in services."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import access
from portal.audit.log import Action, record
from portal.jobs.models import Job
from portal.lib import uploads
from portal.lib.downloads import attachment
from portal.lib.keyset import paginate
from tenants.models import User

from . import exports, services, tokens
from .columns import COLUMNS
from .errors import IntakeError
from .forms import MappingForm, TokenForm, UploadForm
from .models import (
    BatchSource,
    BatchStatus,
    ColumnMapping,
    ImportBatch,
    IntegrationToken,
)

PREVIEW_ERRORS = 500


def _batch(request, import_id) -> ImportBatch:
    access.require(request, "case.import")
    return get_object_or_404(ImportBatch, pk=import_id)


def _upload_refused(request, max_bytes):
    """A request declared larger than the cap: its body was never read."""
    access.require(request, "case.import")
    messages.error(request, uploads.too_large_message(max_bytes))
    return redirect(request.path)


@uploads.capped_upload(lambda: settings.MAX_UPLOAD_BYTES, refused=_upload_refused)
def intake_home(request):
    """Upload a file, download the template, see past imports."""
    access.require(request, "case.import")
    mappings = ColumnMapping.objects.all()
    form = UploadForm(request.POST or None, request.FILES or None, mappings=mappings)
    if request.method == "POST" and getattr(request, "upload_too_large", None):
        form.is_valid()  # the file was skipped while streaming: say why, not just that it is missing
        form.errors["file"] = form.error_class([uploads.too_large_message(request.upload_too_large)])
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch, mapping = services.receive_file(
                content=upload.read(),
                original_name=upload.name,
                source=BatchSource.WEB,
                created_by=request.user,
                mapping_name=form.cleaned_data["mapping"],
            )
        except IntakeError as error:
            form.add_error("file", error.message)
        else:
            if not mapping.complete:
                return redirect("intake-mapping", import_id=batch.pk)
            services.start_validation(batch=batch, user=request.user, organisation=request.principal.organisation)
            return redirect("intake-batch", import_id=batch.pk)
    page = paginate(ImportBatch.objects.all(), time_field="created_at", cursor=request.GET.get("cursor"), size=25)
    people = dict(
        User.objects.filter(pk__in={batch.created_by_id for batch in page.rows if batch.created_by_id}).values_list("pk", "email")
    )
    for batch in page.rows:
        batch.created_by_email = people.get(batch.created_by_id, "")
    return render(
        request,
        "portal/intake/home.html",
        {
            "form": form,
            "page": page,
            "columns": COLUMNS,
            "mappings": mappings,
            "can_integrate": access.can(request.principal, "api.integrate"),
        },
    )


def batch_detail(request, import_id):
    """Progress while checking or importing; then the verdict, the refused cells and the import button."""
    batch = _batch(request, import_id)
    if batch.status == BatchStatus.MAPPING:
        return redirect("intake-mapping", import_id=batch.pk)
    job = Job.objects.filter(pk=batch.job_id).first() if batch.job_id else None
    errors = batch.row_errors()[:PREVIEW_ERRORS] if batch.status in (BatchStatus.VALIDATED, BatchStatus.COMMITTED) else []
    return render(request, "portal/intake/batch.html", {"batch": batch, "job": job, "errors": errors, "preview_limit": PREVIEW_ERRORS})


def batch_progress(request, import_id):
    """The progress bar, polled by HTMX; once the work is done the page reloads itself to show the result."""
    batch = _batch(request, import_id)
    job = Job.objects.filter(pk=batch.job_id).first() if batch.job_id else None
    if not batch.is_busy or (job is not None and job.is_finished):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "portal/intake/partials/progress.html", {"batch": batch, "job": job})


def batch_mapping(request, import_id):
    """Say which column of the file is which; optionally keep the choice for the next file."""
    batch = _batch(request, import_id)
    if batch.is_busy or batch.status == BatchStatus.COMMITTED:
        return redirect("intake-batch", import_id=batch.pk)
    suggested = services.suggested_mapping(batch)
    form = MappingForm(request.POST or None, headers=batch.headers, initial_mapping=suggested.as_saved())
    if request.method == "POST" and form.is_valid():
        try:
            services.set_mapping(batch=batch, chosen=form.chosen(), save_as=form.cleaned_data["save_as"].strip(), user=request.user)
        except IntakeError as error:
            form.add_error(None, error.message)
        else:
            services.start_validation(batch=batch, user=request.user, organisation=request.principal.organisation)
            return redirect("intake-batch", import_id=batch.pk)
    return render(request, "portal/intake/mapping.html", {"batch": batch, "form": form})


@require_POST
def batch_commit(request, import_id):
    batch = _batch(request, import_id)
    if services.start_commit(batch=batch, user=request.user, organisation=request.principal.organisation) is None:
        messages.info(request, _("This file is already being imported, or has nothing to import."))
    return redirect("intake-batch", import_id=batch.pk)


def batch_errors(request, import_id):
    """Every refused cell as CSV (formula-neutralised); the download is audited."""
    batch = _batch(request, import_id)
    record(Action.DOWNLOAD, request=request, obj=batch, what="rejected rows", count=batch.rejected_total)
    return attachment(exports.errors_csv(batch), f"import-errors-{batch.created_at:%Y%m%d-%H%M}.csv", "text/csv; charset=utf-8")


def template_csv(request):
    access.require(request, "case.import")
    return attachment(exports.template_csv(), "caseport-cases-template.csv", "text/csv; charset=utf-8")


def template_xlsx(request):
    access.require(request, "case.import")
    return attachment(
        exports.template_xlsx(), "caseport-cases-template.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


@require_POST
def mapping_delete(request, column_mapping_id):
    access.require(request, "case.import")
    mapping = get_object_or_404(ColumnMapping, pk=column_mapping_id)
    mapping.delete()
    messages.success(request, _("The mapping “%(name)s” was deleted.") % {"name": mapping.name})
    return redirect("intake-home")


def token_list(request):
    """Issue integration tokens (the key is shown on this response only) and see the ones issued."""
    access.require(request, "api.integrate")
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        _token, new_key = tokens.issue_token(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user, request=request
        )
        form = TokenForm()
    return render(
        request,
        "portal/intake/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": IntegrationToken.objects.all(),
            "now": timezone.now(),
        },
    )


@require_POST
def token_rotate(request, integration_token_id):
    """A new key for the same integration; the old one keeps working for tokens.ROTATION_GRACE (shown once, like a new key)."""
    access.require(request, "api.integrate")
    token = get_object_or_404(IntegrationToken, pk=integration_token_id)
    try:
        _new, new_key = tokens.rotate_token(token=token, created_by=request.user, request=request)
    except ValueError:
        messages.error(request, _("Only an active token can be rotated."))
        return redirect("intake-tokens")
    return render(
        request,
        "portal/intake/tokens.html",
        {
            "form": TokenForm(),
            "new_key": new_key,
            "rotated": token,
            "tokens": IntegrationToken.objects.all(),
            "now": timezone.now(),
        },
    )


@require_POST
def token_revoke(request, integration_token_id):
    access.require(request, "api.integrate")
    token = get_object_or_404(IntegrationToken, pk=integration_token_id)
    if tokens.revoke_token(token=token, request=request):
        messages.success(request, _("The token “%(name)s” was revoked; requests using it are refused from now on.") % {"name": token.name})
    return redirect("intake-tokens")
