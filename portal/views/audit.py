from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal import access
from portal.audit.models import Action, AuditEvent
from portal.jobs.services import start_job
from portal.lib.keyset import paginate


def audit_log(request):
    access.require(request, "audit.view")
    events = AuditEvent.objects.all()
    action = request.GET.get("action", "")
    if action in Action.values:
        events = events.filter(action=action)
    page = paginate(events, time_field="at", cursor=request.GET.get("cursor"))
    return render(request, "portal/audit_log.html", {"page": page, "actions": Action.choices, "action": action})


@require_POST
def audit_export(request):
    access.require(request, "audit.export")
    job = start_job(
        kind="audit_export",
        params={"action": request.POST.get("action", "")},
        user=request.user,
        organisation=request.principal.organisation,
    )
    return redirect("job-detail", job_id=job.pk)
