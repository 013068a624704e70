"""Model history (pghistory) for bulk writes, without the per-row trigger's overhead.

pghistory records every insert and update of a tracked model with an AFTER ROW
trigger. Each call runs two PL/pgSQL blocks with an EXCEPTION clause (pgtrigger's
"ignored?" lookup and pghistory's context lookup), that is two subtransactions a
row, and when the settings they look up are missing, two raised and caught
errors a row. Worse, rolling back a subtransaction makes PostgreSQL walk the
statement's whole queue of pending AFTER-trigger events, so a statement touching
n tracked rows costs O(n²): 100,000 rows took minutes.

Two remedies, both keeping exactly the history pghistory would write:

* ``bulk_history(...)`` — one pghistory context for the whole operation (the
  metadata says what did it) and pgtrigger told that nothing is ignored: both
  lookups then succeed, no error is raised, and the quadratic path is never taken.
  Every multi-row write in outsourcing runs inside it.
* ``write_with_history(...)`` — for the big statements (placing thousands of
  cases): run the INSERT/UPDATE with its row trigger skipped and write the same
  history rows set-based from its ``RETURNING *``, in the same statement. The
  columns come from the event model, so they follow the tracked fields; the
  trigger is named, so a change in how the model is tracked fails loudly.
  A model tracked by statement-level triggers (portal's Debtor, Contact, Case)
  needs none of this: its trigger runs once per statement and writes the same
  rows from the transition table, so the statement simply runs.
"""
from __future__ import annotations

import contextlib
import json

import pghistory
import pghistory.config
import pgtrigger
from django.apps import apps
from django.db import connection

PGH_COLUMNS = {"pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context_id"}


@contextlib.contextmanager
def bulk_history(**metadata):
    """Group the history rows of a bulk operation under one context; yields the context id.

    Must run inside the caller's transaction: the settings are transaction-local.
    """
    with pghistory.context(**metadata) as context:
        with connection.cursor() as cursor:
            # pghistory injects these settings into writes only, and a set-based history write
            # may be the first statement that needs them: set them now and write the context row once.
            cursor.execute(
                "SELECT set_config('pghistory.context_id', %s, true), set_config('pghistory.context_metadata', %s, true), "
                "set_config('pgtrigger.ignore', '{}', true)",  # nothing ignored: the trigger's lookup succeeds
                [str(context.id), json.dumps(context.metadata, cls=pghistory.config.json_encoder())],
            )
            cursor.execute("SELECT _pgh_attach_context()")
        yield context.id


def _event_model(model):
    return apps.get_model(model._meta.app_label, f"{model._meta.object_name}Event")


def tracked_columns(model) -> list[str]:
    return [field.column for field in _event_model(model)._meta.concrete_fields if field.column not in PGH_COLUMNS]


def write_with_history(model, *, statement: str, params: list, label: str, trigger: str, context_id) -> int:
    """Run ``statement`` (an INSERT or UPDATE on ``model``'s table, without RETURNING) and write
    its rows' history as the trigger ``trigger`` would have, labelled ``label``. Returns the rows written."""
    quote = connection.ops.quote_name
    event = _event_model(model)
    columns = ", ".join(quote(column) for column in tracked_columns(model))
    sql = (
        f"WITH changed AS ({statement} RETURNING *) "
        f"INSERT INTO {quote(event._meta.db_table)} ({columns}, pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id) "
        f"SELECT {columns}, NOW(), %s, {quote(model._meta.pk.column)}, %s FROM changed"
    )
    [(tracked, row_trigger)] = pgtrigger.registered(f"{model._meta.app_label}.{model._meta.object_name}:{trigger}")
    if row_trigger.level == pgtrigger.Statement:
        # A statement-level tracker already writes the history set-based, from the statement's transition
        # table, in the same shape: run the statement alone and let it.
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.rowcount
    # The row trigger skips itself for this statement only (pgtrigger's own ignore() would reset the
    # setting for the rest of the transaction on the way out, bringing back the slow path).
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + row_trigger.get_pgid(tracked) + "}"])
        cursor.execute(sql, [*params, label, context_id])
        written = cursor.rowcount
        # Only on success: after an error the transaction is aborted, and rolling back undoes the setting anyway.
        cursor.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
    return written
