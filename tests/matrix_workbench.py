"""The agency workbench's part of the isolation matrix, and the helpers its tests share.

``extend_world`` gives acme committed workbench objects on X's placement of ACME-CANARY-001: a
closed call with a promise and its recording, and an approved field visit with its report and a
photo. They are written directly (not through the services), so the case's limitation date and
risk flags stay as tests/world.py left them. The note carries a canary of its own.
"""

import contextlib
import datetime
import hashlib
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.utils import timezone
from django_tenants.utils import tenant_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTE_CANARY = "CANARY-ACME-WB-NOTE"
# Debtors the workbench tests create: valid GB 11643 numbers (420106199011112343: born 1990-11-11).
TEST_ID_NUMBER = "420106199011112343"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 400


def at(hour, minute=0, day=datetime.date(2025, 6, 2)):
    """An aware moment, Beijing time: the explicit clock the conduct tests pass in."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


def png_bytes(width=4, height=3, fmt="PNG"):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@contextlib.contextmanager
def in_acme(world):
    with tenant_context(world.lenders["acme"]):
        yield


def make_case(
    world,
    contract_no,
    *,
    agency="xagency",
    collector="x_collector",
    debtor=None,
    name="王测试",
    mobile="13912345678",
    home_phone="02161234567",
    work_phone="02168889999",
    contacts=(("李联系", "13700001111"),),
    starts_at=None,
):
    """A case placed with ``agency`` (assigned to ``collector``) for a term covering every fixed test moment and today.

    Call inside in_acme(world). Returns (case, placement).
    """
    from outsourcing.models import Placement
    from portal.models import CaseStatus, Contact
    from tests.factories import CaseFactory, DebtorFactory

    if debtor is None:
        debtor = DebtorFactory(
            name=name,
            mobile=mobile,
            home_phone=home_phone,
            work_phone=work_phone,
            address="上海市黄浦区南京东路100号",
            employer="某某科技",
            id_number=TEST_ID_NUMBER,
        )
        for position, (contact_name, phone) in enumerate(contacts, start=1):
            Contact.objects.create(debtor=debtor, name=contact_name, relation="friend", phone=phone, position=position)
    # No import evidence: the workbench tests check exactly which limitation events a contact records.
    case = CaseFactory(
        debtor=debtor,
        contract_no=contract_no,
        principal_due="15000.00",
        interest_due="812.35",
        overdue_since=datetime.date(2025, 3, 1),
        region="",
        status=CaseStatus.NEW,
        imported=False,
    )
    # Placed directly, not through place_cases: the term must start before every fixed test moment (2025), before the licences.
    placement = Placement.objects.create(
        case=case,
        partner=world.orgs[agency],
        assigned_to=world.people[collector].user if collector else None,
        starts_at=starts_at or datetime.datetime(2020, 1, 1, tzinfo=SHANGHAI),
        ends_at=timezone.now() + datetime.timedelta(days=365),
    )
    return case, placement


def extend_world(world):
    from outsourcing.models import Placement, PlacementStatus
    from outsourcing.workbench.models import (
        CallRecording,
        ContactAttempt,
        FieldVisitPhoto,
        FieldVisitReport,
        FieldVisitRequest,
        IdentityMethod,
        PromiseToPay,
        VisitStatus,
    )

    collector = world.people["x_collector"].user
    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_placed"]
        placement = Placement.objects.get(case=case, status=PlacementStatus.ACTIVE)
        started = timezone.now() - datetime.timedelta(days=2)
        attempt = ContactAttempt.objects.create(
            case=case,
            debtor_id=case.debtor_id,
            placement=placement,
            organisation=world.orgs["xagency"],
            collector=collector,
            channel="phone",
            number_kind="mobile",
            number_dialled=case.debtor.mobile,
            party_reached="debtor",
            identity_verified=True,
            identity_method=IdentityMethod.ID_LAST4,
            identity_verified_at=started,
            outcome="promise_to_pay",
            note=f"同意月底前还款 {NOTE_CANARY}",
            started_at=started,
            ended_at=started + datetime.timedelta(minutes=4),
            debtor_local_date=started.astimezone(SHANGHAI).date(),
        )
        promise = PromiseToPay.objects.create(
            case=case,
            placement=placement,
            attempt=attempt,
            amount=Decimal("3000.00"),
            promised_on=attempt.debtor_local_date,
            due_on=attempt.debtor_local_date + datetime.timedelta(days=20),
        )
        recording = CallRecording(
            attempt=attempt,
            original_name="call.mp3",
            mime="audio/mpeg",
            size=len(MP3),
            sha256=hashlib.sha256(MP3).hexdigest(),
            uploaded_by=collector,
        )
        recording.file.save("call.mp3", ContentFile(MP3), save=False)
        recording.save()
        visit = FieldVisitRequest.objects.create(
            case=case,
            placement=placement,
            organisation=world.orgs["xagency"],
            reason="unreachable",
            note=f"电话均无人接听 {NOTE_CANARY}",
            requested_by=collector,
            requested_at=started,
            status=VisitStatus.APPROVED,
            decided_by=world.people["acme_manager"].user,
            decided_at=started + datetime.timedelta(hours=2),
        )
        report = FieldVisitReport.objects.create(
            request=visit, findings="住址有人居住，留下联系函", visited_at=started + datetime.timedelta(days=1), visited_by=collector
        )
        image = png_bytes()
        photo = FieldVisitPhoto(
            report=report,
            position=1,
            original_name="door.png",
            mime="image/png",
            size=len(image),
            width=4,
            height=3,
            sha256=hashlib.sha256(image).hexdigest(),
        )
        photo.file.save("door.png", ContentFile(image), save=False)
        photo.save()
    world.canaries["acme"].append(NOTE_CANARY)
    world.workbench = {"attempt": attempt, "promise": promise, "recording": recording, "visit": visit, "report": report, "photo": photo}


def owner_kwargs(world):
    return {
        "attempt_id": world.workbench["attempt"].pk,
        "recording_id": world.workbench["recording"].pk,
        "visit_id": world.workbench["visit"].pk,
        "visit_photo_id": world.workbench["photo"].pk,
    }


# The action guarding each workbench URL (see URL_ACTIONS in tests/test_isolation_matrix.py).
URL_ACTIONS = {
    "workbench-queue": "workbench.work",
    "workbench-assign": "workbench.assign",
    "workbench-case": "case.view",
    "workbench-attempt-start": "workbench.work",
    "workbench-visit-request": "fieldvisit.request",
    "workbench-attempt-verify": "workbench.work",
    "workbench-attempt-outcome": "workbench.work",
    "workbench-recording-upload": "workbench.work",
    "workbench-recording": "case.view",
    "workbench-visits": "fieldvisit.decide",
    "workbench-visit": "case.view",
    "workbench-visit-decide": "fieldvisit.decide",
    "workbench-visit-report": "fieldvisit.request",
    "workbench-visit-photo": "case.view",
    "workbench-policy": "engagement.manage",  # the lender's contact rules: set by whoever manages engagements
}


def post_bodies(world):
    """Bodies for the workbench POSTs whose forms the world's (closed, reported) call and visit no longer show."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    today = timezone.localdate()
    return {
        "workbench-attempt-start": {"channel": "phone", "number_kind": "mobile"},
        "workbench-visit-request": {"reason": "unreachable", "note": "isolation matrix: nobody answers"},
        "workbench-attempt-verify": {"method": "id_last4", "name": "甲金丝雀", "answer": "002X"},
        "workbench-attempt-outcome": {
            "outcome": "promise_to_pay",
            "note": "isolation matrix",
            "promise_amount": "100.00",
            "promise_due_on": (today + datetime.timedelta(days=5)).isoformat(),
        },
        "workbench-recording-upload": {"file": SimpleUploadedFile("call.mp3", MP3, content_type="audio/mpeg")},
        "workbench-visit-decide": {"decision": "approve", "note": "isolation matrix"},
        "workbench-visit-report": {"visited_at": f"{today.isoformat()}T10:00", "findings": "isolation matrix: someone lives there"},
    }
