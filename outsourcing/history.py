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
* statement-level tracking (``pghistory.track(level=pghistory.Statement)``) for
  the models written in bulk (portal's Debtor, Contact, Case; Placement): the
  trigger runs once per statement and writes every row's history from the
  transition table. ``write_with_history(...)`` runs such a statement and fails
  loudly if the model is tracked row by row again.
"""

from __future__ import annotations

import contextlib
import json

import pghistory
import pghistory.config
import pgtrigger
from django.core.exceptions import ImproperlyConfigured
from django.db import connection


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


def write_with_history(model, *, statement: str, params: list, trigger: str) -> int:
    """Run ``statement`` (an INSERT or UPDATE on ``model``'s table, inside bulk_history) and return the rows written.

    Its history is written by the model's statement-level tracker ``trigger``, once, from the statement's
    transition table. The trigger is named so that a change in how the model is tracked fails loudly: a
    row-level tracker would cost a subtransaction per row (see above) and is refused.
    """
    [(_tracked, history_trigger)] = pgtrigger.registered(f"{model._meta.app_label}.{model._meta.object_name}:{trigger}")
    if history_trigger.level != pgtrigger.Statement:
        raise ImproperlyConfigured(f"{model.__name__}:{trigger} must be a statement-level history trigger for bulk writes")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount
