"""Placing cases (委案), recall (撤案), term expiry and holds (留案): the business rules."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import agreements, placement, tasks
from outsourcing.models import HoldRequest, HoldStatus, Placement, PlacementStatus
from outsourcing.placement import PlacementRefused
from portal import access
from portal.models import Case, CaseStatus
from tenants import services
from tenants.models import EngagementStatus, LicenceStatus
from tests.factories import CaseFactory, manager
from tests.matrix_outsourcing import terms

pytestmark = pytest.mark.django_db


def y_agreement(world, **overrides):
    return agreements.create_agreement(partner=world.orgs["yagency"], created_by=manager(world), terms=terms(**overrides))


def refused_codes(excinfo):
    return excinfo.value.codes


def test_placing_cases_follows_the_agreement_in_force(acme):
    world = acme
    cases = CaseFactory.create_batch(3, dpd=45, principal_due="1200.50")
    version = world.outsourcing["agreement"].current_version
    now = timezone.now()
    placed = placement.place_cases(cases=cases, partner=world.orgs["xagency"], placed_by=manager(world), now=now)
    assert len(placed) == 3
    for p in placed:
        assert p.agreement_version == version and p.round == 1 and p.bucket == "M2"
        # A term is whole local days: from the local midnight that began the day of placement, term_days days long.
        day_start = datetime.datetime.combine(timezone.localdate(now), datetime.time.min, tzinfo=timezone.get_default_timezone())
        assert p.starts_at == day_start
        assert p.ends_at == day_start + datetime.timedelta(days=version.term_days) == p.term_ends_at
        assert str(p.balance_at_placement) == "1200.50"
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {CaseStatus.PLACED}
    x_admin = access.principal_for(world.people["x_admin"].user, world.lenders["acme"])
    assert set(access.visible_cases(x_admin).filter(pk__in=[c.pk for c in cases]).values_list("pk", flat=True)) == {c.pk for c in cases}


def test_a_revision_applies_to_new_placements_only(acme):
    world = acme
    first, second = CaseFactory.create_batch(2)
    old = placement.place_cases(cases=[first], partner=world.orgs["xagency"], placed_by=manager(world))[0]
    revised = agreements.revise_agreement(agreement=world.outsourcing["agreement"], created_by=manager(world), terms=terms(term_days=30))
    new = placement.place_cases(cases=[second], partner=world.orgs["xagency"], placed_by=manager(world))[0]
    old.refresh_from_db()
    assert old.agreement_version.number == 1 and old.agreement_version.term_days == 60
    assert new.agreement_version == revised and revised.number == 2
    assert (new.ends_at - new.starts_at).days == 30


def test_refused_when_the_engagement_is_not_active(acme):
    world = acme
    y_agreement(world)
    engagement = world.lenders["acme"].engagements.get(partner=world.orgs["yagency"])
    services.set_engagement_status(engagement=engagement, status=EngagementStatus.SUSPENDED)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["yagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["engagement"]
    assert "not an active partner" in excinfo.value.messages[0]


@pytest.mark.parametrize("change", ["unverified", "expired"])
def test_refused_when_the_licence_is_unverified_or_expired(acme, change):
    world = acme
    y_agreement(world)
    licence = world.orgs["yagency_licence"]
    if change == "unverified":
        type(licence).objects.filter(pk=licence.pk).update(status=LicenceStatus.PENDING)
    else:
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        type(licence).objects.filter(pk=licence.pk).update(valid_from=yesterday - datetime.timedelta(days=365), valid_to=yesterday)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["yagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["licence"]
    assert "no verified, unexpired collection licence" in excinfo.value.messages[0]
    assert not Placement.objects.filter(partner=world.orgs["yagency"], status=PlacementStatus.ACTIVE).exists()


def test_refused_without_an_agreement(acme):
    world = acme
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["yagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["no_agreement"]


def test_refused_over_capacity_and_nothing_is_placed(acme):
    world = acme
    agreements.revise_agreement(agreement=world.outsourcing["agreement"], created_by=manager(world), terms=terms(capacity=4))
    cases = CaseFactory.create_batch(3)  # X already holds the two canaries: 2 + 3 > 4
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=cases, partner=world.orgs["xagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["capacity"]
    assert "2 active and 3 new cases exceed its capacity of 4" in excinfo.value.messages[0]
    assert not Placement.objects.filter(case__in=cases).exists()
    assert len(placement.place_cases(cases=cases[:2], partner=world.orgs["xagency"], placed_by=manager(world))) == 2


def test_refused_when_already_placed_or_placed_with_that_agency_before(acme):
    world = acme
    y_agreement(world)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=[world.cases["acme_placed"]], partner=world.orgs["yagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["already_placed"]
    assert "ACME-CANARY-001 is already placed with" in excinfo.value.messages[0]
    # ACME-CANARY-004 was with Y and recalled: never back to Y (rotation), but X may take it.
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=[world.cases["acme_recalled"]], partner=world.orgs["yagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["rotation"]
    placed = placement.place_cases(cases=[world.cases["acme_recalled"]], partner=world.orgs["xagency"], placed_by=manager(world))
    assert placed[0].round == 2  # 手别: its second outsourcing


@pytest.mark.parametrize("status", [CaseStatus.LITIGATION, CaseStatus.SETTLED, CaseStatus.WRITTEN_OFF, CaseStatus.CLOSED])
def test_cases_in_litigation_or_closed_are_never_placed(acme, status):
    world = acme
    case = CaseFactory(status=status)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=manager(world))
    assert refused_codes(excinfo) == ["case_status"]


def test_every_reason_is_listed_and_nothing_is_placed(acme):
    world = acme
    good = CaseFactory()
    closed = CaseFactory(status=CaseStatus.CLOSED)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.place_cases(cases=[good, closed, world.cases["acme_placed"]], partner=world.orgs["xagency"], placed_by=manager(world))
    assert sorted(refused_codes(excinfo)) == ["already_placed", "case_status"]
    assert not Placement.objects.filter(case=good).exists()


def test_recall_ends_access_at_once_and_returns_the_case_in_house(acme):
    world = acme
    case = CaseFactory()
    placed = placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=manager(world))[0]
    x_admin = access.principal_for(world.people["x_admin"].user, world.lenders["acme"])
    assert access.visible_cases(x_admin).filter(pk=case.pk).exists()
    assert placement.recall_placements(placements=[placed], by=manager(world), reason="客户投诉") == 1
    placed.refresh_from_db()
    case.refresh_from_db()
    assert placed.status == PlacementStatus.RECALLED and placed.recall_reason == "客户投诉" and placed.ended_by == manager(world)
    assert case.status == CaseStatus.INTERNAL
    assert not access.visible_cases(x_admin).filter(pk=case.pk).exists()
    with pytest.raises(PlacementRefused) as excinfo:
        placement.recall_placements(placements=[placed], by=manager(world), reason="again")
    assert refused_codes(excinfo) == ["nothing_to_recall"]


def test_a_recall_needs_a_reason(acme):
    with pytest.raises(PlacementRefused) as excinfo:
        placement.recall_placements(placements=[acme.outsourcing["placement"]], by=manager(acme), reason="  ")
    assert refused_codes(excinfo) == ["recall_reason"]


def test_recall_many_at_once(acme):
    world = acme
    cases = CaseFactory.create_batch(5)
    placed = placement.place_cases(cases=cases, partner=world.orgs["xagency"], placed_by=manager(world))
    assert (
        placement.recall_placements(
            placements=Placement.objects.filter(pk__in=[p.pk for p in placed[:4]]), by=manager(world), reason="调整"
        )
        == 4
    )
    assert Placement.objects.active().filter(case__in=cases).count() == 1


def test_expiry_records_what_the_clock_decided_and_is_idempotent(acme):
    world = acme
    cases = CaseFactory.create_batch(2, dpd=120)
    started = timezone.now() - datetime.timedelta(days=61)
    placed = placement.place_cases(cases=cases, partner=world.orgs["xagency"], placed_by=manager(world), now=started)
    x_admin = access.principal_for(world.people["x_admin"].user, world.lenders["acme"])
    assert not access.visible_cases(x_admin).filter(pk__in=[c.pk for c in cases]).exists()  # over before anything ran
    assert placement.expire_due_placements() == 2
    assert placement.expire_due_placements() == 0
    for p in placed:
        p.refresh_from_db()
        assert p.status == PlacementStatus.EXPIRED and p.ended_at == p.ends_at
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {CaseStatus.INTERNAL}
    # An expired case may go to another agency straight away, but never back to X.
    y_agreement(world)
    assert len(placement.place_cases(cases=cases, partner=world.orgs["yagency"], placed_by=manager(world))) == 2


def test_a_case_whose_term_ran_out_can_be_placed_before_the_sweeper_runs(acme):
    world = acme
    y_agreement(world)
    case = CaseFactory(dpd=120)
    old = placement.place_cases(
        cases=[case], partner=world.orgs["xagency"], placed_by=manager(world), now=timezone.now() - datetime.timedelta(days=61)
    )[0]
    new = placement.place_cases(cases=[case], partner=world.orgs["yagency"], placed_by=manager(world))[0]
    old.refresh_from_db()
    assert old.status == PlacementStatus.EXPIRED and new.round == 2


def test_an_approved_hold_keeps_the_case_with_the_agency_until_its_date(acme):
    world = acme
    case = CaseFactory(dpd=120)
    started = timezone.now() - datetime.timedelta(days=59)
    placed = placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=manager(world), now=started)[0]
    until = timezone.localdate(placed.ends_at) + datetime.timedelta(days=10)
    hold = placement.request_hold(placement=placed, by=world.people["x_admin"].user, until=until, reason="承诺还款日在期限之后")
    assert hold.status == HoldStatus.PENDING
    with pytest.raises(PlacementRefused) as excinfo:
        placement.request_hold(placement=placed, by=world.people["x_admin"].user, until=until, reason="again")
    assert refused_codes(excinfo) == ["hold_pending"]
    placement.decide_hold(hold=hold, by=manager(world), approve=True, note="同意")
    placed.refresh_from_db()
    assert placed.held_until == placed.ends_at and placed.last_day == until  # the hold keeps the whole of its last day
    assert placed.term_ends_at < placed.ends_at
    # Two days after the original term: still in force, so neither the sweeper nor access ends it.
    later = placed.term_ends_at + datetime.timedelta(days=2)
    assert Placement.objects.active(later).filter(pk=placed.pk).exists()
    assert placement.expire_due_placements(now=later) == 0
    assert placement.expire_due_placements(now=placed.ends_at + datetime.timedelta(seconds=1)) == 1


def test_a_refused_hold_changes_nothing(acme):
    world = acme
    placed = placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["xagency"], placed_by=manager(world))[0]
    hold = placement.request_hold(
        placement=placed, by=world.people["x_admin"].user, until=timezone.localdate(placed.ends_at) + datetime.timedelta(days=5), reason="r"
    )
    ends = placed.ends_at
    placement.decide_hold(hold=hold, by=manager(world), approve=False, note="不同意")
    placed.refresh_from_db()
    assert placed.ends_at == ends and placed.held_until is None
    with pytest.raises(PlacementRefused) as excinfo:
        placement.decide_hold(hold=hold, by=manager(world), approve=True)
    assert refused_codes(excinfo) == ["hold_decided"]


def test_hold_limits(acme):
    world = acme
    placed = placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["xagency"], placed_by=manager(world))[0]
    x = world.people["x_admin"].user
    end = timezone.localdate(placed.ends_at)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.request_hold(placement=placed, by=x, until=end - datetime.timedelta(days=1), reason="r")
    assert refused_codes(excinfo) == ["hold_not_later"]
    with pytest.raises(PlacementRefused) as excinfo:
        placement.request_hold(placement=placed, by=x, until=end + datetime.timedelta(days=31), reason="r")
    assert refused_codes(excinfo) == ["hold_too_long"]
    with pytest.raises(PlacementRefused) as excinfo:
        placement.request_hold(placement=placed, by=x, until=end + datetime.timedelta(days=5), reason=" ")
    assert refused_codes(excinfo) == ["hold_reason"]


def test_pending_holds_lapse_when_the_placement_ends(acme):
    world = acme
    placed = placement.place_cases(cases=CaseFactory.create_batch(1), partner=world.orgs["xagency"], placed_by=manager(world))[0]
    hold = placement.request_hold(
        placement=placed, by=world.people["x_admin"].user, until=timezone.localdate(placed.ends_at) + datetime.timedelta(days=3), reason="r"
    )
    placement.recall_placements(placements=[placed], by=manager(world), reason="撤案")
    hold.refresh_from_db()
    assert hold.status == HoldStatus.LAPSED
    with pytest.raises(PlacementRefused):
        placement.decide_hold(hold=hold, by=manager(world), approve=True)


def test_a_hold_cannot_revive_an_ended_placement(acme):
    world = acme
    placed = placement.place_cases(
        cases=CaseFactory.create_batch(1, dpd=120),
        partner=world.orgs["xagency"],
        placed_by=manager(world),
        now=timezone.now() - datetime.timedelta(days=59),
    )[0]
    hold = placement.request_hold(
        placement=placed, by=world.people["x_admin"].user, until=timezone.localdate(placed.ends_at) + datetime.timedelta(days=3), reason="r"
    )
    after = placed.ends_at + datetime.timedelta(minutes=1)
    with pytest.raises(PlacementRefused) as excinfo:
        placement.decide_hold(hold=hold, by=manager(world), approve=True, now=after)
    assert refused_codes(excinfo) == ["placement_ended"]
    assert HoldRequest.objects.get(pk=hold.pk).status == HoldStatus.PENDING


def test_the_beat_task_expires_placements_in_every_lender_in_its_schema(world, settings):
    from config.celery import app

    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(dpd=120)
        placed = placement.place_cases(
            cases=[case], partner=world.orgs["xagency"], placed_by=manager(world), now=timezone.now() - datetime.timedelta(days=61)
        )[0]
    with tenant_context(world.lenders["beta"]):
        beta_placements = list(Placement.objects.filter(status=PlacementStatus.ACTIVE).values_list("pk", flat=True))
    connection.set_schema_to_public()
    app.conf.task_always_eager = True
    try:
        schemas = tasks.expire_placements_everywhere.apply().get()
    finally:
        app.conf.task_always_eager = False
    assert "l_acme" in schemas and "l_beta" in schemas and "public" not in schemas and "tenant_template" not in schemas
    assert connection.schema_name == "public"
    with tenant_context(world.lenders["acme"]):
        assert Placement.objects.get(pk=placed.pk).status == PlacementStatus.EXPIRED
        assert Placement.objects.get(case=world.cases["acme_placed"], status=PlacementStatus.ACTIVE)  # still in force
    with tenant_context(world.lenders["beta"]):
        assert list(Placement.objects.filter(status=PlacementStatus.ACTIVE).values_list("pk", flat=True)) == beta_placements


def test_the_dispatcher_enqueues_from_inside_each_schema(world, monkeypatch):
    seen = []
    monkeypatch.setattr(tasks.expire_placements, "delay", lambda: seen.append(connection.schema_name))
    connection.set_schema_to_public()
    tasks.expire_placements_everywhere()
    assert "l_acme" in seen and "l_beta" in seen and "public" not in seen and "tenant_template" not in seen
    assert connection.schema_name == "public"
