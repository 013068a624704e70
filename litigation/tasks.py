"""Periodic work for litigation, in every lender: the limitation deadlines follow their cases, and the people who
handle a matter are reminded of its deadlines once a day.

Beat knows no tenants: it runs the ``*_everywhere`` task on the public schema, which enqueues the per-lender task
from inside each lender's schema (outsourcing.tasks' pattern), so tenant-schemas-celery stamps the message with it
and the worker runs the task there. Idempotent: a second run the same day sends nothing more (reminders.py).
"""

from celery import shared_task
from django.db import connection

from outsourcing.tasks import _each_lender

from . import reminders
from .models import Matter, Stage
from .stages import refresh_deadlines

# A matter's limitation Deadline follows its cases' limitation_expires_on only before a court is seized (litigation.stages
# .computed_deadlines): a payment or an acknowledgement may move the date (民法典 art. 195), so it is refreshed daily.
LIMITATION_STAGES = (Stage.ESCALATED, Stage.PRE_SUIT_MEDIATION)


def refresh_limitation_deadlines() -> int:
    """Recompute the deadlines of the open matters whose limitation still runs. Returns how many matters."""
    count = 0
    for matter in Matter.objects.filter(stage__in=LIMITATION_STAGES).order_by("pk").iterator():
        refresh_deadlines(matter)
        count += 1
    return count


@shared_task(name="litigation.tasks.send_deadline_reminders", acks_late=True, reject_on_worker_lost=True)
def send_deadline_reminders():
    """In the current lender: refresh the limitation deadlines, then send the day's reminders. Returns the e-mails sent."""
    if connection.schema_name == "public":  # a message without a schema: nothing to do there
        return 0
    refresh_limitation_deadlines()
    return reminders.send_reminders()


@shared_task(name="litigation.tasks.send_deadline_reminders_everywhere", acks_late=True, reject_on_worker_lost=True)
def send_deadline_reminders_everywhere():
    """Enqueue each lender's reminders, each in its own schema. Returns the schemas."""
    return _each_lender(send_deadline_reminders)
