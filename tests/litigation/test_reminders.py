"""Deadline reminders: once a day, to the matter's lawyer and paralegal (or the legal managers), overdue included."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from litigation import reminders, tasks
from litigation.models import Deadline, DeadlineKind, Matter
from tests.litigation.support import escalated_matter


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    return mail.outbox


@pytest.fixture
def quiet(acme):
    """Only this test's deadlines are open: the world's other matters' deadlines are marked done inside the test."""
    Deadline.objects.filter(done_at__isnull=True).update(done_at=timezone.now())
    return acme


def _deadline(matter, kind, due_on):
    deadline, _ = Deadline.objects.update_or_create(
        matter=matter, kind=kind, source_entry=None, defaults={"due_on": due_on, "basis": "test"}
    )
    return deadline


def test_each_person_gets_one_mail_listing_their_deadlines_and_a_second_run_sends_nothing(quiet, mailbox):
    world = quiet
    today = timezone.localdate()
    lawyer, paralegal = world.people["l_lawyer"].user, world.people["l_paralegal"].user
    matter = escalated_matter(world, firm="lfirm", lawyer=lawyer, paralegal=paralegal)
    Deadline.objects.filter(matter=matter).delete()
    _deadline(matter, DeadlineKind.LIMITATION, today + datetime.timedelta(days=3))
    _deadline(matter, DeadlineKind.APPEAL, today - datetime.timedelta(days=2))  # overdue: included
    _deadline(matter, DeadlineKind.FEE_PAYMENT, today + datetime.timedelta(days=20))  # not within a week

    assert reminders.send_reminders(today) == 2
    assert sorted(m.to[0] for m in mailbox) == sorted([lawyer.email, paralegal.email])
    body = mailbox[0].body
    assert matter.number in body
    assert (today + datetime.timedelta(days=3)).isoformat() in body
    assert (today - datetime.timedelta(days=2)).isoformat() in body and "OVERDUE by 2 days" in body
    assert (today + datetime.timedelta(days=20)).isoformat() not in body
    assert "1 deadline overdue" in mailbox[0].subject

    assert reminders.send_reminders(today) == 0  # the same day again: nothing more
    assert len(mailbox) == 2
    assert reminders.due_reminders(today) == []

    mailbox.clear()
    assert reminders.send_reminders(today + datetime.timedelta(days=1)) == 2  # the next day: reminded again


def test_an_inhouse_matter_without_a_lawyer_goes_to_the_legal_managers(quiet, mailbox):
    world = quiet
    today = timezone.localdate()
    matter = escalated_matter(world)  # in-house, nobody assigned
    Deadline.objects.filter(matter=matter).delete()
    _deadline(matter, DeadlineKind.LIMITATION, today)
    assert reminders.send_reminders(today) == 1
    assert mailbox[0].to == [world.people["acme_legal"].user.email]


def test_done_deadlines_and_closed_matters_are_not_reminded(quiet, mailbox):
    world = quiet
    today = timezone.localdate()
    matter = escalated_matter(world)
    Deadline.objects.filter(matter=matter).delete()
    done = _deadline(matter, DeadlineKind.LIMITATION, today)
    done.done_at = timezone.now()
    done.save()
    closed = escalated_matter(world)
    Deadline.objects.filter(matter=closed).delete()
    _deadline(closed, DeadlineKind.LIMITATION, today)
    Matter.objects.filter(pk=closed.pk).update(stage="closed")
    assert reminders.due_reminders(today) == []
    assert reminders.send_reminders(today) == 0 and mailbox == []


def test_the_task_refreshes_the_limitation_deadline_and_reminds(quiet, mailbox):
    world = quiet
    matter = escalated_matter(world)
    case = matter.loans.get().case
    soon = timezone.localdate() + datetime.timedelta(days=5)
    type(case).objects.filter(pk=case.pk).update(limitation_expires_on=soon)  # e.g. recomputed by portal.limitation
    Deadline.objects.filter(matter=matter).update(done_at=None)
    assert tasks.send_deadline_reminders.run() == 1
    assert Deadline.objects.get(matter=matter, kind=DeadlineKind.LIMITATION).due_on == soon
    assert soon.isoformat() in mail.outbox[0].body


def test_the_everywhere_task_enqueues_one_task_per_lender(world, db, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.send_deadline_reminders, "delay", lambda: sent.append(1))
    schemas = tasks.send_deadline_reminders_everywhere.run()
    assert world.lenders["acme"].schema_name in schemas and world.lenders["beta"].schema_name in schemas
    assert len(sent) == len(schemas)
