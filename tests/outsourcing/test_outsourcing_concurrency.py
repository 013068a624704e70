"""Two people place one case at the same moment: exactly one active placement, one clear refusal.

Real concurrency needs real, committed transactions on two connections, so
these tests do not run inside the usual rolled-back test transaction (that
would also be invisible to the second connection). They create their own
committed case in acme, and delete what they made afterwards; transactional
tests are not used because they flush the public schema and with it the
session's committed world.
"""

import datetime
import threading

import pytest
from django.apps import apps
from django.db import connection, connections
from django_tenants.utils import tenant_context

from outsourcing import agreements, placement
from outsourcing.models import Agreement, AgreementVersion, CommissionRate, Placement, PlacementStatus
from outsourcing.placement import PlacementRefused
from portal.models import Case, Debtor
from tests.factories import CaseFactory
from tests.matrix_outsourcing import terms

WAIT = 30  # seconds; only guards against a hang, never part of what is asserted


@pytest.fixture
def race(world, django_db_blocker):
    """A committed case in acme and a committed agreement with Y; removed afterwards."""
    acme = world.lenders["acme"]
    with django_db_blocker.unblock():
        with tenant_context(acme):
            case = CaseFactory(product="并发测试", prefix="RACE")
            y = agreements.create_agreement(partner=world.orgs["yagency"], created_by=world.people["acme_manager"].user, terms=terms())
        connection.set_schema_to_public()
        try:
            yield {"acme": acme, "case": case}
        finally:
            with tenant_context(acme):
                placement_ids = list(Placement.objects.filter(case=case).values_list("pk", flat=True))
                apps.get_model("outsourcing", "PlacementEvent").objects.filter(pgh_obj_id__in=placement_ids).delete()
                Placement.objects.filter(pk__in=placement_ids).delete()
                apps.get_model("portal", "CaseEvent").objects.filter(pgh_obj_id=case.pk).delete()
                Case.objects.filter(pk=case.pk).delete()
                apps.get_model("portal", "DebtorEvent").objects.filter(pgh_obj_id=case.debtor_id).delete()
                Debtor.objects.filter(pk=case.debtor_id).delete()
                versions = AgreementVersion.objects.filter(agreement=y)
                CommissionRate.objects.filter(version__in=versions).delete()
                versions.delete()
                apps.get_model("outsourcing", "AgreementEvent").objects.filter(pgh_obj_id=y.pk).delete()
                Agreement.objects.filter(pk=y.pk).delete()
            connection.set_schema_to_public()


def _place(world, race, partner_slug, start, outcomes, name):
    """One person placing the case, on this thread's own database connection."""
    try:
        with tenant_context(race["acme"]):
            start()
            placement.place_cases(cases=[race["case"].pk], partner=world.orgs[partner_slug], placed_by=world.people["acme_manager"].user)
        outcomes[name] = "placed"
    except PlacementRefused as refused:
        outcomes[name] = refused
    except Exception as error:  # surfaced by the assertions below
        outcomes[name] = error
    finally:
        connections.close_all()


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "a placement hung"


def _assert_one_placement_one_refusal(race, outcomes, django_db_blocker):
    placed = [name for name, outcome in outcomes.items() if outcome == "placed"]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, PlacementRefused)]
    assert len(placed) == 1 and len(refused) == 1, outcomes
    assert refused[0].codes[0] in ("already_placed", "concurrent")
    assert "placed" in refused[0].messages[0]
    with django_db_blocker.unblock(), tenant_context(race["acme"]):
        assert Placement.objects.filter(case=race["case"], status=PlacementStatus.ACTIVE).count() == 1
        assert Placement.objects.active().filter(case=race["case"]).count() == 1


@pytest.mark.parametrize("partners", [("xagency", "yagency"), ("xagency", "xagency")], ids=["two-agencies", "same-agency"])
def test_two_simultaneous_placements_of_one_case_give_exactly_one(world, race, django_db_blocker, partners):
    barrier = threading.Barrier(2, timeout=WAIT)
    outcomes = {}
    with django_db_blocker.unblock():
        _run(
            [threading.Thread(target=_place, args=(world, race, slug, barrier.wait, outcomes, f"t{i}")) for i, slug in enumerate(partners)]
        )
    _assert_one_placement_one_refusal(race, outcomes, django_db_blocker)


def test_the_second_placement_waits_for_the_first_and_is_then_refused(world, race, django_db_blocker, monkeypatch):
    """Force the overlap: A holds the case's lock until B is seen waiting for it in pg_stat_activity."""
    a_holds_locks, release = threading.Event(), threading.Event()
    real_prior_rounds = placement.prior_rounds

    def prior_rounds_then_pause(case_ids):
        if threading.current_thread().name == "A":
            a_holds_locks.set()
            release.wait(WAIT)
        return real_prior_rounds(case_ids)

    monkeypatch.setattr(placement, "prior_rounds", prior_rounds_then_pause)
    outcomes = {}
    with django_db_blocker.unblock():
        a = threading.Thread(target=_place, args=(world, race, "xagency", lambda: None, outcomes, "A"), name="A")
        b = threading.Thread(target=_place, args=(world, race, "yagency", lambda: a_holds_locks.wait(WAIT), outcomes, "B"), name="B")
        a.start()
        b.start()
        assert a_holds_locks.wait(WAIT)
        try:
            with connection.cursor() as cursor:
                for _ in range(3000):  # until B is blocked on A's row lock (bounded; typically a few polls)
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                    if cursor.fetchone()[0]:
                        break
                    threading.Event().wait(0.01)
                else:
                    pytest.fail("the second placement never waited for the first one's lock")
        finally:
            release.set()
        for thread in (a, b):
            thread.join(WAIT)
            assert not thread.is_alive()
    assert outcomes["A"] == "placed"
    assert isinstance(outcomes["B"], PlacementRefused) and outcomes["B"].codes == ["already_placed"], outcomes
    assert "is already placed with 迅达催收 X" in outcomes["B"].messages[0]
    _assert_one_placement_one_refusal(race, outcomes, django_db_blocker)


@pytest.mark.django_db
def test_the_database_constraint_is_the_last_guard(world, monkeypatch):
    """Should the checks ever miss a concurrent placement, the unique index refuses it with the same clear reason."""
    with tenant_context(world.lenders["acme"]):
        case = CaseFactory(product="并发-约束")
        real_active_counts = placement.active_counts

        def sneak_in_a_placement(partner_ids, *, now):
            Placement.objects.create(case=case, partner=world.orgs["yagency"], ends_at=now + datetime.timedelta(days=1))
            return real_active_counts(partner_ids, now=now)

        monkeypatch.setattr(placement, "active_counts", sneak_in_a_placement)
        with pytest.raises(PlacementRefused) as excinfo:
            placement.place_cases(cases=[case], partner=world.orgs["xagency"], placed_by=world.people["acme_manager"].user)
        assert excinfo.value.codes == ["concurrent"]
        assert "nothing was placed" in excinfo.value.messages[0]
        assert not Placement.objects.filter(case=case, partner=world.orgs["xagency"]).exists()
