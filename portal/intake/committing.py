"""Writing valid rows as cases: all of them in one transaction, or none.

Upsert by contract number (never a second case for the same contract); a
borrower is one debtor across loans, found by the blind index of the ID
number. The plan is made in Python from one read of what exists; the
writes are set-based (COPY of new debtors and contacts; new cases COPYed
once into a staging table, from which the cases, balance snapshots and
limitation events are each one INSERT ... SELECT; a temporary table and one
UPDATE for changed rows): 100,000 rows are a few statements, not 100,000
round trips.

A re-import counts a row as "updated" only when something in it differs
from what is stored; an identical file updates nothing.

Limitation (诉讼时效): new cases get their date from the walk's SQL twin
(portal.limitation.walk_sql), existing ones from the Python walk over their
standing evidence; both give the same answer (tests/test_limitation*.py). A
re-import that corrects the dates an earlier import's evidence came from
withdraws that evidence (marked with the file and row, never deleted).

One owner for balances: a payment recorded in the portal that stands (not
reversed) and is dated after the file's last_payment_on is one the file does
not know of; its posting is applied again on top of the file's figures
(_reapplied: never below zero, principal never above the loan) rather than
the file undoing it. We re-apply rather than refuse the row, so that the
file's other corrections (an interest figure, an address) still land.
"""

import datetime
import json
import operator
import os
import uuid
from dataclasses import dataclass, field
from itertools import count

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from portal import limitation
from portal.lib import idnumber
from portal.lib.money import to_fen
from portal.models import BalanceSnapshot, Case, Contact, ContactRelation, Debtor, LimitationEvent, LimitationEventKind
from portal.payments.models import Payment, PaymentPostingCorrection, PaymentReversal

from . import bulkcrypto
from .validation import CleanRow, cyclic_gc_paused

# Canonical columns that are Case fields of the same name.
CASE_FIELDS = (
    "product",
    "region",
    "loan_amount",
    "disbursed_on",
    "annual_rate",
    "term_months",
    "principal_due",
    "interest_due",
    "penalty_due",
    "fees_due",
    "overdue_since",
    "last_payment_on",
    "repayment_method",
    "accelerated_on",
)
# What the limitation evidence of a row is made from (limitation_events).
LIMITATION_FIELDS = ("overdue_since", "last_payment_on", "repayment_method", "disbursed_on", "term_months", "accelerated_on")
BALANCE_FIELDS = ("principal_due", "interest_due", "penalty_due", "fees_due")
# Canonical column -> Debtor field.
DEBTOR_FIELDS = {
    "borrower_name": "name",
    "mobile": "mobile",
    "home_phone": "home_phone",
    "work_phone": "work_phone",
    "employer": "employer",
    "address": "address",
}
EVENT_SOURCE = "intake.import"  # LimitationEvent.source_type of evidence taken from an import
WITHDRAWN_NOTE = gettext_lazy("Corrected by a later import (%(row)s)")
_temp_names = count(1)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Plan:
    debtors_new: dict = field(default_factory=dict)  # id -> {field: value}
    debtors_changed: dict = field(default_factory=dict)  # id -> {field: value}
    cases_new: list = field(default_factory=list)  # new cases, as STAGED tuples (see _stage_new_cases)
    cases_changed: list = field(default_factory=list)  # {field: value}, with "id"
    contacts_new: list = field(default_factory=list)
    contacts_changed: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    events: list = field(default_factory=list)
    events_withdrawn: list = field(default_factory=list)  # {"id", "withdrawn_at", "withdrawn_note"}
    event_effects: list = field(default_factory=list)  # {"id", "effect"}: standing events whose effect the walk changes
    outcome: Outcome = field(default_factory=Outcome)


DUE, PARTIAL_PAYMENT = LimitationEventKind.DUE.value, LimitationEventKind.PARTIAL_PAYMENT.value
OTHER_RELATION = ContactRelation.OTHER.value


def limitation_events(
    *, overdue_since, last_payment_on, repayment_method="", disbursed_on=None, term_months=None, accelerated_on=None
) -> list:
    """The limitation evidence a row carries: (kind, date).

    The debt fell due on limitation.period_start: overdue_since (民法典 art. 188), or for a loan in instalments the
    last instalment's due date, or the acceleration date (art. 189). A payment on or after the first missed date is
    partial performance (art. 195(二)); an ordinary instalment paid before the default is not evidence of anything.
    Whether each event counts is the walk's answer (limitation.walk, walk_sql).
    """
    events = [
        (
            DUE,
            limitation.period_start(
                overdue_since=overdue_since,
                repayment_method=repayment_method,
                disbursed_on=disbursed_on,
                term_months=term_months,
                accelerated_on=accelerated_on,
            ),
        )
    ]
    if last_payment_on and last_payment_on >= overdue_since:
        events.append((PARTIAL_PAYMENT, last_payment_on))
    return events


