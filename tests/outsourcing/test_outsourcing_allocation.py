"""Rule-based allocation (分案): the split, rotation, champion/challenger, refusals, preview and commit."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings as hsettings, strategies as st

from outsourcing import agreements, allocation, placement
from outsourcing.allocation import largest_remainder
from outsourcing.models import Arm, BatchStatus, Placement, PlacementStatus
from outsourcing.placement import PlacementRefused
from portal.jobs import services as jobs
from portal.models import Case, CaseStatus
from tenants.models import LicenceStatus
from tests.factories import CaseFactory, manager
from tests.matrix_outsourcing import terms

# ----------------------------------------------------------------- largest remainder (no database)


def test_largest_remainder_gives_the_leftover_to_the_largest_fractions():
    assert largest_remainder(101, [Decimal(60), Decimal(40)]) == [61, 40]
    assert largest_remainder(100, [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]) == [33, 33, 34]
    assert largest_remainder(10, [Decimal(1), Decimal(1), Decimal(1)]) == [4, 3, 3]  # a tie goes to the first listed
    assert largest_remainder(7, [Decimal(50), Decimal(50)]) == [4, 3]
    assert largest_remainder(0, [Decimal(60), Decimal(40)]) == [0, 0]


@hsettings(max_examples=300, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=200_000), shares=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=8)
)
def test_largest_remainder_is_exact_and_never_more_than_one_case_off(total, shares):
    weights = [Decimal(s) / 100 for s in shares]
    counts = largest_remainder(total, weights)
    assert sum(counts) == total
    whole = sum(weights)
    for count, weight in zip(counts, weights, strict=True):
        exact = Decimal(total) * weight / whole
        assert exact - 1 < count < exact + 1


# ----------------------------------------------------------------- with the database


def rules(world, product, split, *, mode="percent", challenger=None, **filters):
    champion = [[str(world.orgs[slug].pk), str(share)] for slug, share in split]
    return {"filters": {"products": [product], **filters}, "mode": mode, "champion": champion, "challenger": challenger}


def with_y(world, **overrides):
    return agreements.create_agreement(partner=world.orgs["yagency"], created_by=manager(world), terms=terms(**overrides))


def counts_by_partner(plan, world):
    names = {str(world.orgs[s].pk): s for s in ("xagency", "yagency")}
    return Counter(names[partner_id] for partner_id, _arm in plan.assignment.values())


def test_a_percentage_split_is_exact(acme):
    world = acme
    with_y(world)
    CaseFactory.create_batch(101, product="分案-百分比")
    plan = allocation.preview(rules=rules(world, "分案-百分比", [("xagency", 60), ("yagency", 40)]), seed=7)
    assert counts_by_partner(plan, world) == {"xagency": 61, "yagency": 40}
    summary = plan.summary()
    assert summary["candidates"] == summary["assigned"] == 101
    assert [g["count"] for g in summary["groups"]] == [61, 40]
    assert summary["balance"] == "101000.00" and [g["balance"] for g in summary["groups"]] == ["61000.00", "40000.00"]
    assert summary["refusals"] == []


def test_filters_by_bucket_region_product_and_balance(acme):
    world = acme
    m2_sh = CaseFactory.create_batch(3, dpd=45, region="上海", product="分案-筛选", principal_due="5000.00")
    CaseFactory.create_batch(2, dpd=45, region="北京", product="分案-筛选", principal_due="5000.00")
    CaseFactory.create_batch(2, dpd=100, region="上海", product="分案-筛选", principal_due="5000.00")  # M4
    CaseFactory.create_batch(2, dpd=45, region="上海", product="分案-筛选", principal_due="500.00")
    CaseFactory.create_batch(2, dpd=45, region="上海", product="其他产品", principal_due="5000.00")
    CaseFactory.create_batch(1, dpd=45, region="上海", product="分案-筛选", principal_due="5000.00", status=CaseStatus.LITIGATION)
    chosen = rules(world, "分案-筛选", [("xagency", 100)], buckets=["M2"], regions=["上海"], min_balance="1000", max_balance="9999.99")
    plan = allocation.preview(rules=chosen, seed=1)
    assert set(plan.case_ids) == {c.pk for c in m2_sh}


def test_bucket_boundaries_follow_bucket_for(acme):
    world = acme
    edges = {dpd: CaseFactory(dpd=dpd, product="分案-边界").pk for dpd in (30, 31, 60, 61, 150, 151, 400)}
    for bucket, expected in {"M1": {30}, "M2": {31, 60}, "M3": {61}, "M5": {150}, "M6+": {151, 400}}.items():
        plan = allocation.preview(rules=rules(world, "分案-边界", [("xagency", 100)], buckets=[bucket]), seed=1)
        assert set(plan.case_ids) == {edges[d] for d in expected}, bucket


def test_a_capacity_split_follows_the_room_each_agency_has(acme):
    world = acme
    agreements.revise_agreement(
        agreement=world.outsourcing["agreement"], created_by=manager(world), terms=terms(capacity=12)
    )  # 2 used: 10 free
    with_y(world, capacity=30)
    CaseFactory.create_batch(20, product="分案-产能")
    plan = allocation.preview(rules=rules(world, "分案-产能", [("xagency", 0), ("yagency", 0)], mode="capacity"), seed=3)
    assert counts_by_partner(plan, world) == {"xagency": 5, "yagency": 15}
    assert plan.refusals == []
    CaseFactory.create_batch(30, product="分案-产能")
    plan = allocation.preview(rules=rules(world, "分案-产能", [("xagency", 0), ("yagency", 0)], mode="capacity"), seed=3)
    assert counts_by_partner(plan, world) == {"xagency": 10, "yagency": 30}
    assert plan.left_out == {"rotation": 0, "capacity": 10}
    assert plan.refusals == []


def test_rotation_never_returns_a_case_to_an_agency_that_had_it(acme):
    world = acme
    with_y(world)
    cases = CaseFactory.create_batch(20, product="分案-轮换")
    had_x = cases[:6]
    old = placement.place_cases(cases=had_x, partner=world.orgs["xagency"], placed_by=manager(world))
    placement.recall_placements(placements=old, by=manager(world), reason="轮换")
    plan = allocation.preview(rules=rules(world, "分案-轮换", [("xagency", 50), ("yagency", 50)]), seed=11)
    assert counts_by_partner(plan, world) == {"xagency": 10, "yagency": 10}  # still exact
    index = {case_id: i for i, case_id in enumerate(plan.case_ids)}
    for case in had_x:
        assert plan.assignment[index[case.pk]][0] == str(world.orgs["yagency"].pk)


def test_a_case_every_chosen_agency_had_before_is_left_out(acme):
    world = acme
    cases = CaseFactory.create_batch(4, product="分案-全轮换")
    old = placement.place_cases(cases=cases[:1], partner=world.orgs["xagency"], placed_by=manager(world))
    placement.recall_placements(placements=old, by=manager(world), reason="r")
    plan = allocation.preview(rules=rules(world, "分案-全轮换", [("xagency", 100)]), seed=5)
    assert plan.left_out["rotation"] == 1 and len(plan.assignment) == 3
    assert cases[0].pk not in {plan.case_ids[i] for i in plan.assignment}


def test_champion_challenger_is_reproducible_from_the_seed(acme):
    world = acme
    with_y(world)
    CaseFactory.create_batch(50, product="分案-冠军")
    challenger = {"share": "20", "split": [[str(world.orgs["yagency"].pk), "100"]]}
    chosen = rules(world, "分案-冠军", [("xagency", 70), ("yagency", 30)], challenger=challenger)
    first = allocation.preview(rules=chosen, seed=424242)
    again = allocation.preview(rules=chosen, seed=424242)
    other = allocation.preview(rules=chosen, seed=424243)
    assert first.assignment == again.assignment and first.fingerprint == again.fingerprint
    assert first.assignment != other.assignment
    arms = Counter(arm for _pid, arm in first.assignment.values())
    assert arms == {Arm.CHAMPION: 40, Arm.CHALLENGER: 10}
    champion = Counter(pid for pid, arm in first.assignment.values() if arm == Arm.CHAMPION)
    assert champion == {str(world.orgs["xagency"].pk): 28, str(world.orgs["yagency"].pk): 12}

    batch = allocation.prepare_batch(rules=chosen, seed=424242, created_by=manager(world))
    allocation.commit(batch=batch, by=manager(world))
    placed = {(p.case_id, str(p.partner_id), p.arm) for p in Placement.objects.filter(batch=batch)}
    assert placed == {(first.case_ids[i], pid, arm) for i, (pid, arm) in first.assignment.items()}


def test_preview_refuses_unlicensed_unengaged_or_full_agencies_with_reasons(acme):
    world = acme
    with_y(world, capacity=5)
    CaseFactory.create_batch(20, product="分案-拒绝")
    licence = world.orgs["xagency_licence"]
    type(licence).objects.filter(pk=licence.pk).update(status=LicenceStatus.REJECTED)
    plan = allocation.preview(rules=rules(world, "分案-拒绝", [("xagency", 50), ("yagency", 50)]), seed=2)
    codes = [error.code for error in plan.refusals]
    assert codes == ["licence", "capacity"]
    messages = [str(error.message % error.params) for error in plan.refusals]
    assert "迅达催收 X has no verified, unexpired collection licence" in messages[0]
    assert "远航催收 Y would be over capacity: 0 active and 10 new cases exceed its capacity of 5." == messages[1]
    batch = allocation.prepare_batch(rules=rules(world, "分案-拒绝", [("xagency", 50), ("yagency", 50)]), seed=2, created_by=manager(world))
    with pytest.raises(PlacementRefused) as excinfo:
        allocation.start_commit(batch=batch, by=manager(world))
    assert excinfo.value.codes == ["licence", "capacity"]
    assert not Placement.objects.filter(case__product="分案-拒绝").exists()
    plan = allocation.preview(rules=rules(world, "分案-拒绝", [("zagency", 100)]), seed=2)
    assert [error.code for error in plan.refusals] == ["engagement"]


def test_commit_places_exactly_the_preview_once(acme):
    world = acme
    with_y(world)
    cases = CaseFactory.create_batch(30, product="分案-提交", dpd=70)
    batch = allocation.prepare_batch(
        rules=rules(world, "分案-提交", [("xagency", 60), ("yagency", 40)]), seed=99, created_by=manager(world)
    )
    assert batch.preview["assigned"] == 30 and batch.status == BatchStatus.PREVIEWED
    allocation.commit(batch=batch, by=manager(world))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and batch.placed_count == 30
    placements = Placement.objects.filter(batch=batch)
    assert Counter(str(p.partner_id) for p in placements) == {g["partner_id"]: g["count"] for g in batch.preview["groups"]}
    assert all(p.bucket == "M3" and p.round == 1 and p.arm == Arm.CHAMPION and p.agreement_version_id for p in placements)
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {CaseStatus.PLACED}
    allocation.commit(batch=batch, by=manager(world))  # a retried job: nothing twice
    assert Placement.objects.filter(case__in=cases).count() == 30


def test_commit_writes_the_history_pghistory_would_under_one_context(acme):
    from django.apps import apps

    world = acme
    cases = CaseFactory.create_batch(12, product="分案-历史")
    batch = allocation.prepare_batch(rules=rules(world, "分案-历史", [("xagency", 100)]), seed=3, created_by=manager(world))
    allocation.commit(batch=batch, by=manager(world))
    placement_events = apps.get_model("outsourcing", "PlacementEvent").objects.filter(batch_id=batch.pk)
    assert placement_events.count() == 12 and set(placement_events.values_list("pgh_label", flat=True)) == {"insert"}
    event = placement_events.select_related("pgh_context").first()
    placed = Placement.objects.get(pk=event.pgh_obj_id)
    assert (event.case_id, event.partner_id, event.status, event.round, event.arm) == (
        placed.case_id,
        placed.partner_id,
        "active",
        1,
        "champion",
    )
    assert event.pgh_context.metadata["batch"] == str(batch.pk) and event.pgh_context.metadata["event"] == "allocation"
    case_events = apps.get_model("portal", "CaseEvent").objects.filter(pgh_obj_id__in=[c.pk for c in cases], pgh_label="update")
    assert case_events.count() == 12 and set(case_events.values_list("status", flat=True)) == {CaseStatus.PLACED}
    assert set(case_events.values_list("pgh_context_id", flat=True)) == {event.pgh_context_id}
    # A recall of them all is recorded too (row triggers, under the recall's context).
    placement.recall_placements(placements=Placement.objects.filter(batch=batch), by=manager(world), reason="全部撤回")
    assert apps.get_model("outsourcing", "PlacementEvent").objects.filter(batch_id=batch.pk, status="recalled").count() == 12


def test_commit_is_refused_when_the_cases_changed_since_the_preview(acme):
    world = acme
    CaseFactory.create_batch(10, product="分案-变化")
    batch = allocation.prepare_batch(rules=rules(world, "分案-变化", [("xagency", 100)]), seed=5, created_by=manager(world))
    CaseFactory.create_batch(1, product="分案-变化")
    with pytest.raises(PlacementRefused) as excinfo:
        allocation.commit(batch=batch, by=manager(world))
    assert excinfo.value.codes == ["stale_preview"]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REFUSED and batch.error["code"] == "stale_preview"
    assert not Placement.objects.filter(case__product="分案-变化").exists()


def test_commit_rechecks_capacity_under_lock(acme):
    world = acme
    CaseFactory.create_batch(5, product="分案-复核")
    batch = allocation.prepare_batch(rules=rules(world, "分案-复核", [("xagency", 100)]), seed=5, created_by=manager(world))
    agreements.revise_agreement(agreement=world.outsourcing["agreement"], created_by=manager(world), terms=terms(capacity=4))
    with pytest.raises(PlacementRefused) as excinfo:
        allocation.commit(batch=batch, by=manager(world))
    assert excinfo.value.codes == ["capacity"]


def test_a_large_commit_runs_as_a_job(acme, monkeypatch, django_capture_on_commit_callbacks):
    world = acme
    CaseFactory.create_batch(12, product="分案-后台")
    monkeypatch.setattr(allocation, "SYNC_LIMIT", 5)
    batch = allocation.prepare_batch(rules=rules(world, "分案-后台", [("xagency", 100)]), seed=8, created_by=manager(world))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = allocation.start_commit(batch=batch, by=manager(world), organisation=world.orgs["acme"])
    assert job is not None and len(callbacks) == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTING and batch.job_id == job.pk
    assert allocation.start_commit(batch=batch, by=manager(world)).pk == job.pk  # a second click: the same job
    done = jobs.execute(job.pk)
    assert done.status == "done" and done.result_data == {"placed": 12}
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and batch.placed_count == 12


def test_expired_placements_are_candidates_again_but_not_for_the_same_agency(acme):
    world = acme
    with_y(world)
    cases = CaseFactory.create_batch(4, product="分案-到期", dpd=120)  # overdue on the day of the old placement too
    placement.place_cases(
        cases=cases, partner=world.orgs["xagency"], placed_by=manager(world), now=timezone.now() - datetime.timedelta(days=61)
    )
    batch = allocation.prepare_batch(rules=rules(world, "分案-到期", [("xagency", 50), ("yagency", 50)]), seed=4, created_by=manager(world))
    assert batch.preview["candidates"] == 4 and batch.preview["assigned"] == 2 and batch.preview["left_out"]["rotation"] == 2
    # Y can take only its half: the X share's cases all had X before.
    assert {g["partner"]: g["count"] for g in batch.preview["groups"]} == {"迅达催收 X": 0, "远航催收 Y": 2}
    allocation.commit(batch=batch, by=manager(world))
    assert Placement.objects.filter(case__in=cases, status=PlacementStatus.EXPIRED).count() == 4
    assert set(Placement.objects.filter(batch=batch).values_list("round", flat=True)) == {2}


def test_rules_are_checked(acme):
    world = acme
    with pytest.raises(ValidationError) as excinfo:
        allocation.normalise_rules(rules(world, "p", [("xagency", 60), ("yagency", 30)]))
    assert "add up to 100%" in str(excinfo.value)
    with pytest.raises(ValidationError):
        allocation.normalise_rules(
            rules(
                world,
                "p",
                [("xagency", 100)],
                mode="capacity",
                challenger={"share": "10", "split": [[str(world.orgs["xagency"].pk), "100"]]},
            )
        )
    with pytest.raises(ValidationError):
        allocation.normalise_rules({"filters": {}, "mode": "percent", "champion": []})
