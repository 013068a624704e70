"""tests/factories.py builds what the services build: a case as an import leaves it, real placements and payments."""

import datetime
from decimal import Decimal

import pytest

from outsourcing.models import PlacementStatus
from portal.limitation import LIMITATION_YEARS, add_years
from portal.models import CaseStatus
from tests.factories import CaseFactory, PaymentFactory, PlacementFactory, manager, place

pytestmark = pytest.mark.django_db


def test_a_case_carries_its_due_date_evidence_and_first_snapshot_like_an_import(acme):
    case = CaseFactory(dpd=45, principal_due=Decimal("1200.50"))
    # 民法典 art. 188: three years from the day the debt fell due (a bullet loan: the first missed date).
    assert [(event.kind, event.occurred_on) for event in case.limitation_events.all()] == [("due", case.overdue_since)]
    assert case.limitation_expires_on == add_years(case.overdue_since, LIMITATION_YEARS)
    snapshot = case.balance_history.get()
    assert (snapshot.principal_due, snapshot.source) == (Decimal("1200.50"), "import:factory")
    assert case.debtor.id_number_masked.endswith("002X") and case.bucket == "M2"


def test_a_case_without_evidence_when_asked(acme):
    case = CaseFactory(imported=False)
    assert not case.limitation_events.exists() and not case.balance_history.exists() and case.limitation_expires_on is None


def test_placements_and_payments_go_through_the_services(acme):
    world = acme
    one = PlacementFactory(partner=world.orgs["xagency"], placed_by=manager(world))
    assert one.status == PlacementStatus.ACTIVE and one.agreement_version == world.outsourcing["agreement"].current_version
    batch = place(world, CaseFactory.create_batch(2))
    assert {p.case.status for p in batch} == {CaseStatus.PLACED}
    paid_on = datetime.date.today() - datetime.timedelta(days=1)
    payment = PaymentFactory(case=one.case, amount=Decimal("300.00"), paid_on=paid_on)
    one.case.refresh_from_db()
    assert payment.to_principal == Decimal("300.00") and one.case.principal_due == Decimal("700.00")
    assert one.case.limitation_expires_on == add_years(paid_on, LIMITATION_YEARS)  # art. 195: a partial payment restarts it
