"""Batch generation (批量立案) pages: choose matters, start the job, follow it on the job page (progress, then the ZIP)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext as _, ngettext

from portal import access
from portal.jobs.models import Job
from tenants.models import Organisation

from . import batch
from .access import visible_matters
from .models import OPEN_STAGES, Stage

PAGE_SIZE = 50
CHECK_LIMIT = PAGE_SIZE  # pre-flight is checked on request, for one page at a time (it opens every exhibit)
INHOUSE = "inhouse"


def _filters(data: QueryDict) -> dict:
    return {
        "stage": data.get("stage", "") if data.get("stage", "") in OPEN_STAGES else "",
        "court": (data.get("court", "") or "")[:200],
        "firm": (data.get("firm", "") or "")[:40],
    }


def _matching(principal, filters: dict):
    """The open matters the person sees, narrowed by the filters, in matter-number order."""
    matters = visible_matters(principal).exclude(stage=Stage.CLOSED)
    if filters["stage"]:
        matters = matters.filter(stage=filters["stage"])
    if filters["court"]:
        matters = matters.filter(court=filters["court"])
    if filters["firm"] == INHOUSE:
        matters = matters.filter(firm__isnull=True)
    elif filters["firm"]:
        firm_ids = batch.uuids([filters["firm"]])
        matters = matters.filter(firm_id__in=firm_ids)
    return matters.order_by("number", "id")


def _choices(principal):
    """Filter choices drawn from the matters the person sees (never another firm's names or courts)."""
    visible = visible_matters(principal).exclude(stage=Stage.CLOSED)
    courts = sorted(c for c in visible.exclude(court="").values_list("court", flat=True).distinct()[:200] if c)
    firm_ids = set(visible.exclude(firm__isnull=True).values_list("firm_id", flat=True).distinct()[:200])
    firms = list(Organisation.objects.filter(pk__in=firm_ids).order_by("name").values_list("pk", "name"))
    has_inhouse = visible.filter(firm__isnull=True).exists()
    stages = [(value, label) for value, label in Stage.choices if value in OPEN_STAGES]
    return {"courts": courts, "firms": firms, "has_inhouse": has_inhouse, "stages": stages}


def _preflight(matters):
    """matter id -> number of blocking problems (not overridden), for at most CHECK_LIMIT matters."""
    from .preflight import blocking

    return {matter.pk: len(blocking(matter)) for matter in matters[:CHECK_LIMIT]}


def batch_new(request):
    """GET: the matters to choose from; POST: start the batch (once per person, matters and day) and go to the job page."""
    principal = access.require(request, "packet.build")
    if request.method == "POST":
        filters = _filters(request.POST)
        matching = _matching(principal, filters)
        if request.POST.get("all_matching") == "1":
            chosen = list(matching.values_list("pk", flat=True)[: batch.MAX_MATTERS + 1])
        else:
            # Only what the person sees: an id of another firm's matter is dropped here, the handler re-checks the schema.
            chosen = list(
                visible_matters(principal)
                .exclude(stage=Stage.CLOSED)
                .filter(pk__in=batch.uuids(request.POST.getlist("matter")[: batch.MAX_MATTERS + 1]))
                .values_list("pk", flat=True)
            )
        if not chosen:
            messages.error(request, _("Choose at least one matter, or tick “all matching”."))
        elif len(chosen) > batch.MAX_MATTERS:
            messages.error(
                request,
                _("A batch holds at most %(limit)s matters: narrow the filters (a court, a firm, a stage) and start several batches.")
                % {"limit": batch.MAX_MATTERS},
            )
        else:
            job = batch.start_batch(matter_ids=chosen, user=request.user, organisation=principal.organisation, language=get_language())
            return redirect("job-detail", job_id=job.pk)
        return _page(request, principal, filters, status=400)
    return _page(request, principal, _filters(request.GET))


def _page(request, principal, filters, status=200):
    matching = _matching(principal, filters)
    page = Paginator(matching.select_related("debtor", "firm"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    checked = _preflight(rows) if request.GET.get("check") == "1" else None
    # The organisation's recent batches: the job page shows each to its people who may build packets.
    recent = Job.objects.filter(kind=batch.KIND, organisation_id=principal.organisation.pk)[:10]
    query = QueryDict(mutable=True)
    query.update({key: value for key, value in filters.items() if value})
    context = {
        "page": page,
        "rows": [(matter, None if checked is None else checked.get(matter.pk)) for matter in rows],
        "checked": checked is not None,
        "filters": filters,
        "filter_query": query.urlencode(),
        "count": page.paginator.count,
        "limit": batch.MAX_MATTERS,
        "recent": recent,
        "inhouse": INHOUSE,
        "count_label": ngettext("%(count)s matter matches", "%(count)s matters match", page.paginator.count)
        % {"count": page.paginator.count},
        **_choices(principal),
    }
    return render(request, "litigation/batch/new.html", context, status=status)
