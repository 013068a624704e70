"""The legal staff's working day on the workspace dashboard: what is due, what awaits review, where matters stand.

The lawyer's and paralegal's home (issue 9 item 8): deadlines due this week (overdue first), packets awaiting
the lawyer's approval, matters still to file whose packet is not built, and the count of matters per stage — all
through litigation.access, so a law firm sees its own matters only.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef

from portal.access import can

from . import deadlines as rules
from .access import visible_matters
from .models import Deadline, Packet, PacketStatus, Stage

SHOWN = 8


def working_day(principal, *, today: datetime.date) -> dict | None:
    """The dashboard's legal block for ``principal``, or None if they do not work on matters."""
    if not can(principal, "matter.view"):
        return None
    matters = visible_matters(principal)
    open_deadlines = Deadline.objects.filter(matter__in=matters, done_at__isnull=True).select_related("matter", "matter__debtor")
    sunday = today + datetime.timedelta(days=6 - today.weekday())
    due = rules.due_this_week(open_deadlines.filter(due_on__lte=sunday).order_by("due_on", "id"), today)
    awaiting = Packet.objects.none()
    if can(principal, "packet.approve"):
        awaiting = (
            Packet.objects.filter(matter__in=matters, status=PacketStatus.BUILT)
            .select_related("matter", "matter__debtor", "built_by")
            .order_by("built_at")
        )
    unbuilt = matters.filter(stage=Stage.ESCALATED).exclude(Exists(Packet.objects.filter(matter=OuterRef("pk"))))
    counts = dict(matters.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    return {
        "due": due[:SHOWN],
        "due_count": len(due),
        "overdue_count": sum(1 for d in due if d.due_on < today),
        "awaiting": list(awaiting[:SHOWN]),
        "awaiting_count": awaiting.count(),
        "unbuilt": list(unbuilt.select_related("debtor").order_by("escalated_at")[:SHOWN]),
        "unbuilt_count": unbuilt.count(),
        "stages": [(Stage(stage).label, counts[stage]) for stage, _label in Stage.choices if counts.get(stage)],
        "open_count": sum(n for stage, n in counts.items() if stage != Stage.CLOSED),
        "today": today,
    }
