"""Field visits: the agency asks, the lender approves or refuses, the report with photos lands on the case."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from outsourcing.workbench import services, uploads, views
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import FieldVisitPhoto, FieldVisitReport, FieldVisitRequest, VisitStatus
from tests.matrix_workbench import at, in_acme, make_case as make_placed_case, png_bytes
from tests.outsourcing.workbench.test_workbench_actions import under_agreement


def make_case(world, contract_no, **kwargs):
    """A placed case whose agreement allows field visits (the services enforce allowed_actions;
    tests/outsourcing/workbench/test_workbench_actions.py checks the refusals)."""
    case, placement = make_placed_case(world, contract_no, **kwargs)
    return case, under_agreement(world, placement, ["phone", "sms", "letter", "field_visit"])


def photo(name="door.png", **kwargs):
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="application/octet-stream")


@pytest.fixture
def pinned(monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(11))


def request_visit(world, case, placement, reason="deceased", now=None):
    return services.request_field_visit(
        case=case,
        placement=placement,
        agency=world.orgs["xagency"],
        reason=reason,
        note="联系人称借款人已于上月去世",
        requested_by=world.people["x_collector"].user,
        now=now or at(10),
    )


@pytest.mark.django_db
def test_request_approve_and_report_with_photos_end_to_end(world, client_for, pinned):
    with in_acme(world):
        case, _placement = make_case(world, "WB-VISIT-001")
    collector = client_for("x_collector", host="acme")
    collector.post(f"/workbench/cases/{case.pk}/field-visits/", {"reason": "deceased", "note": "联系人称借款人已于上月去世"})
    with in_acme(world):
        visit = FieldVisitRequest.objects.get(case=case)
        assert visit.status == VisitStatus.PENDING and visit.requested_by == world.people["x_collector"].user
    manager = client_for("acme_manager", host="acme")
    assert "WB-VISIT-001" in manager.get("/workbench/visits/").content.decode()
    manager.post(f"/workbench/visits/{visit.pk}/decide/", {"decision": "approve", "note": "请核实死亡证明"})
    with in_acme(world):
        visit.refresh_from_db()
        assert visit.status == VisitStatus.APPROVED and visit.decided_by == world.people["acme_manager"].user and visit.decided_at == at(11)
    jpeg = lambda: SimpleUploadedFile("room.jpg", png_bytes(fmt="JPEG"), content_type="image/png")  # noqa: E731
    response = collector.post(
        f"/workbench/visits/{visit.pk}/report/",
        {"visited_at": "2025-06-02T10:30", "findings": "邻居证实借款人已去世，家属在整理遗物", "photos": [photo(), jpeg()]},
        follow=True,
    )
    assert "after the approval" in response.content.decode()  # visited before the approval at 11:00: refused
    response = collector.post(
        f"/workbench/visits/{visit.pk}/report/",
        {"visited_at": "2025-06-02T11:00", "findings": "邻居证实借款人已去世，家属在整理遗物", "photos": [photo(), jpeg()]},
        follow=True,
    )
    assert "Visit report filed" in response.content.decode(), response.content.decode().split('<ul class="messages">')[-1][:600]
    with in_acme(world):
        report = FieldVisitReport.objects.get(request=visit)
        photos = list(report.photos.order_by("position"))
        assert [p.mime for p in photos] == ["image/png", "image/jpeg"] and photos[0].width == 4 and photos[0].height == 3
        assert all("/l_acme/workbench/visits/" in p.file.path for p in photos)
    # The report lands on the case: the collector's history and the lender's view both show it.
    assert "邻居证实借款人已去世" in collector.get(f"/workbench/cases/{case.pk}/").content.decode()
    detail = manager.get(f"/workbench/visits/{visit.pk}/").content.decode()
    assert "邻居证实借款人已去世" in detail and f"/workbench/visit-photos/{photos[0].pk}/" in detail
    image = manager.get(f"/workbench/visit-photos/{photos[0].pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image["Content-Security-Policy"] == "sandbox"


@pytest.mark.django_db
def test_the_lender_refuses_with_a_reason_and_decides_only_once(world, client_for, pinned):
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-002")
        visit = request_visit(world, case, placement, reason="broken_promises")
    manager = client_for("acme_manager", host="acme")
    manager.post(f"/workbench/visits/{visit.pk}/decide/", {"decision": "refuse", "note": ""})
    with in_acme(world):
        visit.refresh_from_db()
        assert visit.status == VisitStatus.PENDING  # a refusal needs a reason
    manager.post(f"/workbench/visits/{visit.pk}/decide/", {"decision": "refuse", "note": "先尝试短信与信函"})
    again = manager.post(f"/workbench/visits/{visit.pk}/decide/", {"decision": "approve"}, follow=True)
    assert "already been decided" in again.content.decode()
    with in_acme(world):
        visit.refresh_from_db()
        assert visit.status == VisitStatus.REFUSED and visit.decision_note == "先尝试短信与信函"
        with pytest.raises(WorkbenchError):
            services.file_visit_report(
                visit=visit,
                findings="x",
                visited_at=at(12),
                photos=[],
                visited_by=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                now=at(13),
            )


@pytest.mark.django_db
def test_agencies_cannot_decide_and_lenders_staff_cannot_request(world, client_for):
    visit = world.workbench["visit"]
    assert client_for("x_admin", host="acme").post(f"/workbench/visits/{visit.pk}/decide/", {"decision": "approve"}).status_code == 403
    assert client_for("x_collector", host="acme").get("/workbench/visits/").status_code == 403
    case = world.cases["acme_placed"]
    assert (
        client_for("acme_manager", host="acme")
        .post(f"/workbench/cases/{case.pk}/field-visits/", {"reason": "fraud", "note": "x"})
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_one_pending_request_per_case(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-003")
        request_visit(world, case, placement)
        with pytest.raises(WorkbenchError):
            request_visit(world, case, placement, reason="fraud")


@pytest.mark.django_db
def test_photos_are_checked_by_content_and_size(world, monkeypatch):
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-004")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))

        def report(photos):
            return services.file_visit_report(
                visit=visit,
                findings="门口照片",
                visited_at=at(11),
                photos=photos,
                visited_by=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                now=at(12),
            )

        fake = SimpleUploadedFile("door.png", b"<svg onload=alert(1)>", content_type="image/png")
        with pytest.raises(WorkbenchError, match="PNG or JPEG"):
            report([fake])
        truncated = SimpleUploadedFile("door.png", png_bytes()[:40])
        with pytest.raises(WorkbenchError, match="could not be read"):
            report([truncated])
        monkeypatch.setattr(uploads, "MAX_PHOTO_BYTES", 10)
        with pytest.raises(WorkbenchError, match="larger than"):
            report([photo()])
        monkeypatch.undo()
        assert not FieldVisitReport.objects.filter(request=visit).exists()  # nothing half-filed
        report([photo()])
        assert FieldVisitPhoto.objects.filter(report__request=visit).count() == 1


@pytest.mark.django_db
def test_pillow_decompression_bomb_guard_is_honoured(world, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # a 20×20 image is over the (lowered) limit
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-005")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        for size in (12, 20):  # above the warning limit, and above twice it (Pillow's error)
            with pytest.raises(WorkbenchError, match="too many pixels"):
                services.file_visit_report(
                    visit=visit,
                    findings="门口照片",
                    visited_at=at(11),
                    photos=[photo(width=size, height=size)],
                    visited_by=world.people["x_collector"].user,
                    agency=world.orgs["xagency"],
                    now=at(12),
                )


@pytest.mark.django_db
def test_a_visit_reported_outside_the_contact_window_is_flagged_for_the_lender(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(23, 30))
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-006")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        # Outside the window a visit needs a recorded justification (conduct rules); it is shown to the lender.
        services.file_visit_report(
            visit=visit,
            findings="晚间上门",
            visited_at=at(22, 15),
            photos=[],
            visited_by=world.people["x_collector"].user,
            agency=world.orgs["xagency"],
            now=at(23),
            window_justification="借款人仅晚间在家",
        )
    page = client_for("acme_manager", host="acme").get(f"/workbench/visits/{visit.pk}/").content.decode()
    assert "Outside the contact window" in page and "借款人仅晚间在家" in page


@pytest.mark.django_db
def test_a_report_cannot_be_dated_in_the_future(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-VISIT-007")
        visit = request_visit(world, case, placement)
        services.decide_field_visit(visit=visit, approve=True, decided_by=world.people["acme_manager"].user, now=at(10, 30))
        with pytest.raises(WorkbenchError):
            services.file_visit_report(
                visit=visit,
                findings="x",
                visited_at=at(12) + datetime.timedelta(days=1),
                photos=[],
                visited_by=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                now=at(12),
            )
