"""The kinds of statement (结算单类型), registered by the apps that own the lines.

The core settles statements; the apps compute the lines (outsourcing: commission lines; litigation: law-firm fee
lines). Each app registers a ``StatementKind`` at start-up (``AppConfig.ready``), as with
``portal/payments/hooks.py``, so that ``portal.fees`` never imports an app. A line stays in its app's table with a
``statement`` foreign key to ``fees.Statement``.

What a kind provides (every callable runs in the tenant schema, inside the caller's transaction):

- ``lines(statement)`` → a QuerySet of the app's lines on the statement;
- ``attach(statement)`` → takes the partner's lines not on any statement, dated up to ``statement.period_end``;
- ``totals(statement)`` → ``(count, base_total, amount_total)`` summed in the database over ``lines(statement)``;
- ``rows(statement)`` → the ``Row``s the screen and the PDF show, in their order;
- ``release(statement, line_ids)`` → takes those lines off the statement (back to the pool for a later one);
- ``extra_blockers(statement)`` (optional) → reasons approval must wait (e.g. open payment disputes);
- ``ledger_legs(statement)`` (optional) → override the settlement legs (default: one pair per statement).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Row:
    """One line as the statement shows it (screen, PDF): the base the fee is computed on, the rate, the amount."""

    line_id: Any  # the app's line primary key (UUID): what a dispute points to
    date: datetime.date
    case_ref: str  # contract no. (合同编号) or matter no.
    description: str  # payment reference, stage, "fixed fee"…
    base: Decimal  # recovered (or the fee's base); may be negative (clawback)
    rate: Decimal | None  # a fraction (0.1500) or None (a fixed amount)
    amount: Decimal  # commission or fee, already rounded to the fen
    case_id: Any = None
    note: str = ""  # "clawback", "adjustment"… (translated by the kind)


@dataclass(frozen=True)
class StatementKind:
    code: str  # fees.models.StatementKindCode value
    label: Any  # translatable, e.g. gettext_lazy("Commission statement")
    number_prefix: str  # "CS" commission, "LF" legal fee, "FV" field visits: e.g. CS202611-34C17F13 (services.statement_number)
    partner_kind: str  # tenants.OrganisationKind value of the partners it settles with
    lines: Callable
    attach: Callable
    totals: Callable
    rows: Callable
    release: Callable
    extra_blockers: Callable | None = None
    ledger_legs: Callable | None = None
    base_label: Any = None  # column heading of ``Row.base`` (default "Recovered")
    amount_label: Any = None  # column heading of ``Row.amount`` (default "Amount")
    # The document's wording in the kind's own terms (lazy translations), overriding portal.fees.documents.LABELS:
    # "case_ref", "description", "period_end", "base_total", "amount_total", "base_column", "amount_column",
    # "partner_confirms", "note". E.g. commission: "Contract no.", "Payment reference", "Payments up to"….
    labels: dict = field(default_factory=dict)

    def blockers(self, statement) -> list[str]:
        return list(self.extra_blockers(statement)) if self.extra_blockers else []


KINDS: dict[str, StatementKind] = {}


def register(kind: StatementKind) -> StatementKind:
    """Register (or re-register, idempotently at start-up) a kind by its code."""
    KINDS[kind.code] = kind
    return kind


def get(code: str) -> StatementKind:
    try:
        return KINDS[code]
    except KeyError:
        raise LookupError(f"no statement kind {code!r} is registered (is its app installed?)") from None


def for_partner_kind(partner_kind: str) -> list[StatementKind]:
    return [kind for kind in KINDS.values() if kind.partner_kind == partner_kind]


def registered() -> list[StatementKind]:
    return list(KINDS.values())
