"""The agreement decides what an agency may do, and nothing is recorded once the placement has ended.

* AgreementVersion.allowed_actions is enforced by the services (a call needs "phone", a text "sms", a
  field-visit request "field_visit"); a placement made before agreements existed allows calls and texts.
* An attempt left open when its placement is recalled or expires can no longer be verified or logged;
  it is closed unlogged ("placement_ended") by the next action that meets it; a page (a GET) shows it no longer
  as open and writes nothing (issue item 15).
"""

import datetime

import pytest
from django.db.models import Max
from django.utils import timezone

from outsourcing.models import AgreementVersion, Placement, PlacementStatus
from outsourcing.placement import expire_due_placements, recall_placements
from outsourcing.workbench import services, views
from outsourcing.workbench.errors import WorkbenchError
from outsourcing.workbench.models import ContactAttempt, FieldVisitRequest, Outcome, Party
from portal.models import LimitationEvent
from tests.matrix_workbench import SHANGHAI, at, in_acme, make_case


def under_agreement(world, placement, actions):
    """Put ``placement`` under a new version of acme's agreement with agency X allowing ``actions``."""
    agreement = world.outsourcing["agreement"]
    number = (agreement.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AgreementVersion.objects.create(
        agreement=agreement, number=number, term_days=60, capacity=1000, allowed_actions=list(actions)
    )
    Placement.objects.filter(pk=placement.pk).update(agreement_version=version)
    placement.refresh_from_db()
    return placement


def start(world, case, placement, now, channel="phone", number_kind="mobile"):
    return services.start_attempt(
        case=case,
        placement=placement,
        agency=world.orgs["xagency"],
        collector=world.people["x_collector"].user,
        channel=channel,
        number_kind=number_kind,
        now=now,
    )


def visit(world, case, placement, now):
    return services.request_field_visit(
        case=case,
        placement=placement,
        agency=world.orgs["xagency"],
        reason="unreachable",
        note="三次拨打均无人接听",
        requested_by=world.people["x_collector"].user,
        now=now,
    )


def verify(world, attempt, now):
    return services.verify_identity(
        attempt=attempt, collector=world.people["x_collector"].user, method="id_last4", name="王测试", answer="2343", now=now
    )


def log(world, attempt, now, outcome="no_answer"):
    return services.record_outcome(attempt=attempt, collector=world.people["x_collector"].user, outcome=outcome, note="", now=now)


def recall(world, placement, now):
    return recall_placements(placements=[placement], by=world.people["acme_manager"].user, reason="客户投诉，撤案", now=now)


# ------------------------------------------------------------------ allowed actions
@pytest.mark.django_db
def test_a_call_needs_phone_in_the_agreement(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-001")
        under_agreement(world, placement, ["sms", "letter"])
        with pytest.raises(WorkbenchError, match="does not allow phone calls"):
            start(world, case, placement, at(10))
        assert not ContactAttempt.objects.filter(case=case).exists()
        assert start(world, case, placement, at(10), channel="sms").channel == "sms"


@pytest.mark.django_db
def test_a_text_needs_sms_in_the_agreement(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-002")
        under_agreement(world, placement, ["phone"])
        with pytest.raises(WorkbenchError, match="does not allow text messages"):
            start(world, case, placement, at(10), channel="sms")
        assert not ContactAttempt.objects.filter(case=case).exists()
        assert start(world, case, placement, at(10)).channel == "phone"


@pytest.mark.django_db
def test_a_field_visit_request_needs_field_visit_in_the_agreement(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-003")
        under_agreement(world, placement, ["phone", "sms", "letter"])
        with pytest.raises(WorkbenchError, match="does not allow field visits"):
            visit(world, case, placement, at(10))
        assert not FieldVisitRequest.objects.filter(case=case).exists()
        second, second_placement = make_case(world, "WB-ACT-004")
        under_agreement(world, second_placement, ["field_visit"])
        assert visit(world, second, second_placement, at(10)).status == "pending"
        with pytest.raises(WorkbenchError, match="does not allow phone calls"):
            start(world, second, second_placement, at(10))


@pytest.mark.django_db
def test_an_agreement_allowing_nothing_refuses_everything(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-005")
        under_agreement(world, placement, [])
        for channel in ("phone", "sms"):
            with pytest.raises(WorkbenchError, match="Refused: the agreement"):
                start(world, case, placement, at(10), channel=channel)
        with pytest.raises(WorkbenchError, match="Refused: the agreement"):
            visit(world, case, placement, at(10))


@pytest.mark.django_db
def test_a_placement_without_an_agreement_allows_calls_and_texts_only(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-006")
        assert placement.agreement_version_id is None
        assert services.allowed_actions(placement) == {"phone", "sms"}
        attempt = start(world, case, placement, at(10))
        log(world, attempt, at(10, 5))
        assert start(world, case, placement, at(10, 10), channel="sms").channel == "sms"
        with pytest.raises(WorkbenchError, match="does not allow field visits"):
            visit(world, case, placement, at(10, 15))


@pytest.mark.django_db
def test_the_case_page_offers_only_what_the_agreement_allows(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(10))
    with in_acme(world):
        case, placement = make_case(world, "WB-ACT-007")
        under_agreement(world, placement, ["sms"])
    client = client_for("x_collector", host="acme")
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert 'name="channel" value="sms"' in page and 'name="channel" value="phone"' not in page
    assert "data-visit-not-allowed" in page and f"/workbench/cases/{case.pk}/field-visits/" not in page
    # A forged form is refused by the service, with the reason on the page.
    refused = client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"}, follow=True)
    assert "does not allow phone calls" in refused.content.decode()
    refused = client.post(f"/workbench/cases/{case.pk}/field-visits/", {"reason": "fraud", "note": "疑似冒名借款"}, follow=True)
    assert "does not allow field visits" in refused.content.decode()
    with in_acme(world):
        assert not ContactAttempt.objects.filter(case=case).exists() and not FieldVisitRequest.objects.filter(case=case).exists()
        under_agreement(world, placement, ["phone", "field_visit"])
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert 'name="channel" value="phone"' in page and 'name="channel" value="sms"' not in page
    assert f"/workbench/cases/{case.pk}/field-visits/" in page and "data-visit-not-allowed" not in page


# ------------------------------------------------------------------ attempts left open when the placement ends
@pytest.mark.django_db
def test_no_outcome_is_logged_after_a_recall_and_the_attempt_is_closed_unlogged(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-END-001")
        attempt = start(world, case, placement, at(10))
        verify(world, attempt, at(10, 1))
        recall(world, placement, at(10, 5))
        with pytest.raises(WorkbenchError, match="no longer placed with your agency"):
            log(world, attempt, at(10, 10), outcome="debtor_reached")
        attempt.refresh_from_db()
        assert attempt.outcome == Outcome.PLACEMENT_ENDED and attempt.ended_at == at(10, 5)  # closed when access ended
        assert attempt.party_reached == Party.DEBTOR and attempt.identity_verified and attempt.note == ""  # what happened stays true
        # No demand is recorded as limitation evidence from a call whose outcome was never logged.
        assert not LimitationEvent.objects.filter(case=case, source_id=str(attempt.pk)).exists()
        assert not services.reveals_debt(attempt, now=at(10, 10))
        with pytest.raises(WorkbenchError, match="already closed"):
            log(world, attempt, at(10, 11))


@pytest.mark.django_db
def test_identity_cannot_be_verified_after_a_recall(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-END-002")
        attempt = start(world, case, placement, at(10))
        recall(world, placement, at(10, 2))
        with pytest.raises(WorkbenchError, match="no longer placed with your agency"):
            verify(world, attempt, at(10, 3))
        attempt.refresh_from_db()
        assert not attempt.identity_verified and attempt.identity_verified_at is None
        assert attempt.outcome == Outcome.PLACEMENT_ENDED and attempt.party_reached == Party.NONE and attempt.ended_at == at(10, 2)


@pytest.mark.django_db
def test_an_expired_term_ends_the_call_too_before_and_after_the_expiry_job(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-END-003")
        first = start(world, case, placement, at(10))
        Placement.objects.filter(pk=placement.pk).update(ends_at=at(10, 30))  # the term ends during the call
        # The expiry job has not run yet: the placement is still marked active, but no longer in force.
        with pytest.raises(WorkbenchError, match="no longer placed with your agency"):
            verify(world, first, at(10, 40))
        first.refresh_from_db()
        assert first.outcome == Outcome.PLACEMENT_ENDED and first.ended_at == at(10, 30)

        second_case, second_placement = make_case(world, "WB-END-004")
        second = start(world, second_case, second_placement, at(11))
        Placement.objects.filter(pk=second_placement.pk).update(ends_at=at(11, 30))
        assert expire_due_placements(now=at(12)) >= 1
        assert Placement.objects.get(pk=second_placement.pk).status == PlacementStatus.EXPIRED
        with pytest.raises(WorkbenchError, match="no longer placed with your agency"):
            log(world, second, at(12, 5))
        second.refresh_from_db()
        assert second.outcome == Outcome.PLACEMENT_ENDED and second.ended_at == at(11, 30)


@pytest.mark.django_db
def test_close_orphaned_attempts_closes_only_attempts_whose_placement_ended(world):
    with in_acme(world):
        ended_case, ended = make_case(world, "WB-END-005")
        live_case, live = make_case(world, "WB-END-006")
        orphan = start(world, ended_case, ended, at(10))
        working = start(world, live_case, live, at(10))
        # The lender's own collection has no placement: nothing ends it.
        own = ContactAttempt.objects.create(
            case=live_case,
            debtor_id=live_case.debtor_id,
            placement=None,
            organisation=world.orgs["acme"],
            collector=world.people["acme_manager"].user,
            channel="phone",
            number_kind="mobile",
            number_dialled="13912345678",
            started_at=at(10),
            debtor_local_date=at(10).date(),
        )
        recall(world, ended, at(10, 5))
        assert services.close_orphaned_attempts(now=at(10, 10)) == 1
        assert services.close_orphaned_attempts(now=at(10, 11)) == 0  # idempotent
        states = dict(ContactAttempt.objects.filter(pk__in=[orphan.pk, working.pk, own.pk]).values_list("pk", "outcome"))
        assert states == {orphan.pk: Outcome.PLACEMENT_ENDED, working.pk: "", own.pk: ""}
        # The closed attempt is as final as any other (the database refuses to reopen it).
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError), transaction.atomic():
            ContactAttempt.objects.filter(pk=orphan.pk).update(outcome="")


@pytest.mark.django_db
def test_a_case_placed_again_shows_no_stale_call_and_the_collector_can_dial_again(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(10, 10))
    with in_acme(world):
        case, placement = make_case(world, "WB-END-007")
        orphan = start(world, case, placement, at(10))
        verify(world, orphan, at(10, 1))
        recall(world, placement, at(10, 5))
        # The lender places the case with the same agency again, for the same collector.
        Placement.objects.create(
            case=case,
            partner=world.orgs["xagency"],
            assigned_to=world.people["x_collector"].user,
            starts_at=at(10, 6),
            ends_at=timezone.now() + datetime.timedelta(days=30),
        )
    client = client_for("x_collector", host="acme")
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "¥15,812.35" not in page and "data-debt-hidden" in page  # the old verification reveals nothing
    assert f"/workbench/attempts/{orphan.pk}/outcome/" not in page
    # The old attempt can no longer be logged, even though the case is visible again; the refusal closes it, unlogged.
    refused = client.post(f"/workbench/attempts/{orphan.pk}/outcome/", {"outcome": "debtor_reached"}, follow=True)
    assert "The open attempt was closed unlogged" in refused.content.decode()
    assert "Closed unlogged: the placement ended" in client.get(f"/workbench/cases/{case.pk}/").content.decode()
    client.post(f"/workbench/cases/{case.pk}/attempts/", {"channel": "phone", "number_kind": "mobile"})
    with in_acme(world):
        assert ContactAttempt.objects.filter(case=case, outcome="").exclude(pk=orphan.pk).count() == 1


@pytest.mark.django_db
def test_starting_a_call_closes_a_stale_one_instead_of_blocking(world):
    with in_acme(world):
        case, placement = make_case(world, "WB-END-008")
        orphan = start(world, case, placement, at(10))
        recall(world, placement, at(10, 5))
        again = Placement.objects.create(
            case=case,
            partner=world.orgs["xagency"],
            assigned_to=world.people["x_collector"].user,
            starts_at=at(10, 6),
            ends_at=timezone.now() + datetime.timedelta(days=30),
        )
        attempt = start(world, case, again, at(10, 10))
        assert attempt.is_open and attempt.placement_id == again.pk
        orphan.refresh_from_db()
        assert orphan.outcome == Outcome.PLACEMENT_ENDED


@pytest.mark.django_db
def test_the_queue_writes_nothing_and_the_next_action_closes_the_collectors_stale_call(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(10, 10))
    with in_acme(world):
        case, placement = make_case(world, "WB-END-009")
        orphan = start(world, case, placement, at(10))
        Placement.objects.filter(pk=placement.pk).update(status=PlacementStatus.RECALLED, ended_at=at(10, 5))
    assert client_for("x_collector", host="acme").get("/workbench/").status_code == 200
    with in_acme(world):
        orphan.refresh_from_db()
        assert orphan.outcome == ""  # a GET writes nothing (issue item 15)
        with pytest.raises(WorkbenchError):
            verify(world, orphan, at(10, 10))
        orphan.refresh_from_db()
        assert orphan.outcome == Outcome.PLACEMENT_ENDED and orphan.ended_at == at(10, 5)
        assert orphan.ended_at.astimezone(SHANGHAI).date() == orphan.debtor_local_date
