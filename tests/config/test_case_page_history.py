"""The lender's case page shows the whole collection history — every agency's attempts, promises,
recordings and field visits — so a manager supervises the agencies without signing in as one
(entrusted processing stays under the lender's supervision, PIPL art. 21). Agencies never see each
other's work there, and the page costs a fixed number of queries however long the history is."""

import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing.case_panels import PANEL_ATTEMPTS
from outsourcing.models import Placement, PlacementStatus
from outsourcing.workbench.models import CallRecording, ContactAttempt, FieldVisitReport, FieldVisitRequest, PromiseToPay, VisitStatus
from tests.matrix_workbench import MP3, SHANGHAI, in_acme, make_case

pytestmark = pytest.mark.django_db

X_NOTE, Y_NOTE = "CANARY-HIST-X-3391", "CANARY-HIST-Y-7720"


def attempts(case, placement, agency, collector, *, n, note, start):
    rows = [
        ContactAttempt(
            case=case,
            debtor_id=case.debtor_id,
            placement=placement,
            organisation=agency,
            collector=collector,
            channel="phone",
            number_kind="mobile",
            number_dialled="13912345678",
            party_reached="none",
            outcome="no_answer",
            note=f"{note}-{i}",
            started_at=start + datetime.timedelta(hours=i),
            ended_at=start + datetime.timedelta(hours=i, minutes=2),
            debtor_local_date=(start + datetime.timedelta(hours=i)).astimezone(SHANGHAI).date(),
        )
        for i in range(n)
    ]
    return ContactAttempt.objects.bulk_create(rows)


def handed_over_case(world, contract_no, *, x_attempts=2, y_attempts=2):
    """Worked by agency X (recalled), now placed with agency Y; each left attempts, X a promise, a recording and a visit."""
    x, y = world.orgs["xagency"], world.orgs["yagency"]
    x_collector, y_collector = world.people["x_collector"].user, world.people["y_collector"].user
    with in_acme(world):
        case, y_placement = make_case(world, contract_no, agency="yagency", collector="y_collector")
        earlier = timezone.now() - datetime.timedelta(days=60)
        x_placement = Placement.objects.create(
            case=case,
            partner=x,
            assigned_to=x_collector,
            status=PlacementStatus.RECALLED,
            starts_at=earlier,
            ends_at=earlier + datetime.timedelta(days=90),
            ended_at=earlier + datetime.timedelta(days=20),
        )
        x_rows = attempts(case, x_placement, x, x_collector, n=x_attempts, note=X_NOTE, start=earlier + datetime.timedelta(days=1))
        attempts(case, y_placement, y, y_collector, n=y_attempts, note=Y_NOTE, start=timezone.now() - datetime.timedelta(days=5))
        promised = x_rows[0]
        PromiseToPay.objects.create(
            case=case,
            placement=x_placement,
            attempt=promised,
            amount=Decimal("4321.00"),
            promised_on=promised.debtor_local_date,
            due_on=promised.debtor_local_date + datetime.timedelta(days=10),
        )
        recording = CallRecording(
            attempt=promised,
            original_name="call.mp3",
            mime="audio/mpeg",
            size=len(MP3),
            sha256=hashlib.sha256(MP3).hexdigest(),
            uploaded_by=x_collector,
        )
        recording.file.save("call.mp3", ContentFile(MP3), save=False)
        recording.save()
        visit = FieldVisitRequest.objects.create(
            case=case,
            placement=x_placement,
            organisation=x,
            reason="unreachable",
            note="VISIT-NOTE-X",
            requested_by=x_collector,
            requested_at=earlier + datetime.timedelta(days=3),
            status=VisitStatus.APPROVED,
            decided_by=world.people["acme_manager"].user,
            decided_at=earlier + datetime.timedelta(days=4),
        )
        FieldVisitReport.objects.create(
            request=visit, findings="VISIT-FINDINGS-X", visited_at=earlier + datetime.timedelta(days=5), visited_by=x_collector
        )
    return case, recording, visit


