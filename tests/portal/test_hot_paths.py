"""Hot paths keep a fixed amount of work whatever a case's history holds (bench/ measures their speed)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.lib.keyset import paginate
from portal.models import Case
from portal.payments import services
from portal.payments.models import PaymentSource
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def _queries_to_record(case, reference, paid_on):
    with CaptureQueriesContext(connection) as captured:
        services.record_payment(case=case, amount="10.00", paid_on=paid_on, reference=reference, source=PaymentSource.MANUAL)
    return len(captured.captured_queries)


def test_recording_a_payment_costs_the_same_after_one_or_twenty_earlier_payments(acme):
    """Each payment is limitation evidence (民法典 art. 195); recomputing the date must not read the events one by one."""
    today = timezone.localdate()
    short, long = (
        CaseFactory(prefix="HOT-1", principal_due=Decimal("100000.00")),
        CaseFactory(prefix="HOT-20", principal_due=Decimal("100000.00")),
    )
    services.record_payment(
        case=short, amount="10.00", paid_on=today - datetime.timedelta(days=30), reference="HOT-1-0", source=PaymentSource.MANUAL
    )
    for n in range(20):
        services.record_payment(
            case=long, amount="10.00", paid_on=today - datetime.timedelta(days=30 - n), reference=f"HOT-20-{n}", source=PaymentSource.MANUAL
        )
    assert _queries_to_record(short, "HOT-1-last", today) == _queries_to_record(long, "HOT-20-last", today)


def test_picking_a_page_by_ids_first_gives_the_same_rows_in_the_same_order(acme):
    """The case list's limitation filters page with ids_first; what a person sees must not change with the plan."""
    cases = [CaseFactory(prefix="KEYSET", principal_due=Decimal("100.00")) for _ in range(7)]
    same_moment = cases[0].created_at
    Case.objects.filter(pk__in=[c.pk for c in cases[:3]]).update(created_at=same_moment)  # ties broken by id
    queryset = Case.objects.filter(contract_no__startswith="KEYSET")

    def walk(ids_first):
        seen, cursor = [], None
        while True:
            page = paginate(queryset, time_field="created_at", cursor=cursor, size=3, ids_first=ids_first)
            seen.extend(case.pk for case in page.rows)
            cursor = page.next_cursor
            if cursor is None:
                return seen

    plain = walk(ids_first=False)
    assert walk(ids_first=True) == plain
    assert len(plain) == 7 and len(set(plain)) == 7