def _reapplied(balances: dict, payments: list, loan_amount) -> dict:
    """The file's balances with the portal's later payments applied again on top.

    One owner for balances: a payment recorded in the portal (portal.payments, not reversed) dated after what the
    file knows of (its last_payment_on) has already changed the stored balances; a file from before it would undo
    it. The parts the payment was applied to (its own posting, 民法典 art. 561) are taken off the file's figures
    again, never below zero, and principal never above the loan.
    """
    result = dict(balances)
    for payment in payments:
        for name, part in (
            ("fees_due", payment["to_fees"]),
            ("penalty_due", payment["to_penalty"]),
            ("interest_due", payment["to_interest"]),
            ("principal_due", payment["to_principal"]),
        ):
            result[name] = to_fen(max(result[name] - part, 0))
    result["principal_due"] = min(result["principal_due"], loan_amount)
    return result


def commit_rows(
    *, rows: list, mapped: frozenset, source: str, evidence, history: dict | None = None, today: datetime.date | None = None
) -> Outcome:
    """Create or update a case for every row, in one transaction; returns how many were created, updated, unchanged.

    ``mapped``: the canonical columns the file has; a column it lacks leaves
    the stored value alone. ``source`` labels the balance snapshots
    (≤ 64 characters); ``evidence(row number)`` describes the limitation events;
    ``history`` is the metadata of the pghistory context the row history is filed under.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    with cyclic_gc_paused(), transaction.atomic():
        with connection.cursor() as cursor:
            # One import at a time per lender: two files naming the same new contract must not race.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"caseport.intake.{connection.schema_name}"])
            cursor.execute(f"SELECT {', '.join('current_setting(%s, true)' for _name in HISTORY_SETTINGS)}", HISTORY_SETTINGS)
            before = cursor.fetchone()
            _begin_history(cursor, history or {})
        plan = _plan(rows, mapped=mapped, source=source, evidence=evidence, today=today, now=now)
        _write(plan, mapped=mapped, source=source, today=today, now=now)
        with connection.cursor() as cursor:
            # Put the context back: whatever runs later in an enclosing transaction is filed as before.
            cursor.execute(
                f"SELECT {', '.join('set_config(%s, %s, true)' for _name in HISTORY_SETTINGS)}",
                [value for pair in zip(HISTORY_SETTINGS, before, strict=True) for value in (pair[0], pair[1] or "")],
            )
    return plan.outcome


# ---------------------------------------------------------------- row history (pghistory)
# Debtor, Case and Contact keep their history with pghistory triggers at
# statement level (portal/models.py): each COPY, INSERT ... SELECT or UPDATE
# below fires them once, and they write every row's history from the
# statement's transition table, set-based, under the context this import
# opens. A row-level tracker (one trigger call and subtransaction per row)
# would make an import minutes long, so it is refused at once, not endured.


HISTORY_SETTINGS = ["pghistory.context_id", "pghistory.context_metadata"]
HISTORIED = (Debtor, Case, Contact)


def _require_statement_level_history():
    import pghistory.trigger
    import pgtrigger

    for model, trigger in pgtrigger.registered():
        if model in HISTORIED and isinstance(trigger, pghistory.trigger.Event) and trigger.level != pgtrigger.Statement:
            raise ImproperlyConfigured(
                f"{model.__name__}'s history must be tracked at statement level (pghistory.Statement) for set-based imports"
            )


def _begin_history(cursor, metadata: dict) -> uuid.UUID:
    """Open the pghistory context every history row of this import is filed under; returns its id."""
    from pghistory.models import Context

    _require_statement_level_history()
    context_id = uuid.uuid4()
    Context.objects.create(id=context_id, metadata=json.loads(json.dumps(metadata, default=str)))
    # Transaction-local, like pghistory.context() itself.
    cursor.execute(
        "SELECT set_config('pghistory.context_id', %s, true), set_config('pghistory.context_metadata', %s, true)",
        [str(context_id), json.dumps(metadata, default=str)],
    )
    return context_id


# ---------------------------------------------------------------- planning


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


# A list of keys sent as one text parameter and split by the server: psycopg would otherwise check and
# quote a 100,000-element array element by element. The separator is the ASCII unit separator, which no
# key can contain (contract numbers are refused with control characters; the others are hex).
KEY_SEPARATOR = "\x1f"
ANY_KEY = "ANY(string_to_array(%s, chr(31)))"


def keys(values) -> str:
    return KEY_SEPARATOR.join(str(value) for value in values)


def _existing(contract_nos: list, indexes: list):
    """What is stored for these contracts and borrowers, read once. Ids come back as text, like the new ones."""
    quote = connection.ops.quote_name
    case_columns = ["id", "debtor_id", "contract_no", *CASE_FIELDS, "limitation_expires_on", "limitation_review"]
    selected = ", ".join(f"{quote(column)}::text" if column in ("id", "debtor_id") else quote(column) for column in case_columns)
    # The borrowers concerned: those of these contracts' cases, and any with these ID numbers.
    debtors_concerned = (
        f"SELECT id FROM {_table(Debtor)} WHERE id_number_index = {ANY_KEY} "
        f"UNION SELECT debtor_id FROM {_table(Case)} WHERE contract_no = {ANY_KEY}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {_table(Case)} WHERE contract_no = {ANY_KEY}", [keys(contract_nos)])
        cases = {values[2]: dict(zip(case_columns, values, strict=True)) for values in cursor.fetchall()}
        if not cases and not indexes:
            return cases, {}, {}, {}, {}, {}
        debtor_columns = ["id", "id_number_index", *DEBTOR_FIELDS.values()]
        cursor.execute(
            f"SELECT id::text, {', '.join(quote(column) for column in debtor_columns[1:])} FROM {_table(Debtor)} "
            f"WHERE id IN ({debtors_concerned}) ORDER BY created_at, id",
            [keys(indexes), keys(contract_nos)],
        )
        debtors = {values[0]: dict(zip(debtor_columns, values, strict=True)) for values in cursor.fetchall()}
        contacts, events, payments = {}, {}, {}
        if debtors:
            cursor.execute(
                f"SELECT id::text, debtor_id::text, name, relation, phone FROM {_table(Contact)} "
                f"WHERE position = 1 AND debtor_id IN ({debtors_concerned})",
                [keys(indexes), keys(contract_nos)],
            )
            contacts = {
                values[1]: dict(zip(("id", "debtor_id", "name", "relation", "phone"), values, strict=True)) for values in cursor.fetchall()
            }
        if cases:
            cursor.execute(
                f"SELECT event.case_id::text, event.id::text, event.kind, event.occurred_on, event.source_type, event.effect "
                f"FROM {_table(LimitationEvent)} AS event "
                f"JOIN {_table(Case)} AS c ON c.id = event.case_id WHERE c.contract_no = {ANY_KEY} AND event.withdrawn_at IS NULL",
                [keys(contract_nos)],
            )
            for case_id, *event in cursor.fetchall():
                events.setdefault(case_id, []).append(dict(zip(("id", "kind", "occurred_on", "source_type", "effect"), event, strict=True)))
            # The portal's own payments that stand (not reversed): the balances they changed are theirs (_reapplied).
            # Each payment's split as it stands (its own posting plus the corrections a reversal's re-application wrote:
            # payments.models.effective_split), so a file never takes off parts the payment no longer holds.
            cursor.execute(
                f"SELECT p.case_id::text, p.paid_on, p.to_fees + COALESCE(SUM(x.to_fees), 0), "
                f"p.to_penalty + COALESCE(SUM(x.to_penalty), 0), p.to_interest + COALESCE(SUM(x.to_interest), 0), "
                f"p.to_principal + COALESCE(SUM(x.to_principal), 0) "
                f"FROM {_table(Payment)} AS p JOIN {_table(Case)} AS c ON c.id = p.case_id "
                f"LEFT JOIN {_table(PaymentPostingCorrection)} AS x ON x.payment_id = p.id "
                f"WHERE c.contract_no = {ANY_KEY} AND NOT EXISTS (SELECT 1 FROM {_table(PaymentReversal)} AS r WHERE r.payment_id = p.id) "
                f"GROUP BY p.id ORDER BY p.paid_on, p.recorded_at",
                [keys(contract_nos)],
            )
            for case_id, *payment in cursor.fetchall():
                payments.setdefault(case_id, []).append(
                    dict(zip(("paid_on", "to_fees", "to_penalty", "to_interest", "to_principal"), payment, strict=True))
                )
    by_index = {}
    for debtor in debtors.values():  # ordered oldest first: a borrower's first record is the one kept
        by_index.setdefault(debtor["id_number_index"], debtor["id"])
    return cases, debtors, by_index, contacts, events, payments


_VERSION_4 = bytes(byte & 0x0F | 0x40 for byte in range(256))  # byte 6: version 4
_VARIANT_RFC_4122 = bytes(byte & 0x3F | 0x80 for byte in range(256))  # byte 8: variant 10xx


def _new_ids(count: int) -> list:
    """``count`` fresh random (version 4) UUIDs as text, in ascending order.

    Each is as random as uuid.uuid4() (os.urandom, version and variant bits set the same way); only the
    order in which this import uses them is chosen: rows then arrive in key order, so every primary-key
    index (and the history's pgh_obj_id index, and the deferred foreign-key checks at COMMIT) grows at its
    right end instead of touching a random page per row. Lower-case hex sorts as the bytes do, as
    PostgreSQL orders uuid values.
    """
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT_RFC_4122)
    text = raw.hex()
    ordered = sorted(text[start : start + 32] for start in range(0, len(text), 32))
    return [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in ordered]


def _getter(names):
    """A function CleanRow -> tuple of the named fields (a tuple even for one name or none)."""
    positions = [CleanRow._fields.index(name) for name in names]
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    return lambda row: tuple(row[position] for position in positions)


def _plan(rows, *, mapped, source, evidence, today, now) -> _Plan:
    plan = _Plan()
    plaintexts = {}  # new debtor id -> ID number, encrypted in one batch below; never in a row that is written
    indexes = bulkcrypto.blind_indexes([row.id_number for row in rows])
    distinct = set(indexes)
    cases, debtors, by_index, contacts, events, payments = _existing([row.contract_no for row in rows], list(distinct))
    # Contract numbers are unique in a checked file: every row whose contract is not stored is a new case.
    new_case_id = iter(_new_ids(len(rows) - len(cases))).__next__
    new_event_id = iter(_new_ids(2 * (len(rows) - len(cases)))).__next__  # a new case's due date and payment, maybe unused
    new_debtor_id = iter(_new_ids(len(distinct.difference(by_index)))).__next__
    debtor_columns = [(column, DEBTOR_FIELDS[column]) for column in DEBTOR_FIELDS if column in mapped]
    debtor_names = [name for _column, name in debtor_columns]
    debtor_getter = _getter([column for column, _name in debtor_columns])
    case_columns = [column for column in CASE_FIELDS if column in mapped]
    new_by_index = {}
    debtor_values, contact_values = {}, {}
    staged_values = _getter(STAGED)
    existing_rows = []  # (case changed?, debtor id) for rows of existing cases
    for row, index in zip(rows, indexes, strict=True):
        case = cases.get(row.contract_no)
        # Which debtor: the case's own if the ID number is the same, else the borrower's existing record, else a new one.
        if case is not None and debtors[case["debtor_id"]]["id_number_index"] == index:
            debtor_id = case["debtor_id"]
        else:
            debtor_id = by_index.get(index) or new_by_index.get(index)
        if debtor_id is None:
            debtor_id = new_by_index[index] = new_debtor_id()
            # What Debtor.set_id_number does, for a number the cleaner has already validated. The plaintext is kept
            # apart; the ciphertext is filled in below, all numbers encrypted at once.
            plaintexts[debtor_id] = row.id_number
            plan.debtors_new[debtor_id] = {
                "id": debtor_id,
                "id_number_ciphertext": None,
                "id_number_index": index,
                "id_number_masked": idnumber.mask(row.id_number),
                "created_at": now,
            }
        # A borrower named on several rows: the last row's details win.
        debtor_values[debtor_id] = dict(zip(debtor_names, debtor_getter(row), strict=True))
        if row.contact1_name and row.contact1_phone:
            contact_values[debtor_id] = {
                "name": row.contact1_name,
                "relation": row.contact1_relation or OTHER_RELATION,
                "phone": row.contact1_phone,
            }
        if case is None:
            # A new case, its balance snapshot and its limitation events are made from this one tuple, in SQL (_write).
            due_on = limitation.period_start(
                overdue_since=row.overdue_since,
                repayment_method=row.repayment_method,
                disbursed_on=row.disbursed_on,
                term_months=row.term_months,
                accelerated_on=row.accelerated_on,
            )
            plan.cases_new.append(
                (new_case_id(), new_event_id(), new_event_id(), debtor_id, evidence(row.row)[:300], due_on, *staged_values(row))
            )
            continue
        case_values = {column: getattr(row, column) for column in case_columns}
        case_id = case["id"]
        # A column the file lacks leaves the stored value alone, for the limitation evidence too.
        row_events = limitation_events(**{name: case_values.get(name, case[name]) for name in LIMITATION_FIELDS})
        if case_id in payments:
            case_values.update(
                _owned_balances(
                    case, case_values, payments[case_id], knows_payments_to=row.last_payment_on if "last_payment_on" in mapped else None
                )
            )
        known = events.get(case_id, [])
        # A re-import that corrects overdue_since or last_payment_on (or what the due date is computed from)
        # withdraws the evidence earlier imports gave that this row no longer gives: marked, never deleted.
        withdrawn = [
            event
            for event in known
            if event["source_type"] == EVENT_SOURCE
            and event["kind"] in (DUE, PARTIAL_PAYMENT)
            and (event["kind"], event["occurred_on"]) not in row_events
        ]
        standing = [event for event in known if event not in withdrawn]
        new_events = [event for event in row_events if event not in {(e["kind"], e["occurred_on"]) for e in standing}]
        result = limitation.walk([*((e["kind"], e["occurred_on"]) for e in standing), *new_events])
        effects = dict(result.steps)
        note = evidence(row.row)[:250]
        plan.events_withdrawn.extend(
            {"id": event["id"], "withdrawn_at": now, "withdrawn_note": limitation.evidence_text(WITHDRAWN_NOTE, row=note)[:300]}
            for event in withdrawn
        )
        plan.event_effects.extend(
            {"id": event["id"], "effect": effects[(event["kind"], event["occurred_on"])]}
            for event in standing
            if event["effect"] != effects[(event["kind"], event["occurred_on"])]
        )
        case_changed = case["debtor_id"] != debtor_id or any(case[name] != value for name, value in case_values.items())
        if case_changed or result.expiry != case["limitation_expires_on"] or result.review != case["limitation_review"]:
            plan.cases_changed.append(
                {
                    "id": case_id,
                    "debtor_id": debtor_id,
                    "last_payment_on": case["last_payment_on"],
                    **case_values,
                    "limitation_expires_on": result.expiry,
                    "limitation_review": result.review,
                    "updated_at": now,
                }
            )
        if any(name in case_values and case[name] != case_values[name] for name in BALANCE_FIELDS):
            plan.snapshots.append(
                _snapshot(case_id, {name: case_values.get(name, case[name]) for name in BALANCE_FIELDS}, today, source, now)
            )
        existing_rows.append((case_changed or bool(withdrawn), debtor_id))
        plan.events.extend(
            {
                "id": str(uuid.uuid4()),
                "case_id": case_id,
                "kind": kind,
                "occurred_on": day,
                "evidence": evidence(row.row)[:300],
                "source_type": EVENT_SOURCE,
                "source_id": "",
                "effect": effects[(kind, day)],
                "created_at": now,
            }
            for kind, day in new_events
        )
    plan.outcome.created = len(plan.cases_new)
    new_ids = list(plan.debtors_new)
    for debtor_id, ciphertext in zip(new_ids, bulkcrypto.encrypt_many([plaintexts[debtor_id] for debtor_id in new_ids]), strict=True):
        plan.debtors_new[debtor_id]["id_number_ciphertext"] = ciphertext
    for debtor_id, values in debtor_values.items():
        if debtor_id in plan.debtors_new:
            plan.debtors_new[debtor_id].update(values)
        elif any(debtors[debtor_id][name] != value for name, value in values.items()):
            plan.debtors_changed[debtor_id] = {"id": debtor_id, **values}
    touched = set(plan.debtors_changed)  # debtors whose details or contact this import changes
    new_contact_id = iter(_new_ids(len(contact_values))).__next__
    for debtor_id, contact in contact_values.items():
        stored = None if debtor_id in plan.debtors_new else contacts.get(debtor_id)
        if stored is None:
            plan.contacts_new.append({"id": new_contact_id(), "debtor_id": debtor_id, "position": 1, **contact})
            touched.add(debtor_id)
        elif any(stored[key] != value for key, value in contact.items()):
            plan.contacts_changed.append({"id": stored["id"], **contact})
            touched.add(debtor_id)
    # An existing case counts as updated when anything stored about it changes: its own fields, or its borrower's.
    plan.outcome.updated = sum(1 for case_changed, debtor_id in existing_rows if case_changed or debtor_id in touched)
    plan.outcome.unchanged = len(existing_rows) - plan.outcome.updated
    return plan


def _owned_balances(case: dict, values: dict, payments, *, knows_payments_to) -> dict:
    """The balance fields (and last_payment_on) to write for an existing case, given the portal's standing payments.

    A payment dated after the file's last_payment_on (or any, when the file has no such column or date) is one the
    file does not know of: it is applied again on top of the file's figures (_reapplied), so a file older than
    the payment never undoes it; and the case's last payment stays the later one.
    """
    later = [p for p in payments if knows_payments_to is None or p["paid_on"] > knows_payments_to]
    if not later or not any(name in values for name in BALANCE_FIELDS):
        return {}
    balances = {name: values.get(name, case[name]) for name in BALANCE_FIELDS}
    reapplied = _reapplied(balances, later, values.get("loan_amount", case["loan_amount"]))
    result = {name: reapplied[name] for name in BALANCE_FIELDS if name in values}  # a stored figure already has the payment
    latest = max(p["paid_on"] for p in later)
    if "last_payment_on" in values and (values["last_payment_on"] is None or values["last_payment_on"] < latest):
        result["last_payment_on"] = latest
    return result


def _snapshot(case_id, balances, today, source, now):
    return {"case_id": case_id, "as_of": today, "source": source, "recorded_at": now, **balances}


# ---------------------------------------------------------------- writing


# The columns of a row a new case is made from, after its debtor's id and the events' evidence text.
STAGED = ("contract_no", *CASE_FIELDS)


def _write(plan: _Plan, *, mapped, source: str, today: datetime.date, now):
    debtor_update = [DEBTOR_FIELDS[column] for column in DEBTOR_FIELDS if column in mapped]
    case_update = [
        "debtor_id",
        *[column for column in CASE_FIELDS if column in mapped],
        "limitation_expires_on",
        "limitation_review",
        "updated_at",
    ]
    if any(name in mapped for name in BALANCE_FIELDS):  # a balance re-applied over a later portal payment moves its date too
        case_update = list(dict.fromkeys([*case_update, "last_payment_on"]))
    staging = _stage_new_cases(plan.cases_new)
    new_cases, new_snapshots, new_events = _from_staging(staging, mapped=mapped, source=source, today=today, now=now)
    for model, inserted, changed, names in (
        (Debtor, list(plan.debtors_new.values()), list(plan.debtors_changed.values()), debtor_update),
        (Case, new_cases, plan.cases_changed, case_update),
        (Contact, plan.contacts_new, plan.contacts_changed, ["name", "relation", "phone"]),
    ):
        insert_rows(model, inserted)
        update_rows(model, names, changed)
    insert_rows(BalanceSnapshot, new_snapshots)
    insert_rows(BalanceSnapshot, plan.snapshots)
    insert_rows(LimitationEvent, new_events)
    update_rows(LimitationEvent, ["withdrawn_at", "withdrawn_note"], plan.events_withdrawn)
    update_rows(LimitationEvent, ["effect"], plan.event_effects)
    insert_rows(LimitationEvent, plan.events)
    if staging is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {_walk_table(staging)}")
            cursor.execute(f"DROP TABLE {staging}")


# ---------------------------------------------------------------- new cases, set-based
# New cases are the bulk of an import. Their rows go to the server once, by
# COPY into a temporary staging table (one short row per case); the cases, their
# balance snapshots and their limitation events are then made from it by one
# INSERT ... SELECT each, so each table's statement-level history trigger fires
# once and Python formats one row per case instead of four.


@dataclass
class Staged:
    """Rows for insert_rows to take from the staging table ``s``: {field name: (SQL expression, its parameters)}."""

    table: str
    expressions: dict
    joined: tuple = ("", ())  # (more of the FROM clause, its parameters)
    where: str = ""
    order: str = "s.ord"


def _stage_new_cases(cases_new: list):
    if not cases_new:
        return None
    quote = connection.ops.quote_name
    names = [quote(name) for name in STAGED]
    types = [Case._meta.get_field(name).db_type(connection) for name in STAGED]
    temp = quote(f"_intake_new_cases_{next(_temp_names)}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} (ord serial, case_id uuid NOT NULL, due_id uuid NOT NULL, payment_id uuid NOT NULL, "
            f"debtor_id uuid NOT NULL, evidence text NOT NULL, due_on date NOT NULL, "
            f"{', '.join(f'{name} {kind}' for name, kind in zip(names, types, strict=True))}) ON COMMIT DROP"
        )
        _copy(cursor, temp, ["case_id", "due_id", "payment_id", "debtor_id", "evidence", "due_on", *names], cases_new)
    return temp


def _walk_table(staging: str) -> str:
    """The temporary table of the staged events' walk (limitation.walk_sql)."""
    return connection.ops.quote_name(staging.strip('"') + "_walk")


def _from_staging(staging, *, mapped, source: str, today: datetime.date, now):
    """What insert_rows writes for the staged new cases: (cases, balance snapshots, limitation events); empty lists without any."""
    if staging is None:
        return [], [], []
    quote = connection.ops.quote_name

    def column(name):
        return (f"s.{quote(name)}", ())

    # limitation_events(): the debt fell due on due_on (limitation.period_start, computed per row in Python); a payment on
    # or after overdue_since is partial performance. Whether each counts, and the date: the walk's SQL twin
    # (limitation.walk_sql), run once into a temporary table that the cases and the events are both made from.
    row_events = (
        f"SELECT s.case_id, event.kind, event.day FROM {staging} AS s "
        "CROSS JOIN LATERAL (VALUES (1, %s, s.due_on), (2, %s, s.last_payment_on)) AS event (n, kind, day) "
        "WHERE event.n = 1 OR s.last_payment_on >= s.overdue_since"
    )
    walked, walk_params = limitation.walk_sql(row_events)
    walk_table = _walk_table(staging)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {walk_table} ON COMMIT DROP AS {walked}", [DUE, PARTIAL_PAYMENT, *walk_params])
        cursor.execute(f"CREATE INDEX ON {walk_table} (key, kind, occurred_on)")
        cursor.execute(f"ANALYZE {walk_table}")
    summary = (
        f"LEFT JOIN (SELECT key, max(expiry) FILTER (WHERE last) AS expiry, bool_or(effect = %s) AS review "
        f"FROM {walk_table} GROUP BY key) AS lim ON lim.key = s.case_id",
        (limitation.REVIEW,),
    )
    cases = Staged(
        staging,
        {
            "id": ("s.case_id", ()),
            "debtor_id": ("s.debtor_id", ()),
            "contract_no": column("contract_no"),
            **{name: column(name) for name in CASE_FIELDS if name in mapped},
            "limitation_expires_on": ("lim.expiry", ()),
            "limitation_review": ("coalesce(lim.review, false)", ()),
            "created_at": ("%s", (now,)),
            "updated_at": ("%s", (now,)),
        },
        joined=summary,
    )
    snapshots = Staged(
        staging,
        {
            "case_id": ("s.case_id", ()),
            "as_of": ("%s", (today,)),
            "source": ("%s", (source,)),
            "recorded_at": ("%s", (now,)),
            **{name: column(name) for name in BALANCE_FIELDS},
        },
    )
    events = Staged(
        staging,
        {
            "id": ("event.id", ()),
            "case_id": ("s.case_id", ()),
            "kind": ("event.kind", ()),
            "occurred_on": ("event.day", ()),
            "evidence": ("s.evidence", ()),
            "source_type": ("%s", (EVENT_SOURCE,)),
            "source_id": ("%s", ("",)),
            "effect": ("walked.effect", ()),
            "created_at": ("%s", (now,)),
        },
        joined=(
            "CROSS JOIN LATERAL (VALUES (1, %s, s.due_on, s.due_id), (2, %s, s.last_payment_on, s.payment_id)) "
            f"AS event (n, kind, day, id) JOIN {walk_table} AS walked "
            "ON walked.key = s.case_id AND walked.kind = event.kind AND walked.occurred_on = event.day",
            (DUE, PARTIAL_PAYMENT),
        ),
        where="event.n = 1 OR s.last_payment_on >= s.overdue_since",
        order="s.ord, event.n",
    )
    return cases, snapshots, events


def _defaults_for(model, given: list):
    """The model's fields a row does not name, that need a value: (one default for all rows, a default per row)."""
    shared, per_row = [], []
    for model_field in model._meta.concrete_fields:
        if model_field.attname in given or model_field.name in given:
            continue
        if isinstance(model_field, models.AutoField | models.BigAutoField | models.SmallAutoField):
            continue
        if model_field.db_default is not models.NOT_PROVIDED:
            continue
        if callable(model_field.default) and (model_field.primary_key or model_field.unique):
            per_row.append(model_field)
        else:
            shared.append(model_field)
    return shared, per_row


def _insert_staged(model, staged: Staged):
    """INSERT ... SELECT from the staging table; the model's other fields get their defaults, as for a COPY."""
    quote = connection.ops.quote_name
    targets, values, params = [], [], []
    for name, (expression, expression_params) in staged.expressions.items():
        model_field = model._meta.get_field(name)
        targets.append(quote(model_field.column))
        values.append(f"CAST({expression} AS {model_field.cast_db_type(connection)})" if expression_params else expression)
        params.extend(expression_params)
    shared, per_row = _defaults_for(model, list(staged.expressions))
    for model_field in shared:
        targets.append(quote(model_field.column))
        values.append(f"CAST(%s AS {model_field.cast_db_type(connection)})")
        params.append(_as_copy_text(model_field.get_db_prep_save(model_field.get_default(), connection)))
    for model_field in per_row:  # a value of its own for every row: the server makes random UUIDs, nothing else
        if not (isinstance(model_field, models.UUIDField) and model_field.default is uuid.uuid4):
            raise NotImplementedError(f"{model.__name__}.{model_field.name} has a per-row default the server cannot make")
        targets.append(quote(model_field.column))
        values.append("gen_random_uuid()")
    joined, joined_params = staged.joined
    where = f"WHERE {staged.where}" if staged.where else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(model)} ({', '.join(targets)}) SELECT {', '.join(values)} FROM {staged.table} AS s {joined} "
            f"{where} ORDER BY {staged.order}",
            [*params, *joined_params],
        )


