"""Deadline reminders (期限提醒): one e-mail a day per person, listing their deadlines due within a week, and the overdue.

Who is reminded of a matter's deadline: its lawyer and its paralegal. A matter with neither (in-house and not yet
assigned, or a firm's matter nobody at the firm was given) goes to the lender's legal managers, so that no deadline
goes unwatched. A deadline is reminded once a day: ``reminded_on`` is set to the day when it is claimed (a
compare-and-swap, so two runs on the same day — or two workers — send it once).

Missing a deadline costs the claim: the limitation period (民法典 art. 188), the appeal window (CPL art. 171), the
enforcement application period (CPL art. 250); the dates themselves come from litigation.deadlines.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tenants.models import Membership, Role

from .models import Deadline, Stage

REMIND_DAYS = 7  # deadlines due within a week (and every overdue one) are in the day's reminder


def _due(today: datetime.date):
    return (
        Deadline.objects.filter(done_at__isnull=True, due_on__lte=today + datetime.timedelta(days=REMIND_DAYS))
        .exclude(matter__stage=Stage.CLOSED)
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
    )


def due_reminders(today: datetime.date) -> list[Deadline]:
    """Open deadlines of open matters due by ``today`` + 7 days (overdue included) not yet reminded ``today``."""
    return list(_due(today).select_related("matter", "matter__debtor").order_by("due_on", "id"))


def legal_managers(lender=None) -> list:
    """The lender's active legal managers (the users)."""
    lender = lender or connection.tenant
    memberships = Membership.objects.filter(
        organisation_id=lender.organisation_id, role=Role.LEGAL_MANAGER, is_active=True, user__is_active=True
    ).select_related("user")
    return [membership.user for membership in memberships.order_by("user__email")]


def recipients_for(matter, *, managers) -> list:
    """The matter's lawyer and paralegal (active users); neither: the lender's legal managers."""
    people = [person for person in (matter.lawyer, matter.paralegal) if person is not None and person.is_active]
    return people or list(managers)


def send_reminders(today: datetime.date | None = None) -> int:
    """Remind each person of their deadlines due within a week (and overdue), once a day. Returns the e-mails sent."""
    today = today or timezone.localdate()
    lender = connection.tenant
    with transaction.atomic():
        # Claim: rows locked by another run are skipped (it reminds them); the update marks them reminded today.
        claimed = list(
            _due(today)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("matter", "matter__debtor", "matter__lawyer", "matter__paralegal", "matter__firm")
            .order_by("due_on", "id")
        )
        if not claimed:
            return 0
        Deadline.objects.filter(pk__in=[d.pk for d in claimed]).update(reminded_on=today)
        managers = legal_managers(lender)
        by_person: dict = defaultdict(list)
        people = {}
        for deadline in claimed:
            for person in recipients_for(deadline.matter, managers=managers):
                people[person.pk] = person
                by_person[person.pk].append(deadline)
        url = _deadlines_url(lender)
        sent = 0
        for person_id, deadlines in by_person.items():
            person = people[person_id]
            if not person.email:
                continue
            _send(person, deadlines, today=today, lender=lender, url=url)
            sent += 1
    return sent


def _deadlines_url(lender) -> str:
    from tenants.services import lender_url

    try:
        return lender_url(lender, reverse("legal:deadlines", urlconf=settings.ROOT_URLCONF))
    except Exception:  # a lender without a primary domain (should not happen): the mail still lists the deadlines
        return ""


def _send(person, deadlines, *, today, lender, url) -> None:
    language = person.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        rows = [
            {
                "deadline": deadline,
                "kind": deadline.get_kind_display(),
                "days_left": (deadline.due_on - today).days,
                "days_overdue": (today - deadline.due_on).days,
                "overdue": deadline.due_on < today,
            }
            for deadline in deadlines
        ]
        context = {
            "person": person,
            "lender": lender,
            "rows": rows,
            "overdue": sum(1 for row in rows if row["overdue"]),
            "count": len(rows),
            "today": today,
            "url": url,
        }
        send_mail(
            subject=render_to_string("emails/deadline_reminder_subject.txt", context).strip(),
            message=render_to_string("emails/deadline_reminder.txt", context),
            from_email=None,
            recipient_list=[person.email],
        )