def test_a_manager_sees_every_agencys_work_on_the_case_page(world, client_for):
    case, recording, visit = handed_over_case(world, "HIST-001")
    page = client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/").content.decode()
    panel = page.split('id="collection-history"')[1]
    for text in (
        f"{X_NOTE}-0",
        f"{X_NOTE}-1",
        f"{Y_NOTE}-0",
        f"{Y_NOTE}-1",
        "迅达催收 X",
        "远航催收 Y",
        "x_collector",
        "y_collector",
        "No answer",
        "¥4,321.00",
        "VISIT-NOTE-X",
        "VISIT-FINDINGS-X",
        "Approved",
    ):
        assert text in panel, text
    assert f'href="/workbench/recordings/{recording.pk}/"' in panel  # the authorised, audited download
    assert f'href="/workbench/visits/{visit.pk}/"' in panel
    # The link works for the manager.
    assert client_for("acme_manager", host="acme").get(f"/workbench/recordings/{recording.pk}/").status_code == 200


@pytest.mark.parametrize("persona", ["acme_admin", "acme_legal"])
def test_other_supervising_roles_see_the_panel(persona, world, client_for):
    case, _recording, _visit = handed_over_case(world, f"HIST-ROLE-{persona}")
    assert f"{X_NOTE}-0" in client_for(persona, host="acme").get(f"/cases/{case.pk}/").content.decode()


def test_finance_does_not_get_the_collection_history(world, client_for):
    case, _recording, _visit = handed_over_case(world, "HIST-FIN")
    page = client_for("acme_finance", host="acme").get(f"/cases/{case.pk}/").content.decode()
    assert 'id="collection-history"' not in page and X_NOTE not in page


@pytest.mark.parametrize("persona", ["y_admin", "y_collector"])
def test_the_agency_now_working_the_case_never_sees_the_previous_agencys_work_on_the_case_page(persona, world, client_for):
    case, recording, _visit = handed_over_case(world, f"HIST-Y-{persona}")
    page = client_for(persona, host="acme").get(f"/cases/{case.pk}/").content.decode()
    assert 'id="collection-history"' not in page
    assert X_NOTE not in page and "VISIT-NOTE-X" not in page and str(recording.pk) not in page and "¥4,321.00" not in page


def test_the_previous_agency_no_longer_sees_the_case(world, client_for):
    case, _recording, _visit = handed_over_case(world, "HIST-X-GONE")
    assert client_for("x_admin", host="acme").get(f"/cases/{case.pk}/").status_code == 404


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_whatever_the_history_size(world, client_for):
    small, _r, _v = handed_over_case(world, "HIST-Q-SMALL", x_attempts=2, y_attempts=1)
    large, _r, _v = handed_over_case(world, "HIST-Q-LARGE", x_attempts=30, y_attempts=25)
    client = client_for("acme_manager", host="acme")
    _queries(client, f"/cases/{small.pk}/")  # warm the per-person caches
    assert _queries(client, f"/cases/{small.pk}/") == _queries(client, f"/cases/{large.pk}/")
    assert _queries(client, f"/cases/{small.pk}/?history=all") == _queries(client, f"/cases/{large.pk}/?history=all")


def test_a_long_history_is_capped_with_a_show_all_link(world, client_for):
    case, _r, _v = handed_over_case(world, "HIST-CAP", x_attempts=PANEL_ATTEMPTS, y_attempts=5)
    client = client_for("acme_manager", host="acme")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "?history=all#collection-history" in page
    assert f"{X_NOTE}-0<" not in page  # X's oldest attempt is beyond the cap (newest first)
    everything = client.get(f"/cases/{case.pk}/?history=all").content.decode()
    assert f"{X_NOTE}-0<" in everything and "?history=all#collection-history" not in everything
    with tenant_context(world.lenders["acme"]):
        assert ContactAttempt.objects.filter(case=case).count() == PANEL_ATTEMPTS + 5
