"""The collector's queue: promises due today first, then new cases, then the least recently contacted;
keyset pages with a constant number of queries however many cases there are."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outsourcing.workbench import queue, views
from outsourcing.workbench.models import ContactAttempt, PromiseToPay
from tests.matrix_workbench import SHANGHAI, at, in_acme, make_case

TODAY = datetime.date(2025, 6, 2)


def contacted(world, case, placement, moment, *, promise_due=None, collector="x_collector2"):
    """A closed attempt (and optionally a pending promise), written directly: the queue only reads them."""
    attempt = ContactAttempt.objects.create(
        case=case,
        debtor_id=case.debtor_id,
        placement=placement,
        organisation=placement.partner,
        collector=world.people[collector].user,
        channel="phone",
        number_kind="mobile",
        number_dialled="13912345678",
        outcome="no_answer" if promise_due is None else "promise_to_pay",
        party_reached="none" if promise_due is None else "debtor",
        identity_verified=promise_due is not None,
        identity_method="" if promise_due is None else "id_last4",
        started_at=moment,
        ended_at=moment + datetime.timedelta(minutes=2),
        debtor_local_date=moment.astimezone(SHANGHAI).date(),
    )
    if promise_due is not None:
        PromiseToPay.objects.create(
            case=case,
            placement=placement,
            attempt=attempt,
            amount=Decimal("500.00"),
            promised_on=attempt.debtor_local_date,
            due_on=promise_due,
        )
    return attempt


def build_queue(world):
    """Six cases for x_collector2 (who has nothing else), each in a known place of the order."""
    started = lambda year: datetime.datetime(year, 1, 1, tzinfo=SHANGHAI)  # noqa: E731
    made = {}
    for key, year in (
        ("new_older", 2020),
        ("new_newer", 2021),
        ("recent", 2020),
        ("older", 2020),
        ("due_today", 2020),
        ("due_later", 2020),
    ):
        made[key] = make_case(world, f"WB-Q-{key}", collector="x_collector2", starts_at=started(year))
    contacted(world, *made["recent"], at(9, 0, datetime.date(2025, 6, 1)))
    contacted(world, *made["older"], at(9, 0, datetime.date(2025, 5, 30)))
    contacted(world, *made["due_today"], at(9, 0, datetime.date(2025, 5, 28)), promise_due=TODAY)
    contacted(world, *made["due_later"], at(9, 0, datetime.date(2025, 5, 29)), promise_due=TODAY + datetime.timedelta(days=1))
    return made


EXPECTED = ["due_today", "new_older", "new_newer", "due_later", "older", "recent"]


def run_queue(world, **kwargs):
    return queue.collector_queue(
        agency=world.orgs["xagency"], collector=world.people["x_collector2"].user, today=TODAY, now=at(10), **kwargs
    )


@pytest.mark.django_db
def test_promises_due_today_come_first_then_new_then_least_recently_contacted(world):
    with in_acme(world):
        build_queue(world)
        page = run_queue(world)
    assert [p.case.contract_no.removeprefix("WB-Q-") for p in page.rows] == EXPECTED
    assert page.next_cursor is None


@pytest.mark.django_db
def test_the_queue_pages_by_cursor_without_gaps_or_repeats(world):
    with in_acme(world):
        build_queue(world)
        seen, cursor = [], None
        for _ in range(10):
            page = run_queue(world, cursor=cursor, size=4 if cursor is None else 1)
            seen.extend(p.case.contract_no.removeprefix("WB-Q-") for p in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == EXPECTED


@pytest.mark.django_db
def test_a_forged_cursor_is_ignored(world):
    with in_acme(world):
        build_queue(world)
        assert [p.case.contract_no for p in run_queue(world, cursor="not-a-signed-cursor").rows][0] == "WB-Q-due_today"


@pytest.mark.django_db
def test_a_kept_or_broken_promise_no_longer_jumps_the_queue(world):
    with in_acme(world):
        made = build_queue(world)
        PromiseToPay.objects.filter(case=made["due_today"][0]).update(status="kept")
        order = [p.case.contract_no.removeprefix("WB-Q-") for p in run_queue(world).rows]
    assert order[0] == "new_older" and order.index("due_today") > order.index("new_newer")


@pytest.mark.django_db
def test_two_queries_per_queue_page_keys_then_rows(world, django_assert_num_queries):
    with in_acme(world):
        build_queue(world)
        with django_assert_num_queries(2):
            page = run_queue(world, size=3)
            [(p.case.contract_no, p.case.debtor.name, p.case.bucket) for p in page.rows]


def page_queries(client, path):
    client.get(path)  # the session's first request writes the session; measure a steady-state request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_the_queue_page_runs_the_same_queries_for_6_or_61_cases(world, client_for, monkeypatch):
    monkeypatch.setattr(views, "now", lambda: at(10))
    client = client_for("x_collector2", host="acme")
    with in_acme(world):
        build_queue(world)
    small = page_queries(client, "/workbench/")
    with in_acme(world):
        for i in range(55):
            case, placement = make_case(world, f"WB-QN-{i:03d}", collector="x_collector2")
            if i % 2:
                contacted(world, case, placement, at(9, i % 50, datetime.date(2025, 5, 1)))
    large = page_queries(client, "/workbench/")
    body = client.get("/workbench/").content.decode()
    assert "cursor=" in body  # more than one page now
    assert small == large
    cursor = body.split("cursor=")[1].split('"')[0]
    more = client.get(f"/workbench/?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in more and "WB-QN-" in more  # "Load more" appends the next rows only


@pytest.mark.django_db
def test_the_assign_page_runs_the_same_queries_for_few_or_many_cases(world, client_for):
    client = client_for("x_admin", host="acme")
    small = page_queries(client, "/workbench/assign/")
    with in_acme(world):
        for i in range(60):
            make_case(world, f"WB-AN-{i:03d}", collector="x_collector" if i % 3 else None)
    large = page_queries(client, "/workbench/assign/")
    assert large <= small + 1  # the page may straddle the unassigned and assigned parts: one more query, never more


@pytest.mark.django_db
def test_the_assign_page_pages_through_every_placement_once(world):
    from django.utils import timezone

    with in_acme(world):
        for i in range(7):
            make_case(world, f"WB-AP-{i:03d}", collector="x_collector" if i % 2 else None)
        seen, cursor = [], None
        while True:
            page = queue.agency_placements(agency=world.orgs["xagency"], now=timezone.now(), cursor=cursor, size=3)
            seen.extend((p.assigned_to_id is None, p.pk, p.case.contract_no) for p in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert len(seen) == len({pk for _, pk, _ in seen})  # no placement twice
    assert sorted(no for _, _, no in seen if no.startswith("WB-AP-")) == [f"WB-AP-{i:03d}" for i in range(7)]  # none missed
    flags = [unassigned for unassigned, _, _ in seen]
    assert flags == sorted(flags, reverse=True)  # every unassigned one before any assigned one
