"""Intake: committing valid rows as cases — all in one transaction, upsert by contract number, idempotent."""

import datetime
import os
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from portal.audit.models import AuditEvent
from portal.intake import committing, services
from portal.intake.models import BatchStatus, ImportBatch
from portal.jobs.models import Job, JobStatus
from portal.jobs.services import execute
from portal.lib import crypto
from portal.limitation import record_event
from portal.models import BalanceSnapshot, Case, Contact, Debtor, LimitationEvent
from tests.intake_support import id_number, row, to_csv

pytestmark = pytest.mark.django_db

CaseEvent = apps.get_model("portal", "CaseEvent")
DebtorEvent = apps.get_model("portal", "DebtorEvent")


def run(rows, *, commit=True, name="cases.csv", **options):
    return services.import_now(content=to_csv(rows, **options), original_name=name, commit=commit)


def counts():
    return {
        model.__name__: model.objects.count() for model in (Case, Debtor, Contact, BalanceSnapshot, LimitationEvent, CaseEvent, DebtorEvent)
    }


def test_valid_rows_become_cases_with_borrower_contact_balances_and_limitation(acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the file is deleted once the commit is durable
        batch, verdict = run([row(1, last_payment_on="2024-05-20"), row(2, mobile="bad")])
    assert verdict.as_json()["created"] == 1 and verdict.rows == 2 and verdict.valid == 1
    case = Case.objects.select_related("debtor").get(contract_no="HT00000001")
    assert (case.product, case.region, case.loan_amount, case.principal_due, case.interest_due) == (
        "随心贷",
        "上海",
        Decimal("20000.00"),
        Decimal("15000.00"),
        Decimal("812.35"),
    )
    assert (case.annual_rate, case.term_months, case.disbursed_on) == (Decimal("18.25"), 12, datetime.date(2023, 1, 15))
    debtor = case.debtor
    assert debtor.name == "张三1" and debtor.mobile == "13800000001" and debtor.home_phone == "021-55501234"
    assert debtor.id_number == id_number(1) and debtor.id_number_index == crypto.blind_index(id_number(1))
    assert debtor.id_number_masked == id_number(1)[:3] + "*" * 11 + id_number(1)[-4:]
    assert id_number(1) not in debtor.id_number_ciphertext
    assert [(c.name, c.relation, c.phone, c.position) for c in debtor.contacts.all()] == [("李四", "spouse", "13900000001", 1)]
    snapshot = case.balance_history.get()
    assert (snapshot.principal_due, snapshot.interest_due, snapshot.penalty_due, snapshot.source) == (
        Decimal("15000.00"),
        Decimal("812.35"),
        Decimal("100.00"),
        f"import:{batch.pk}",
    )
    events = sorted((event.kind, event.occurred_on) for event in case.limitation_events.all())
    assert events == [("due", datetime.date(2024, 3, 15)), ("partial_payment", datetime.date(2024, 5, 20))]
    # 民法典 arts. 188, 195: three years from the latest event, here the partial payment.
    assert case.limitation_expires_on == datetime.date(2027, 5, 20)
    assert not Case.objects.filter(contract_no="HT00000002").exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMMITTED and (batch.created, batch.updated, batch.rejected_total) == (1, 0, 1)
    # Once committed, the original file is deleted (PIPL art. 19: kept no longer than needed); the batch keeps
    # its name, size and SHA-256, and nothing is left in this lender's part of the storage.
    assert not batch.has_file and batch.file_deleted_at is not None and batch.sha256 and batch.original_name
    assert not os.path.exists(settings.MEDIA_ROOT / connection.schema_name / "intake" / str(batch.pk) / "original.csv")


def test_a_payment_before_the_default_is_not_limitation_evidence(acme):
    run([row(1, overdue_since="2024-02-29", last_payment_on="2024-02-01")])
    case = Case.objects.get(contract_no="HT00000001")
    assert [event.kind for event in case.limitation_events.all()] == ["due"]
    assert case.limitation_expires_on == datetime.date(2027, 2, 28)  # 29 February falls back to the 28th


def test_reimporting_the_same_file_creates_nothing_and_changes_nothing(acme):
    rows = [row(seed) for seed in range(1, 21)]
    _batch, first = run(rows)
    before = counts()
    _batch, again = run(rows)
    assert (first.created, first.updated) == (20, 0)
    assert again.as_json() == {"rows": 20, "valid": 20, "created": 0, "updated": 0, "rejected": []} and again.unchanged == 20
    assert counts() == before


def test_changed_rows_update_their_cases_and_balances_leave_a_snapshot(acme):
    run([row(1), row(2), row(3)])
    _batch, verdict = run([row(1, principal_due="14000.00"), row(2, address="北京市朝阳区"), row(3), row(4)])
    assert (verdict.created, verdict.updated, verdict.unchanged) == (1, 2, 1)
    first = Case.objects.get(contract_no="HT00000001")
    assert first.principal_due == Decimal("14000.00")
    assert [s.principal_due for s in first.balance_history.order_by("id")] == [Decimal("15000.00"), Decimal("14000.00")]
    second = Case.objects.select_related("debtor").get(contract_no="HT00000002")
    assert second.debtor.address == "北京市朝阳区" and second.balance_history.count() == 1
    assert Case.objects.filter(contract_no__startswith="HT0000000").count() == 4
    assert CaseEvent.objects.filter(pgh_obj_id=first.pk, pgh_label="update").count() == 1


def test_columns_missing_from_a_later_file_keep_their_stored_values(acme):
    run([row(1, region="上海", interest_due="812.35")])
    short = ["contract_no", "product", "borrower_name", "id_number", "mobile", "loan_amount", "principal_due", "overdue_since"]
    _batch, verdict = run([row(1, principal_due="100.00")], headers=short)
    case = Case.objects.get(contract_no="HT00000001")
    assert verdict.updated == 1 and case.principal_due == Decimal("100.00")
    assert case.region == "上海" and case.interest_due == Decimal("812.35")
    assert case.balance_history.order_by("-id").first().interest_due == Decimal("812.35")


def test_one_borrower_with_two_loans_is_one_debtor(acme):
    same = id_number(42)
    _batch, verdict = run([row(1, id_number=same), row(2, id_number=same, mobile="13912345678")])
    assert verdict.created == 2
    debtors = {case.debtor_id for case in Case.objects.filter(contract_no__in=["HT00000001", "HT00000002"])}
    assert len(debtors) == 1
    assert Debtor.objects.get(pk=debtors.pop()).mobile == "13912345678"  # the last row's details


def test_a_corrected_id_number_moves_the_case_to_the_right_borrower(acme):
    run([row(1)])
    old_debtor = Case.objects.get(contract_no="HT00000001").debtor_id
    _batch, verdict = run([row(1, id_number=id_number(77))])
    case = Case.objects.select_related("debtor").get(contract_no="HT00000001")
    assert verdict.updated == 1 and case.debtor_id != old_debtor and case.debtor.id_number == id_number(77)


def test_later_evidence_recorded_elsewhere_is_kept_when_reimporting(acme):
    run([row(1)])
    case = Case.objects.get(contract_no="HT00000001")
    record_event(case=case, kind="acknowledgment", occurred_on=datetime.date(2025, 1, 10), source_type="test", source_id="1")
    _batch, verdict = run([row(1, interest_due="900.00")])
    case.refresh_from_db()
    assert verdict.updated == 1 and case.limitation_expires_on == datetime.date(2028, 1, 10)


def test_nothing_is_half_imported_when_the_commit_fails(acme, monkeypatch):
    """Debtors, cases and contacts are already written when the limitation events fail: all of it is rolled back."""
    before = counts()
    original = committing.insert_rows

    def failing(model, rows):
        if model is LimitationEvent:
            raise RuntimeError("disk full")
        return original(model, rows)

    monkeypatch.setattr(committing, "insert_rows", failing)
    batch, _mapping = services.receive_file(content=to_csv([row(seed) for seed in range(1, 51)]), original_name="cases.csv")
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    services.validate_batch(batch=batch)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMMITTING)
    with pytest.raises(RuntimeError, match="disk full"):
        services.commit_batch(batch=batch)
    assert counts() == before
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALIDATED and batch.file_error.code == "commit_failed" and batch.created == 0
    monkeypatch.setattr(committing, "insert_rows", original)
    assert services.start_commit(batch=batch) is not None  # and it can be started again


