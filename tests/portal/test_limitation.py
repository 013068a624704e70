import datetime

import pytest
from django_tenants.utils import tenant_context
from hypothesis import given, strategies as st

from portal import limitation
from portal.models import LimitationEventKind

KINDS = st.sampled_from(LimitationEventKind.values)
DAYS = st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2040, 12, 31))


def test_three_years_from_the_due_date():
    assert limitation.expiry_from([("due", datetime.date(2025, 3, 1))])[0] == datetime.date(2028, 3, 1)


def test_a_partial_payment_restarts_the_period():
    expiry, basis = limitation.expiry_from([("due", datetime.date(2024, 1, 10)), ("partial_payment", datetime.date(2025, 6, 30))])
    assert expiry == datetime.date(2028, 6, 30) and basis == ("partial_payment", datetime.date(2025, 6, 30))


def test_leap_day_rolls_to_the_28th():
    assert limitation.add_years(datetime.date(2024, 2, 29), 3) == datetime.date(2027, 2, 28)


def test_no_events_no_date():
    assert limitation.expiry_from([]) == (None, None)


@given(st.lists(st.tuples(KINDS, DAYS), min_size=1, max_size=12), st.randoms())
def test_the_walk_does_not_depend_on_the_order_events_are_given_in(events, random):
    shuffled = list(events)
    random.shuffle(shuffled)
    assert limitation.walk(events) == limitation.walk(shuffled)


@given(st.lists(st.tuples(KINDS, DAYS), min_size=1, max_size=12))
def test_only_a_running_period_is_interrupted(events):
    """民法典 art. 195: an event restarts the period only while it runs; the date is three years after the event that set it."""
    result = limitation.walk(events)
    assert result.expiry == limitation.add_years(result.basis[1], limitation.LIMITATION_YEARS)
    running = None
    for (kind, day), effect in result.steps:  # date order
        if kind == "due" or running is None or day <= running:
            assert effect == "counted"
            running = limitation.add_years(day, limitation.LIMITATION_YEARS)
        else:
            assert effect == ("after_expiry_review" if kind in ("acknowledgment", "partial_payment") else "after_expiry")
    assert running == result.expiry
    assert result.review == any(effect == "after_expiry_review" for _event, effect in result.steps)


def test_a_demand_after_expiry_does_not_revive_the_period():
    """Art. 195 interrupts a running period; after 2027-01-10 there is none to interrupt."""
    result = limitation.walk(
        [("due", datetime.date(2024, 1, 10)), ("demand", datetime.date(2027, 3, 1)), ("legal_action", datetime.date(2027, 4, 1))]
    )
    assert result.expiry == datetime.date(2027, 1, 10) and result.basis == ("due", datetime.date(2024, 1, 10))
    assert result.after_expiry == (
        (("demand", datetime.date(2027, 3, 1)), "after_expiry"),
        (("legal_action", datetime.date(2027, 4, 1)), "after_expiry"),
    )
    assert not result.review


def test_the_debtors_payment_after_expiry_is_kept_and_flagged_for_legal_review():
    """SPC 诉讼时效规定 art. 19: after expiry the debtor's agreement or payment bars his defence for it; the date stays."""
    result = limitation.walk(
        [("due", datetime.date(2020, 5, 1)), ("partial_payment", datetime.date(2024, 6, 1)), ("demand", datetime.date(2024, 7, 1))]
    )
    assert result.expiry == datetime.date(2023, 5, 1) and result.review
    assert dict(result.steps)[("partial_payment", datetime.date(2024, 6, 1))] == "after_expiry_review"
    assert dict(result.steps)[("demand", datetime.date(2024, 7, 1))] == "after_expiry"


def test_an_event_on_the_expiry_day_still_interrupts():
    """The period includes its last day: a demand on it is within the period."""
    assert limitation.expiry_from([("due", datetime.date(2024, 1, 10)), ("demand", datetime.date(2027, 1, 10))])[0] == datetime.date(
        2030, 1, 10
    )
    assert limitation.expiry_from([("due", datetime.date(2024, 1, 10)), ("demand", datetime.date(2027, 1, 11))])[0] == datetime.date(
        2027, 1, 10
    )


def test_a_chain_of_interruptions_each_within_the_running_period():
    events = [
        ("due", datetime.date(2018, 1, 1)),
        ("demand", datetime.date(2020, 12, 31)),
        ("acknowledgment", datetime.date(2023, 12, 30)),
        ("demand", datetime.date(2027, 1, 1)),
    ]
    assert limitation.expiry_from(events) == (datetime.date(2026, 12, 30), ("acknowledgment", datetime.date(2023, 12, 30)))


def test_instalments_run_from_the_last_instalments_due_date():
    """民法典 art. 189: 分期履行 — from the last instalment's due date (disbursement + term, calendar months)."""
    start = limitation.period_start(
        overdue_since=datetime.date(2023, 3, 31),
        repayment_method="equal_instalments",
        disbursed_on=datetime.date(2023, 1, 31),
        term_months=13,
    )
    assert start == datetime.date(2024, 2, 29)  # end of month clamped, leap year
    assert limitation.period_start(
        overdue_since=datetime.date(2023, 3, 31), repayment_method="bullet", disbursed_on=datetime.date(2023, 1, 31), term_months=13
    ) == datetime.date(2023, 3, 31)
    assert limitation.period_start(
        overdue_since=datetime.date(2023, 3, 31),
        repayment_method="equal_principal",
        disbursed_on=datetime.date(2023, 1, 31),
        term_months=13,
        accelerated_on=datetime.date(2023, 6, 1),
    ) == datetime.date(2023, 6, 1)
    assert limitation.period_start(
        overdue_since=datetime.date(2023, 3, 31), repayment_method="equal_instalments", disbursed_on=None, term_months=None
    ) == datetime.date(2023, 3, 31)


@pytest.mark.django_db
def test_recording_events_updates_the_case_and_is_idempotent(world):
    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_unplaced"]
        limitation.record_event(
            case=case, kind="due", occurred_on=datetime.date(2024, 5, 1), evidence="overdue since (import)", source_type="import"
        )
        limitation.record_event(
            case=case, kind="demand", occurred_on=datetime.date(2025, 1, 2), evidence="SMS delivered", source_type="sms", source_id="1"
        )
        limitation.record_event(
            case=case, kind="demand", occurred_on=datetime.date(2025, 1, 2), evidence="SMS delivered", source_type="sms", source_id="1"
        )
        case.refresh_from_db()
        assert case.limitation_expires_on == datetime.date(2028, 1, 2)
        assert case.limitation_events.count() == 2


@pytest.mark.django_db
def test_the_sql_form_of_the_rule_gives_the_same_dates_as_python():
    """The import computes the date in SQL (limitation.expiry_sql); it must agree with add_years, leap days included."""
    from django.db import connection

    days = [
        datetime.date(2024, 2, 29),
        datetime.date(2023, 2, 28),
        datetime.date(2024, 3, 1),
        datetime.date(2020, 2, 29),
        datetime.date(2025, 12, 31),
        datetime.date(2000, 1, 1),
    ]
    expression, params = limitation.expiry_sql("d")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d, {expression} FROM unnest(%s::date[]) AS t(d) ORDER BY d", [*params, days])  # select list first
        rows = cursor.fetchall()
    assert len(rows) == len(days) and all(sql_day == limitation.add_years(day, limitation.LIMITATION_YEARS) for day, sql_day in rows)


def _sql_walk(events):
    """The import's SQL twin (limitation.walk_sql) over (kind, date) events of one case: (expiry, basis, {event: effect})."""
    from django.db import connection

    query, params = limitation.walk_sql("SELECT 1, k, d FROM unnest(%s::text[], %s::date[]) AS t(k, d)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, occurred_on, effect, expiry, basis_kind, basis_day, last FROM ({query}) AS walked",
            [[kind for kind, _day in events], [day for _kind, day in events], *params],
        )
        rows = cursor.fetchall()
    last = [row for row in rows if row[6]]
    assert len(last) == 1 and len(rows) == len(events)
    return last[0][3], (last[0][4], last[0][5]), {(kind, day): effect for kind, day, effect, *_rest in rows}


TRICKY = [
    [("due", datetime.date(2024, 2, 29)), ("demand", datetime.date(2027, 2, 28)), ("partial_payment", datetime.date(2027, 3, 1))],
    [("due", datetime.date(2020, 2, 29)), ("partial_payment", datetime.date(2023, 3, 1)), ("legal_action", datetime.date(2023, 2, 28))],
    [("demand", datetime.date(2019, 1, 1)), ("due", datetime.date(2024, 1, 1)), ("acknowledgment", datetime.date(2027, 1, 2))],
    [("due", datetime.date(2021, 6, 30)), ("due", datetime.date(2025, 1, 1)), ("demand", datetime.date(2024, 7, 1))],
]


@pytest.mark.django_db
@pytest.mark.parametrize("events", TRICKY)
def test_the_sql_walk_agrees_with_python_on_tricky_data(events):
    result = limitation.walk(events)
    assert _sql_walk(events) == (result.expiry, result.basis, dict(result.steps))


@pytest.mark.django_db
@given(st.lists(st.tuples(KINDS, DAYS), min_size=1, max_size=8, unique=True))
def test_the_sql_walk_agrees_with_python_on_any_events(events):
    result = limitation.walk(events)
    assert _sql_walk(events) == (result.expiry, result.basis, dict(result.steps))


@pytest.mark.django_db
def test_recompute_stores_each_events_effect_and_the_review_flag(world):
    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_unplaced"]
        for event in case.limitation_events.all():
            event.delete()
        limitation.record_event(case=case, kind="due", occurred_on=datetime.date(2019, 5, 1), source_type="test", source_id="due")
        late = limitation.record_event(
            case=case, kind="acknowledgment", occurred_on=datetime.date(2023, 1, 5), source_type="test", source_id="promise"
        )
        case.refresh_from_db()
        late.refresh_from_db()
        assert case.limitation_expires_on == datetime.date(2022, 5, 1) and case.limitation_review
        assert late.effect == "after_expiry_review"
