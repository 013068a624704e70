"""The ledger's sources: each recorded event posts its entry once, inside the transaction that records it.

Payments (portal.payments.hooks): a payment recorded posts Dr cash (amount) / Cr recoveries (the money applied
to the debt) / Cr unapplied (the part paid beyond the whole balance, 溢缴款: received, not recovered —
outsourcing.commissions pays no commission on it either). A reversal (冲正) posts the exact negation of
everything the payment posted (its entry and its corrections' entries, same dimensions), dated the reversal,
so the case's books return to what they were without it; the corrections the reversal made to later payments
(PaymentPostingCorrection, 重新冲抵) post the change in the money those payments applied (Δunapplied moves between
recoveries and unapplied; moves among fees, interest and principal change nothing recovered, and post nothing).

Commission lines and field-visit fees (outsourcing), legal costs and court costs recovered (litigation) post through
``post_commission``, ``post_field_visit``, ``post_legal_cost`` and ``post_costs_recovered``, called by the apps where
they create those rows (the core never imports them).

Every leg of an entry carries the same dimensions: the case, the partner the money is attributed to
(hooks.attribution_for on the payment's date) and its cohort month and matter, and the case's product.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from portal.models import Case
from portal.payments import hooks as payment_hooks
from portal.payments.models import Payment, PaymentPostingCorrection, PaymentReversal

from . import hooks
from .models import Account, EntryKind, LedgerTransaction
from .posting import FEN, Leg, legs_of, post

ZERO = Decimal("0.00")


def _case(case_or_id) -> Case:
    return case_or_id if isinstance(case_or_id, Case) else Case.objects.get(pk=case_or_id)


def _dimensions(case: Case, attribution: hooks.Attribution | None) -> dict:
    if attribution is None:
        return {"case": case}
    return {
        "case": case,
        "counterparty": attribution.counterparty,
        "cohort_month": attribution.cohort_month,
        "matter_id": attribution.matter_id,
    }


# ------------------------------------------------------------------ payments


def post_payment(payment: Payment) -> LedgerTransaction:
    """Dr cash / Cr recoveries (applied) / Cr unapplied, from the split the payment was recorded with (its own
    columns: later corrections post their own entries). Attributed to the partner who had the case that day."""
    case = _case(payment.case)
    dims = _dimensions(case, hooks.attribution_for(case, payment.paid_on))
    applied = payment.amount - payment.unapplied
    return post(
        kind=EntryKind.PAYMENT,
        source=payment,
        occurred_on=payment.paid_on,
        legs=[
            Leg(Account.CASH, payment.amount, **dims),
            Leg(Account.RECOVERIES, -applied, **dims),
            Leg(Account.UNAPPLIED, -payment.unapplied, **dims),
        ],
        memo=payment.reference,
        created_by=payment.recorded_by,
    )


def _payment_entry(payment: Payment) -> LedgerTransaction:
    return LedgerTransaction.objects.filter(
        kind=EntryKind.PAYMENT, source_type="payments.payment", source_id=str(payment.pk)
    ).first() or post_payment(payment)


def post_correction(correction: PaymentPostingCorrection) -> LedgerTransaction | None:
    """The change in the money a payment applied when a reversal re-applied it: Δunapplied taken from recoveries
    into unapplied (or back), with the payment's own dimensions, dated the reversal. None when it applied the same."""
    change = correction.unapplied  # + : less applied (less recovered), more owed back
    if change == 0:
        return None
    payment = correction.payment
    entry = _payment_entry(payment)
    first = legs_of(entry)[0]
    dims = {"case": first.case, "counterparty": first.counterparty, "cohort_month": first.cohort_month, "matter_id": first.matter_id}
    return post(
        kind=EntryKind.PAYMENT_CORRECTION,
        source=correction,
        occurred_on=correction.reversal.reversed_on,
        legs=[
            Leg(Account.RECOVERIES, change, product=first.product, **dims),
            Leg(Account.UNAPPLIED, -change, product=first.product, **dims),
        ],
        memo=payment.reference,
    )


def post_reversal(reversal: PaymentReversal) -> LedgerTransaction:
    """The negation of everything the reversed payment posted (its entry and its corrections'), leg by leg with
    the same dimensions, dated the reversal; then the corrections this reversal made to later payments."""
    payment = reversal.payment
    entry = _payment_entry(payment)
    found = LedgerTransaction.objects.filter(
        kind=EntryKind.PAYMENT_REVERSAL, source_type="payments.paymentreversal", source_id=str(reversal.pk)
    ).first()
    if found is None:
        for earlier in payment.corrections.select_related("reversal", "payment"):
            post_correction(earlier)
        legs = legs_of(entry)
        corrections = LedgerTransaction.objects.filter(
            kind=EntryKind.PAYMENT_CORRECTION,
            source_type="payments.paymentpostingcorrection",
            source_id__in=[str(pk) for pk in payment.corrections.values_list("pk", flat=True)],
        )
        for txn in corrections:
            legs.extend(legs_of(txn))
        found = post(
            kind=EntryKind.PAYMENT_REVERSAL,
            source=reversal,
            occurred_on=reversal.reversed_on,
            legs=[leg.negated() for leg in _net(legs)],
            memo=payment.reference,
            created_by=reversal.reversed_by,
            reverses=entry,
        )
    for later in reversal.corrections.select_related("reversal", "payment"):
        post_correction(later)
    return found


def _net(legs: list[Leg]) -> list[Leg]:
    """Legs summed per (account, dimensions), zeros dropped, in first-seen order."""
    totals: dict = {}
    for leg in legs:
        key = (str(leg.account), leg.case, getattr(leg.counterparty, "pk", leg.counterparty), leg.matter_id, leg.product, leg.cohort_month)
        if key in totals:
            totals[key] = (totals[key][0], totals[key][1] + leg.amount)
        else:
            totals[key] = (leg, leg.amount)
    return [
        Leg(
            leg.account,
            amount,
            case=leg.case,
            counterparty=leg.counterparty,
            matter_id=leg.matter_id,
            product=leg.product,
            cohort_month=leg.cohort_month,
        )
        for leg, amount in totals.values()
        if amount != 0
    ]


def _on_payment(*, payment, now):
    post_payment(payment)


def _on_reversal(*, reversal, now):
    post_reversal(reversal)


# ------------------------------------------------------------------ commission lines (outsourcing)


def post_commission(
    line, *, case, agency, commission: Decimal, occurred_on: datetime.date, cohort_month: datetime.date | None, matter_id=None
) -> LedgerTransaction | None:
    """A commission line (earned, clawback or adjustment — its sign says which): Dr agency_commission /
    Cr partner_payable (the agency). A clawback's negative commission posts the opposite. A zero line (rate 0)
    posts nothing."""
    if commission == 0:
        return None
    dims = {"case": _case(case), "counterparty": agency, "cohort_month": cohort_month, "matter_id": matter_id}
    return post(
        kind=EntryKind.COMMISSION,
        source=line,
        occurred_on=occurred_on,
        legs=[Leg(Account.AGENCY_COMMISSION, commission, **dims), Leg(Account.PARTNER_PAYABLE, -commission, **dims)],
    )


# ------------------------------------------------------------------ legal costs (litigation)

# litigation.CostKind → the account it is booked to. Court acceptance and enforcement fees are both 诉讼费用 the
# court collects (诉讼费用交纳办法 arts. 6, 14); preservation (art. 14(2)) and service/publication costs apart.
LEGAL_COST_ACCOUNTS = {
    "court_fee": Account.COURT_FEES,
    "enforcement_fee": Account.COURT_FEES,
    "preservation_fee": Account.PRESERVATION_FEES,
    "service_cost": Account.SERVICE_COSTS,
    "lawyer_fee": Account.OTHER_LEGAL_COSTS,
    "other": Account.OTHER_LEGAL_COSTS,
}


def split_evenly(amount: Decimal, parts: int) -> list[Decimal]:
    """``amount`` in ``parts`` shares to the fen that sum exactly to it: equal shares rounded down, the fen left
    over given one each to the first shares (so no fen is created or lost)."""
    if parts < 1:
        raise ValueError("at least one share")
    sign = -1 if amount < 0 else 1
    fen = int((abs(amount) / FEN).to_integral_value())
    base, extra = divmod(fen, parts)
    return [sign * Decimal(base + (1 if i < extra else 0)) * FEN for i in range(parts)]


def _matter_entry(
    source, *, kind, debit, credit, amount: Decimal, occurred_on, cases: list, firm, matter_id, cohort_month, created_by
) -> LedgerTransaction:
    """Dr ``debit`` / Cr ``credit`` for money of a matter, shared among its cases evenly to the fen (split_evenly), so
    per-case figures add up to the matter's; the counterparty is the matter's firm. A negative amount (a correction)
    posts the opposite."""
    cases = sorted((_case(case) for case in cases), key=lambda case: str(case.pk)) or [None]
    legs = []
    for case, share in zip(cases, split_evenly(amount, len(cases)), strict=True):
        dims = {"case": case, "counterparty": firm, "cohort_month": cohort_month, "matter_id": matter_id}
        legs += [Leg(debit, share, **dims), Leg(credit, -share, **dims)]
    return post(kind=kind, source=source, occurred_on=occurred_on, legs=legs, created_by=created_by)


def post_legal_cost(
    cost,
    *,
    kind: str,
    amount: Decimal,
    occurred_on: datetime.date,
    cases: list,
    firm=None,
    paid_by_firm: bool = False,
    matter_id=None,
    cohort_month: datetime.date | None = None,
    created_by=None,
) -> LedgerTransaction:
    """A legal cost of a matter: Dr the cost's account / Cr cash (the lender advanced it) or Cr partner_payable
    (the firm advanced it, and is owed it)."""
    return _matter_entry(
        cost,
        kind=EntryKind.LEGAL_COST,
        debit=LEGAL_COST_ACCOUNTS[kind],
        credit=Account.PARTNER_PAYABLE if paid_by_firm else Account.CASH,
        amount=amount,
        occurred_on=occurred_on,
        cases=cases,
        firm=firm,
        matter_id=matter_id,
        cohort_month=cohort_month,
        created_by=created_by,
    )


def post_costs_recovered(
    recovery,
    *,
    amount: Decimal,
    occurred_on: datetime.date,
    cases: list,
    firm=None,
    received_by_firm: bool = False,
    matter_id=None,
    cohort_month: datetime.date | None = None,
    created_by=None,
) -> LedgerTransaction:
    """Court costs got back from the debtor under a decision (诉讼费用交纳办法 art. 29): Dr cash (the lender received
    them) or Dr partner_payable (the firm did, and owes them on) / Cr court_costs_recovered, which reduces the matter's
    cost of collection."""
    return _matter_entry(
        recovery,
        kind=EntryKind.COSTS_RECOVERED,
        debit=Account.PARTNER_PAYABLE if received_by_firm else Account.CASH,
        credit=Account.COURT_COSTS_RECOVERED,
        amount=amount,
        occurred_on=occurred_on,
        cases=cases,
        firm=firm,
        matter_id=matter_id,
        cohort_month=cohort_month,
        created_by=created_by,
    )


# ------------------------------------------------------------------ registration


def _payments():
    return Payment.objects.select_related("case", "recorded_by").order_by("pk")


def _corrections():
    return PaymentPostingCorrection.objects.select_related("payment", "reversal").order_by("pk")


def _reversals():
    return PaymentReversal.objects.select_related("payment", "reversed_by").order_by("pk")


def register():
    payment_hooks.on_payment_recorded(_on_payment)
    payment_hooks.on_payment_reversed(_on_reversal)
    # The backfill's order: payments, then corrections, then reversals (each also posts what it needs first).
    hooks.register_source("payments.payment", _payments, post_payment)
    hooks.register_source("payments.paymentpostingcorrection", _corrections, post_correction)
    hooks.register_source("payments.paymentreversal", _reversals, post_reversal)


# ------------------------------------------------------------------ backfill


def backfill(*, batch_size: int = 500, log=None) -> dict[str, int]:
    """Post every registered source row not posted yet, in the current schema: payments, corrections, reversals,
    then the apps' rows (commission lines, legal costs), each walked by primary key in batches of ``batch_size``,
    one database transaction per batch. Idempotent (posting is): run it again and it posts nothing. Returns the
    number of rows posted per source."""
    from django.db import transaction

    posted: dict[str, int] = {}
    for name, (rows, post_row) in hooks.SOURCES.items():
        posted[name] = 0
        last = None
        while True:
            batch_rows = rows()
            if last is not None:
                batch_rows = batch_rows.filter(pk__gt=last)
            batch = list(batch_rows[:batch_size])
            if not batch:
                break
            last = batch[-1].pk
            done = set(
                LedgerTransaction.objects.filter(source_type=name, source_id__in=[str(row.pk) for row in batch]).values_list(
                    "source_id", flat=True
                )
            )
            with transaction.atomic():
                for row in batch:
                    if str(row.pk) not in done and post_row(row) is not None:
                        posted[name] += 1
            if log is not None:
                log(f"{name}: {posted[name]} posted (up to {last})")
    return posted
