"""Call recordings: audio judged by its content, size-limited, stored per lender, served only to those who see the case."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outsourcing.workbench import services, uploads, views
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import CallRecording
from portal.audit.models import Action, AuditEvent
from tests.matrix_workbench import MP3, at, in_acme, make_case

SAMPLES = {
    "audio/mpeg": [MP3, b"\xff\xfb\x90\x64" + b"\x00" * 64, b"\xff\xf3\x48\xc4" + b"\x00" * 64],  # ID3; MPEG-1 and MPEG-2 layer III frames
    "audio/wav": [b"RIFF\x24\x08\x00\x00WAVEfmt " + b"\x00" * 64],
    "audio/mp4": [b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + b"\x00" * 64],
    "audio/aac": [b"\xff\xf1\x50\x80" + b"\x00" * 64],  # ADTS
    "audio/amr": [b"#!AMR\n" + b"\x00" * 64, b"#!AMR-WB\n" + b"\x00" * 64],
    "audio/ogg": [b"OggS\x00\x02" + b"\x00" * 64],
}
NOT_AUDIO = [
    b"<html><script>alert(1)</script></html>",
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 32,
    b"MZ\x90\x00",
    b"PK\x03\x04",
    b"",
]


@pytest.mark.parametrize("mime,head", [(mime, head) for mime, heads in SAMPLES.items() for head in heads])
def test_each_accepted_audio_format_is_recognised_by_its_bytes(mime, head):
    assert uploads.sniff_audio(head[:16]) == mime


@pytest.mark.parametrize("head", NOT_AUDIO)
def test_anything_else_is_not_audio(head):
    assert uploads.sniff_audio(head[:16]) is None


def closed_call(world, contract_no):
    case, placement = make_case(world, contract_no)
    collector = world.people["x_collector"].user
    attempt = services.start_attempt(
        case=case, placement=placement, agency=world.orgs["xagency"], collector=collector, channel="phone", number_kind="mobile", now=at(10)
    )
    services.record_outcome(attempt=attempt, collector=collector, outcome="no_answer", now=at(10, 1))
    return case, attempt


@pytest.mark.django_db
def test_a_recording_is_uploaded_checked_and_stored_under_the_lender(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(10, 5))
    with in_acme(world):
        case, attempt = closed_call(world, "WB-REC-001")
    client = client_for("x_collector", host="acme")
    disguised = SimpleUploadedFile("call.mp3", b"<html><script>alert(1)</script></html>", content_type="audio/mpeg")
    refused = client.post(f"/workbench/attempts/{attempt.pk}/recording/", {"file": disguised}, follow=True).content.decode()
    assert "judged by the file" in refused
    real = SimpleUploadedFile("call.txt", MP3, content_type="text/plain")  # the name and the browser's type do not matter
    client.post(f"/workbench/attempts/{attempt.pk}/recording/", {"file": real})
    with in_acme(world):
        recording = CallRecording.objects.get(attempt=attempt)
        assert recording.mime == "audio/mpeg" and recording.size == len(MP3) and recording.sha256 == hashlib.sha256(MP3).hexdigest()
        assert recording.file.name.startswith("workbench/recordings/") and "call" not in recording.file.name
        assert "/l_acme/" in recording.file.path  # TenantFileSystemStorage keeps each lender's files apart
    download = client_for("acme_manager", host="acme").get(f"/workbench/recordings/{recording.pk}/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert download["Content-Security-Policy"] == "sandbox" and b"".join(download.streaming_content) == MP3
    with in_acme(world):
        assert AuditEvent.objects.filter(action=Action.DOWNLOAD, object_id=str(recording.pk)).exists()


@pytest.mark.django_db
def test_an_oversized_recording_is_refused(world, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_RECORDING_BYTES", 100)
    with in_acme(world):
        _case, attempt = closed_call(world, "WB-REC-002")
        with pytest.raises(WorkbenchError) as refusal:
            services.upload_recording(
                attempt=attempt,
                upload=SimpleUploadedFile("long.mp3", MP3),
                uploaded_by=world.people["x_collector"].user,
                agency=world.orgs["xagency"],
                now=at(10, 5),
            )
        assert "larger than" in refusal.value.message
        assert not CallRecording.objects.filter(attempt=attempt).exists()


@pytest.mark.django_db
def test_another_agency_cannot_attach_a_recording_to_our_call(world):
    with in_acme(world):
        _case, attempt = closed_call(world, "WB-REC-003")
        with pytest.raises(WorkbenchError):
            services.upload_recording(
                attempt=attempt,
                upload=SimpleUploadedFile("x.mp3", MP3),
                uploaded_by=world.people["y_collector"].user,
                agency=world.orgs["yagency"],
                now=at(10, 5),
            )


@pytest.mark.django_db
def test_recordings_leave_with_the_placement(world, client_for):
    """The world's recording is on X's placement of ACME-CANARY-001: X's other collector and agency Y never get it."""
    recording = world.workbench["recording"]
    assert client_for("x_collector", host="acme").get(f"/workbench/recordings/{recording.pk}/").status_code == 200
    for persona in ("x_collector2", "y_admin", "y_collector"):
        assert client_for(persona, host="acme").get(f"/workbench/recordings/{recording.pk}/").status_code == 404
