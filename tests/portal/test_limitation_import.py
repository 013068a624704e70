"""The import and the limitation period: the SQL walk for new cases, the Python walk for existing ones, art. 189
instalments and acceleration, corrected evidence withdrawn, and balances owned by the portal's later payments."""

import datetime
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings, strategies as st

from portal import limitation
from portal.intake import services
from portal.models import Case
from portal.payments import services as payments
from portal.payments.models import PaymentSource, ReversalReason
from tests.intake_support import row, to_csv

pytestmark = pytest.mark.django_db
D = Decimal


def run(rows, **options):
    return services.import_now(content=to_csv(rows, **options), original_name="cases.csv", commit=True)


def standing(case):
    return sorted((e.kind, e.occurred_on, e.effect) for e in case.limitation_events.filter(withdrawn_at__isnull=True))


def test_a_payment_after_expiry_does_not_restart_the_period_of_a_new_case(acme):
    """Due 2020-03-15, expired 2023-03-15; a payment in 2024 is the debtor's later agreement (SPC art. 19): flagged, date kept."""
    run([row(1, disbursed_on="2019-01-15", overdue_since="2020-03-15", last_payment_on="2024-05-20")])
    case = Case.objects.get(contract_no="HT00000001")
    assert case.limitation_expires_on == datetime.date(2023, 3, 15) and case.limitation_review
    assert standing(case) == [
        ("due", datetime.date(2020, 3, 15), "counted"),
        ("partial_payment", datetime.date(2024, 5, 20), "after_expiry_review"),
    ]


def test_a_payment_on_the_expiry_day_still_restarts_it(acme):
    run([row(1, disbursed_on="2019-01-15", overdue_since="2020-03-15", last_payment_on="2023-03-15")])
    case = Case.objects.get(contract_no="HT00000001")
    assert case.limitation_expires_on == datetime.date(2026, 3, 15) and not case.limitation_review


DAYS = st.dates(min_value=datetime.date(2015, 1, 1), max_value=datetime.date(2026, 6, 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(DAYS, st.none() | DAYS), min_size=1, max_size=6))
def test_the_imports_sql_walk_agrees_with_the_python_walk(acme, loans):
    """New cases get their date in SQL (limitation.walk_sql); it must be the Python walk's, and so the re-import's."""
    rows = []
    for seed, (overdue, paid) in enumerate(loans, start=1):
        overdue, paid = min(overdue, datetime.date(2026, 6, 1)), paid
        rows.append(
            row(
                900 + seed,
                contract_no=f"HYP{seed:03d}",
                disbursed_on="2014-01-01",
                overdue_since=overdue.isoformat(),
                last_payment_on=paid.isoformat() if paid else "",
            )
        )
    Case.objects.filter(contract_no__startswith="HYP").delete()
    run(rows)
    for (overdue, paid), values in zip(loans, rows, strict=True):
        case = Case.objects.get(contract_no=values["contract_no"])
        events = [("due", overdue)] + ([("partial_payment", paid)] if paid and paid >= overdue else [])
        expected = limitation.walk(events)
        assert (case.limitation_expires_on, case.limitation_review) == (expected.expiry, expected.review)
        assert {(e.kind, e.occurred_on): e.effect for e in case.limitation_events.all()} == dict(expected.steps)
        limitation.recompute(case)  # the Python walk over what the SQL stored changes nothing
        assert (case.limitation_expires_on, case.limitation_review) == (expected.expiry, expected.review)
        case.limitation_events.all().delete()
        case.delete()


def test_instalments_run_from_the_last_instalments_due_date(acme):
    """民法典 art. 189: 等额本息 over 12 months from 2023-01-31 — the last instalment fell due on 2024-01-31."""
    run([row(1, repayment_method="等额本息", disbursed_on="2023-01-31", term_months="12", overdue_since="2023-05-31", last_payment_on="")])
    case = Case.objects.get(contract_no="HT00000001")
    assert case.repayment_method == "equal_instalments"
    assert standing(case) == [("due", datetime.date(2024, 1, 31), "counted")]
    assert case.limitation_expires_on == datetime.date(2027, 1, 31)
    # The conservative date, from the first missed instalment, is shown beside it as a warning.
    assert case.limitation_summary["conservative_expiry"] == datetime.date(2026, 5, 31)
    # A suit filed on 2026-03-02, inside both readings' periods, interrupts either (art. 195(三)): counted from the
    # first missed instalment the period now runs from the filing too, so no earlier date is left to warn about.
    limitation.record_event(case=case, kind="legal_action", occurred_on=datetime.date(2026, 3, 2), source_type="test", source_id="suit")
    case.refresh_from_db()
    assert case.limitation_expires_on == datetime.date(2029, 3, 2)
    assert case.limitation_summary["conservative_expiry"] is None


