import datetime

import pytest
from django_tenants.utils import tenant_context
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.lists(st.tuples(KINDS, DAYS), min_size=1, max_size=12))
def test_expiry_is_three_years_after_the_latest_event_whatever_the_order(events):
    expiry, basis = limitation.expiry_from(events)
    latest = max(day for _, day in events)
    assert basis[1] == latest
    assert (expiry - latest).days in (365 * 3, 365 * 3 + 1, 365 * 3 - 1)


@pytest.mark.django_db
def test_recording_events_updates_the_case_and_is_idempotent(world):
    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_unplaced"]
        limitation.record_event(case=case, kind="due", occurred_on=datetime.date(2024, 5, 1), evidence="overdue since (import)", source_type="import")
        limitation.record_event(case=case, kind="demand", occurred_on=datetime.date(2025, 1, 2), evidence="SMS delivered", source_type="sms", source_id="1")
        limitation.record_event(case=case, kind="demand", occurred_on=datetime.date(2025, 1, 2), evidence="SMS delivered", source_type="sms", source_id="1")
        case.refresh_from_db()
        assert case.limitation_expires_on == datetime.date(2028, 1, 2)
        assert case.limitation_events.count() == 2


@pytest.mark.django_db
def test_the_sql_form_of_the_rule_gives_the_same_dates_as_python():
    """The import computes the date in SQL (limitation.expiry_sql); it must agree with add_years, leap days included."""
    from django.db import connection

    days = [datetime.date(2024, 2, 29), datetime.date(2023, 2, 28), datetime.date(2024, 3, 1), datetime.date(2020, 2, 29),
            datetime.date(2025, 12, 31), datetime.date(2000, 1, 1)]
    expression, params = limitation.expiry_sql("d")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d, {expression} FROM unnest(%s::date[]) AS t(d) ORDER BY d", [*params, days])  # select list first
        rows = cursor.fetchall()
    assert len(rows) == len(days) and all(sql_day == limitation.add_years(day, limitation.LIMITATION_YEARS) for day, sql_day in rows)