def _copy(cursor, table: str, columns: list, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(model, rows: list):
    """COPY rows (dicts keyed by field name) into the model's table, or INSERT them from the staging table (Staged).

    Fields a row does not name get the model's default: once for the whole
    batch, or once per row for a unique field (a uuid4 primary key); fields
    with a database default or an auto-increment id are left to the
    database. So a field another app adds later needs no change here.
    """
    if not rows:
        return
    if isinstance(rows, Staged):
        return _insert_staged(model, rows)
    given = list(rows[0])
    shared, per_row = _defaults_for(model, given)
    defaults = tuple(_as_copy_text(model_field.get_db_prep_save(model_field.get_default(), connection)) for model_field in shared)
    columns = [model._meta.get_field(name).column for name in given] + [model_field.column for model_field in (*shared, *per_row)]
    if per_row:
        values = (
            tuple(row.values()) + defaults + tuple(field.get_db_prep_save(field.get_default(), connection) for field in per_row)
            for row in rows
        )
    else:
        values = (tuple(row.values()) + defaults for row in rows)
    with connection.cursor() as cursor:
        _copy(cursor, _table(model), [connection.ops.quote_name(column) for column in columns], values)


def _as_copy_text(value):
    """An array or JSON default in its text form, adapted once for the batch instead of once per row."""
    if not isinstance(value, (list, dict)):
        return value
    from psycopg.adapt import PyFormat, Transformer

    dumped = Transformer(connection.connection).get_dumper(value, PyFormat.TEXT).dump(value)
    return bytes(dumped).decode()


def update_rows(model, names: list, rows: list):
    """Set ``names`` on the rows (dicts with "id"), through a temporary table and one UPDATE."""
    if not rows or not names:
        return
    quote = connection.ops.quote_name
    columns = [quote(model._meta.get_field(name).column) for name in names]
    temp = quote(f"_intake_update_{next(_temp_names)}")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT id, {', '.join(columns)} FROM {_table(model)} WITH NO DATA")
        _copy(cursor, temp, ["id", *columns], ((row["id"], *[row[name] for name in names]) for row in rows))
        assignments = ", ".join(f"{column} = source.{column}" for column in columns)
        cursor.execute(f"UPDATE {_table(model)} AS target SET {assignments} FROM {temp} AS source WHERE target.id = source.id")
        cursor.execute(f"DROP TABLE {temp}")