def test_an_accelerated_loan_runs_from_the_acceleration(acme):
    run(
        [
            row(
                1,
                repayment_method="equal_principal",
                disbursed_on="2023-01-31",
                term_months="24",
                overdue_since="2023-05-31",
                accelerated_on="2023-08-01",
                last_payment_on="",
            )
        ]
    )
    case = Case.objects.get(contract_no="HT00000001")
    assert case.accelerated_on == datetime.date(2023, 8, 1) and case.limitation_expires_on == datetime.date(2026, 8, 1)


def test_a_bullet_loan_runs_from_its_due_date(acme):
    run(
        [
            row(
                1,
                repayment_method="到期一次还本付息",
                disbursed_on="2023-01-15",
                term_months="12",
                overdue_since="2024-01-15",
                last_payment_on="",
            )
        ]
    )
    assert Case.objects.get(contract_no="HT00000001").limitation_expires_on == datetime.date(2027, 1, 15)


def test_a_corrected_overdue_date_withdraws_the_old_import_evidence(acme):
    run([row(1, overdue_since="2024-03-15", last_payment_on="2024-05-20")])
    _batch, verdict = run([row(1, overdue_since="2024-04-15", last_payment_on="2024-06-20")])
    case = Case.objects.get(contract_no="HT00000001")
    assert verdict.updated == 1
    assert standing(case) == [("due", datetime.date(2024, 4, 15), "counted"), ("partial_payment", datetime.date(2024, 6, 20), "counted")]
    withdrawn = case.limitation_events.filter(withdrawn_at__isnull=False).order_by("occurred_on")
    assert [(e.kind, e.occurred_on) for e in withdrawn] == [
        ("due", datetime.date(2024, 3, 15)),
        ("partial_payment", datetime.date(2024, 5, 20)),
    ]
    assert all("cases.csv" in e.withdrawn_note for e in withdrawn)
    assert case.limitation_expires_on == datetime.date(2027, 6, 20)


def test_a_reimport_without_the_payment_column_keeps_the_payment_evidence(acme):
    run([row(1, last_payment_on="2024-05-20")])
    short = ["contract_no", "product", "borrower_name", "id_number", "mobile", "loan_amount", "principal_due", "overdue_since"]
    run([row(1, principal_due="14000.00")], headers=short)
    case = Case.objects.get(contract_no="HT00000001")
    assert ("partial_payment", datetime.date(2024, 5, 20), "counted") in standing(case)
    assert case.limitation_expires_on == datetime.date(2027, 5, 20)


def test_a_demand_after_expiry_recorded_elsewhere_stays_without_effect_on_reimport(acme):
    run([row(1, disbursed_on="2019-01-15", overdue_since="2020-03-15", last_payment_on="")])
    case = Case.objects.get(contract_no="HT00000001")
    limitation.record_event(case=case, kind="demand", occurred_on=datetime.date(2024, 1, 10), source_type="test", source_id="1")
    case.refresh_from_db()
    assert case.limitation_expires_on == datetime.date(2023, 3, 15) and not case.limitation_review
    run([row(1, disbursed_on="2019-01-15", overdue_since="2020-03-15", last_payment_on="", interest_due="900.00")])
    case.refresh_from_db()
    assert case.limitation_expires_on == datetime.date(2023, 3, 15)
    assert ("demand", datetime.date(2024, 1, 10), "after_expiry") in standing(case)


