"""A test purpose ("probe") whose handler records each outcome it is told, with the schema it ran in.

Imported by the billing tests and loaded into the real worker with ``celery -I tests.billing.probes``.
In-process calls are kept in CALLS; a worker (another process) appends them to the file named by
BILLING_PROBE_FILE, one line per call: "<charge id> <outcome> <schema>".
"""

import os
import threading
from decimal import Decimal

from django.db import connection

from billing import hooks

PURPOSE = "probe"
CALLS: list[tuple[str, str, str]] = []
PAYEES: dict[str, list] = {}  # charge reference -> [(organisation, amount)]
_lock = threading.Lock()


def probe_handler(charge, *, outcome, now):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    with _lock:
        CALLS.append((str(charge.pk), outcome, schema))
        path = os.environ.get("BILLING_PROBE_FILE")
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"{charge.pk} {outcome} {schema}\n")


def probe_payees(charge):
    return [(org, Decimal(amount)) for org, amount in PAYEES.get(charge.reference, [])]


def calls_for(charge) -> list[tuple[str, str]]:
    return [(outcome, schema) for charge_id, outcome, schema in CALLS if charge_id == str(charge.pk)]


hooks.register_charge_handler(PURPOSE, probe_handler)
hooks.register_payout(PURPOSE, probe_payees)