def test_committing_a_batch_twice_does_nothing_the_second_time(acme):
    batch, mapping = services.receive_file(content=to_csv([row(1), row(2)]), original_name="cases.csv")
    assert mapping.complete
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    services.validate_batch(batch=batch)
    first = services.commit_batch(batch=batch)
    before = counts()
    second = services.commit_batch(batch=batch)
    assert first.created == 2 and second.as_json() == first.as_json() and counts() == before
    assert services.start_commit(batch=batch) is None
    assert AuditEvent.objects.filter(action="create", object_type="intake.importbatch", object_id=str(batch.pk)).count() == 1


def test_a_commit_cut_short_by_a_dying_worker_completes_once_when_redelivered(acme, monkeypatch, django_capture_on_commit_callbacks):
    """A worker killed mid-commit (not an exception the job sees) leaves the job running; redelivery finishes it, once."""
    batch, _mapping = services.receive_file(content=to_csv([row(seed) for seed in range(1, 31)]), original_name="cases.csv")
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.VALIDATING)
    services.validate_batch(batch=batch)
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_commit(batch=batch)
    original = committing.insert_rows

    def killed(model, rows):
        if model is Contact:
            raise SystemExit("worker lost")  # not an Exception: the job never learns of it
        return original(model, rows)

    monkeypatch.setattr(committing, "insert_rows", killed)
    with pytest.raises(SystemExit):
        execute(job.pk)
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.COMMITTING
    assert not Case.objects.filter(contract_no="HT00000001").exists()
    monkeypatch.setattr(committing, "insert_rows", original)
    done = execute(job.pk)  # the broker hands the message to the next worker
    assert done.status == JobStatus.DONE and done.attempts == 2
    assert Case.objects.filter(contract_no__startswith="HT000000").count() == 30
    assert execute(job.pk) is None and Case.objects.filter(contract_no__startswith="HT000000").count() == 30


def test_row_history_is_what_pghistory_would_have_written_and_names_the_import(acme):
    batch, _verdict = run([row(1)])
    case = Case.objects.get(contract_no="HT00000001")
    event = CaseEvent.objects.get(pgh_obj_id=case.pk)
    assert event.pgh_label == "insert" and event.pgh_context.metadata["import"] == str(batch.pk)
    for field in Case._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(case, field.attname), field.name
    debtor_event = DebtorEvent.objects.get(pgh_obj_id=case.debtor_id)
    assert debtor_event.name == "张三1" and debtor_event.pgh_label == "insert"
    # The triggers are back on for whatever follows in the same transaction.
    Case.objects.filter(pk=case.pk).update(product="极速贷")
    assert CaseEvent.objects.filter(pgh_obj_id=case.pk, pgh_label="update", product="极速贷").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pgtrigger.ignore', true)")
        assert cursor.fetchone()[0] in (None, "")


def test_batch_encryption_and_blind_indexes_equal_the_one_at_a_time_functions(settings):
    """bulkcrypto is the fast path of portal.lib.crypto: its tokens decrypt with crypto.decrypt (also once a newer key
    is in front), and its blind indexes are crypto.blind_index's, spaces and a lower-case x included."""
    from cryptography.fernet import Fernet

    from portal.intake import bulkcrypto

    values = [id_number(7), id_number(8)[:-1] + "x", f"  {id_number(9)} ", "短", "一二三四五六七八九十一二三四五六七八"]
    tokens = bulkcrypto.encrypt_many(values)
    assert [crypto.decrypt(token) for token in tokens] == values and len(set(tokens)) == len(tokens)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]  # rotated: newest first
    assert [crypto.decrypt(token) for token in tokens] == values
    assert bulkcrypto.blind_indexes(values) == [crypto.blind_index(value) for value in values]
    assert crypto.blind_index(id_number(8)[:-1] + "x") == crypto.blind_index(id_number(8)[:-1] + "X")


@pytest.mark.parametrize("last_payment_on", ["", "2024-03-14", "2024-03-15", "2024-04-01"])
def test_a_new_case_and_an_updated_one_get_the_same_limitation_evidence(acme, last_payment_on):
    """The rule "a payment on or after the due date is partial performance" runs in SQL for new cases and in Python
    for existing ones (committing.limitation_events): both give the same events and the same date."""
    run([row(601, last_payment_on=last_payment_on)])  # new: the staged, set-based path
    run([row(602, last_payment_on="")])
    run([row(602, last_payment_on=last_payment_on)])  # existing: the planned, row-by-row path

    def evidence(contract_no):
        case = Case.objects.get(contract_no=contract_no)
        return sorted((e.kind, e.occurred_on) for e in case.limitation_events.all()), case.limitation_expires_on

    new, updated = evidence("HT00000601"), evidence("HT00000602")
    assert new == updated
    expected_latest = datetime.date(2024, 4, 1) if last_payment_on == "2024-04-01" else datetime.date(2024, 3, 15)
    assert new[1] == expected_latest.replace(year=expected_latest.year + 3)