def test_an_older_file_does_not_undo_a_later_portal_payment(acme):
    """One owner for balances: the file's figures predate the payment (its last payment is earlier), so the payment is applied again."""
    today = datetime.date.today()
    run([row(1, principal_due="1000.00", interest_due="100.00", penalty_due="0.00", fees_due="0.00", last_payment_on="")])
    case = Case.objects.get(contract_no="HT00000001")
    payments.record_payment(
        case=case, amount=D("300.00"), paid_on=today - datetime.timedelta(days=3), reference="IMP-PAY-1", source=PaymentSource.MANUAL
    )
    case.refresh_from_db()
    assert (case.principal_due, case.interest_due) == (D("800.00"), D("0.00"))
    # The same old figures again, with an interest correction: the payment's 100 interest and 200 principal come off again.
    run([row(1, principal_due="1000.00", interest_due="150.00", penalty_due="0.00", fees_due="0.00", last_payment_on="")])
    case.refresh_from_db()
    assert (case.principal_due, case.interest_due) == (D("800.00"), D("50.00"))
    assert case.last_payment_on == today - datetime.timedelta(days=3)
    # A file that knows the payment (its last payment date is the payment's) is taken as it is.
    run(
        [
            row(
                1,
                principal_due="790.00",
                interest_due="0.00",
                penalty_due="0.00",
                fees_due="0.00",
                last_payment_on=(today - datetime.timedelta(days=3)).isoformat(),
            )
        ]
    )
    case.refresh_from_db()
    assert (case.principal_due, case.interest_due) == (D("790.00"), D("0.00"))


def test_a_reversed_payment_is_not_applied_again(acme):
    today = datetime.date.today()
    run([row(1, principal_due="1000.00", interest_due="0.00", penalty_due="0.00", fees_due="0.00", last_payment_on="")])
    case = Case.objects.get(contract_no="HT00000001")
    payment = payments.record_payment(
        case=case, amount=D("300.00"), paid_on=today - datetime.timedelta(days=3), reference="IMP-PAY-2", source=PaymentSource.MANUAL
    )[0]
    payments.reverse_payment(payment=payment, reason=ReversalReason.RETURNED, note="银行退票")
    run([row(1, principal_due="990.00", interest_due="0.00", penalty_due="0.00", fees_due="0.00", last_payment_on="")])
    case.refresh_from_db()
    assert case.principal_due == D("990.00")


def test_the_case_page_explains_evidence_after_expiry_and_the_instalment_warning(world, client_for):
    with tenant_context(world.lenders["acme"]):
        run(
            [
                row(
                    1,
                    repayment_method="等额本息",
                    disbursed_on="2019-01-31",
                    term_months="12",
                    overdue_since="2019-05-31",
                    last_payment_on="2024-05-20",
                )
            ]
        )
        case = Case.objects.get(contract_no="HT00000001")
        limitation.record_event(case=case, kind="demand", occurred_on=datetime.date(2024, 6, 1), source_type="test", source_id="late")
        case.refresh_from_db()
        assert case.limitation_expires_on == datetime.date(2023, 1, 31) and case.limitation_review
    page = client_for("acme_manager", host="acme").get(f"/cases/{case.pk}/").content.decode()
    card = page.split('id="limitation"')[1].split('id="balances"')[0]
    assert "badge ok" in card and "2020-01-31" in card  # the last instalment's due date sets the date
    assert "2022-05-31" in card  # the conservative date, from the first missed instalment, as a warning
    assert card.count("badge bad") >= 2 and card.count("badge warn") >= 2  # legal review flag and effects; the warning


def test_the_migration_walks_existing_evidence_again(acme):
    """Dates stored under the old rule (the latest event, even after expiry) are corrected; nothing is deleted."""
    import importlib

    from django.apps import apps

    from portal.models import LimitationEvent

    run([row(1, disbursed_on="2019-01-15", overdue_since="2020-03-15", last_payment_on="")])
    case = Case.objects.get(contract_no="HT00000001")
    LimitationEvent.objects.create(case=case, kind="partial_payment", occurred_on=datetime.date(2024, 2, 1), source_type="old")
    Case.objects.filter(pk=case.pk).update(limitation_expires_on=datetime.date(2027, 2, 1))  # what the old rule stored
    importlib.import_module("portal.migrations.0007_limitation_rewalk_existing").rewalk(apps, None)
    case.refresh_from_db()
    assert case.limitation_expires_on == datetime.date(2023, 3, 15) and case.limitation_review
    assert LimitationEvent.objects.get(case=case, source_type="old").effect == "after_expiry_review"
    assert case.limitation_events.count() == 2
