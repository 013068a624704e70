"""Posting to the fee ledger: the one way anything writes a LedgerTransaction and its legs.

``post`` writes one balanced transaction for one source (a payment, a commission line, a legal cost, a
statement paid), once: the (kind, source) pair is unique in the database, so a retried or concurrent
posting of the same source returns the first transaction and writes nothing. ``reverse`` writes the
reversing entry of a transaction (every leg negated, same dimensions, dated the day of the reversal): the
ledger is corrected by new entries, never by edits (reliability-and-security.md §4).

Both run inside the caller's transaction, so an entry exists if and only if its source does; the database
checks at COMMIT that every transaction has two or more legs summing to zero (models.py, deferred trigger).
Amounts are Decimals already rounded to the fen by the rule that produced them (ROUND_HALF_UP there); a
leg with more decimals is refused here rather than rounded silently, and a zero leg is dropped.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import IntegrityError, transaction

from .models import Account, CounterpartyKind, EntryKind, LedgerLeg, LedgerTransaction

FEN = Decimal("0.01")


@dataclass(frozen=True)
class Leg:
    """One side of an entry: ``amount`` signed (debit +, credit −), with its dimensions. ``product`` defaults to
    the case's product and the counterparty's kind is the organisation's kind (agency or law firm)."""

    account: Account | str
    amount: Decimal
    case: object = None
    counterparty: object = None
    matter_id: object = None
    product: str | None = None
    cohort_month: datetime.date | None = None

    def __post_init__(self):
        if self.account not in Account.values:
            raise ValueError(f"unknown ledger account {self.account!r}")
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"ledger amounts are Decimal, not {type(self.amount).__name__}")
        if self.amount != self.amount.quantize(FEN):
            raise ValueError(f"ledger amount {self.amount} is not rounded to the fen")

    def negated(self) -> Leg:
        return replace(self, amount=-self.amount)


def source_key(source) -> tuple[str, str]:
    """A model instance → ("<app_label>.<model_name>", str(pk)); a (source_type, source_id) pair as given."""
    if isinstance(source, tuple):
        source_type, source_id = source
        return str(source_type), str(source_id)
    meta = source._meta
    return f"{meta.app_label}.{meta.model_name}", str(source.pk)


def first_of_month(day: datetime.date | None) -> datetime.date | None:
    return day.replace(day=1) if day is not None else None


def _counterparty_kind(organisation) -> str:
    kind = getattr(organisation, "kind", "") if organisation is not None else ""
    return kind if kind in (CounterpartyKind.AGENCY, CounterpartyKind.LAW_FIRM) else CounterpartyKind.NONE


def _leg_row(txn: LedgerTransaction, leg: Leg, month: datetime.date) -> LedgerLeg:
    case = leg.case
    product = leg.product if leg.product is not None else (getattr(case, "product", "") or "")
    return LedgerLeg(
        transaction=txn,
        account=str(leg.account),
        amount=leg.amount,
        case_id=getattr(case, "pk", case),
        counterparty_id=getattr(leg.counterparty, "pk", leg.counterparty),
        counterparty_kind=_counterparty_kind(leg.counterparty),
        matter_id=getattr(leg.matter_id, "pk", leg.matter_id),
        product=product[:100],
        cohort_month=first_of_month(leg.cohort_month),
        month=month,
    )


def existing(*, kind, source) -> LedgerTransaction | None:
    source_type, source_id = source_key(source)
    return LedgerTransaction.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()


def post(
    *,
    kind: EntryKind | str,
    source,
    occurred_on: datetime.date,
    legs: Sequence[Leg],
    memo: str = "",
    created_by=None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Post one balanced entry for ``source``, once. Returns the transaction (the earlier one if already posted).

    Must run inside the caller's transaction (the one recording the source). Zero legs are dropped; the rest
    must sum to zero and be at least two — checked here for a clear error, and by the database at COMMIT."""
    if kind not in EntryKind.values:
        raise ValueError(f"unknown ledger entry kind {kind!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.post must run inside the transaction that records its source")
    source_type, source_id = source_key(source)
    found = LedgerTransaction.objects.filter(kind=kind, source_type=source_type, source_id=source_id).first()
    if found is not None:
        return found
    legs = [leg for leg in legs if leg.amount != 0]
    total = sum((leg.amount for leg in legs), Decimal(0))
    if len(legs) < 2 or total != 0:
        raise ValueError(f"unbalanced ledger entry for {source_type}:{source_id}: {len(legs)} legs summing to {total}")
    txn = LedgerTransaction(
        kind=kind,
        source_type=source_type,
        source_id=source_id,
        occurred_on=occurred_on,
        memo=str(memo)[:200],
        reverses=reverses,
        created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
    )
    try:
        # A savepoint: a concurrent posting of the same source that committed first makes this insert fail on
        # ledger_posted_once; the caller's transaction goes on with the first posting.
        with transaction.atomic():
            txn.save(force_insert=True)
    except IntegrityError as error:
        if "ledger_posted_once" in str(error):
            return LedgerTransaction.objects.get(kind=kind, source_type=source_type, source_id=source_id)
        if reverses is not None and "reverses_id" in str(error):  # the original was reversed meanwhile, from another source
            return LedgerTransaction.objects.get(reverses=reverses)
        raise
    month = first_of_month(occurred_on)
    LedgerLeg.objects.bulk_create([_leg_row(txn, leg, month) for leg in legs])  # one INSERT: one totals upsert
    return txn


def legs_of(txn: LedgerTransaction) -> list[Leg]:
    """The transaction's legs as ``Leg`` values (dimensions kept), to negate or copy."""
    return [
        Leg(
            account=row.account,
            amount=row.amount,
            case=row.case_id,
            counterparty=_Org(row.counterparty_id, row.counterparty_kind) if row.counterparty_id else None,
            matter_id=row.matter_id,
            product=row.product,
            cohort_month=row.cohort_month,
        )
        for row in txn.legs.order_by("id")
    ]


@dataclass(frozen=True)
class _Org:
    """An organisation known by key and kind only (copied from a leg; saves fetching it)."""

    pk: object
    kind: str


def reverse(
    *,
    original: LedgerTransaction,
    source,
    occurred_on: datetime.date,
    memo: str = "",
    created_by=None,
    kind: EntryKind | str = EntryKind.REVERSAL,
) -> LedgerTransaction:
    """The reversing entry (冲销) of ``original``: every leg negated, same dimensions, dated ``occurred_on``;
    ``reverses`` points to the original. Idempotent per original (a second call returns the first reversal)."""
    found = LedgerTransaction.objects.filter(reverses=original).first()
    if found is not None:
        return found
    return post(
        kind=kind,
        source=source,
        occurred_on=occurred_on,
        legs=[leg.negated() for leg in legs_of(original)],
        memo=memo,
        created_by=created_by,
        reverses=original,
    )
