"""Writing a law firm's fee lines (律师费明细), posting each to the fee ledger, and the "legal_fee" statement kind.

The rules are in ``litigation.fees`` (pure); this module applies them to the records, once each:

- **fixed fee**: ``earn_fixed_fee(entry=...)`` when a stage is recorded (litigation.stages.record_stage calls it in
  the stage's transaction, with the matter locked); the first court stage of a firm's matter writes the line, any
  later call finds it (and the database allows one fixed line per matter).
- **success fee**: ``attribute(payment=...)`` on every payment recorded (portal.payments.hooks, inside the payment's
  transaction): the matter of a firm whose engagement covers the payment's date gets ``success_fee_percent`` of the
  money the payment applied. A reversal (``on_reversal``) writes the clawback line of the reversed payment and an
  adjustment line for each later payment whose applied money the re-application changed, like commission lines
  (outsourcing.commissions).
- **ledger**: each line is posted when it is written, in the same transaction (portal.ledger.posting.post, one
  entry per line, idempotent): Dr legal_fee_fixed | legal_fee_success / Cr partner_payable (counterparty: the firm),
  with the matter, the loan and the escalation month as cohort. A clawback's negative amount posts the opposite
  entry (Dr partner_payable / Cr legal_fee_success); a zero line (an adjustment that moved no fee) posts nothing.

Which firm: the matter's firm when the line is written (the matter's fee terms were copied from that firm's
agreement and are replaced with the firm on a reassignment, litigation.escalation.reassign). A payment recorded late
for a date before a reassignment therefore earns the firm holding the matter when it is recorded.

The statement kind (portal.fees.kinds) lets the core draft, list, total and release a firm's lines, prefix "LF".
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.fees import kinds
from portal.fees.models import StatementKindCode
from portal.ledger import hooks as ledger_hooks
from portal.ledger.models import Account, EntryKind
from portal.ledger.posting import Leg, post
from portal.payments import hooks
from portal.payments.models import effective_split
from tenants.models import OrganisationKind

from . import fees
from .models import FeeLineKind, LegalFeeLine, Matter, Stage, StageEntry

ZERO = fees.ZERO


# ----------------------------------------------------------------- the engagement


def closed_on(matter: Matter) -> datetime.date | None:
    """The day the matter closed (its closing entry's date; the closing moment's local date otherwise), or None."""
    if matter.stage != Stage.CLOSED and matter.closed_at is None:
        return None
    entry = matter.entries.filter(stage=Stage.CLOSED).order_by("-entered_on", "-id").values_list("entered_on", flat=True).first()
    if entry is not None:
        return entry
    return timezone.localdate(matter.closed_at) if matter.closed_at else None


def matter_for_payment(case_id, paid_on: datetime.date) -> Matter | None:
    """The firm's matter whose engagement covers a payment on that loan on that date (fees.within_engagement), or
    None (in-house matters earn no fee). The latest escalation wins a day shared by a closing and a new escalation."""
    candidates = Matter.objects.filter(loans__case_id=case_id, firm__isnull=False).select_related("firm").order_by("-escalated_at", "-id")
    for matter in candidates:
        if fees.within_engagement(paid_on, escalated_on=timezone.localdate(matter.escalated_at), closed_on=closed_on(matter)):
            return matter
    return None


def cohort_month(matter: Matter) -> datetime.date:
    """The month the matter was escalated: the cohort its money belongs to in the ledger."""
    return timezone.localdate(matter.escalated_at).replace(day=1)


# ----------------------------------------------------------------- ledger


def post_line(line: LegalFeeLine):
    """The line's ledger entry (once: ledger.post is idempotent per source). None for a zero line."""
    if line.amount == 0:
        return None
    matter = line.matter
    account = Account.LEGAL_FEE_FIXED if line.kind == FeeLineKind.FIXED else Account.LEGAL_FEE_SUCCESS
    product = None
    if line.case_id is None:
        # A fee for a matter of several loans: no one loan, but the product when they share one.
        products = set(matter.loans.values_list("case__product", flat=True))
        product = products.pop() if len(products) == 1 else ""
    dims = {
        "case": line.case,
        "counterparty": line.firm,
        "matter_id": matter.pk,
        "product": product,
        "cohort_month": cohort_month(matter),
    }
    memo = matter.number if line.payment_id is None else f"{matter.number} {line.payment.reference}"
    return post(
        kind=EntryKind.LEGAL_FEE,
        source=line,
        occurred_on=line.earned_on,
        legs=[Leg(account, line.amount, **dims), Leg(Account.PARTNER_PAYABLE, -line.amount, **dims)],
        memo=memo,
    )


def _create(**values) -> LegalFeeLine:
    """Write a line and post it, in one savepoint: both or neither."""
    with transaction.atomic():
        line = LegalFeeLine.objects.create(**values)
        post_line(line)
    return line


# ----------------------------------------------------------------- fixed fee


def earn_fixed_fee(*, entry: StageEntry, now: datetime.datetime | None = None) -> LegalFeeLine | None:
    """The matter's fixed-fee line if ``entry`` is its first court stage (fees.FIXED_FEE_STAGES); the line already
    written if the matter earned it before; None for another stage, an in-house matter or an agreement without one."""
    matter = entry.matter
    existing = LegalFeeLine.objects.filter(matter=matter, kind=FeeLineKind.FIXED).first()
    if existing is not None or not fees.earns_fixed_fee(entry.stage) or matter.firm_id is None:
        return existing
    fee = fees.fixed_fee(matter.fixed_fee)
    if fee is None:
        return None
    case_ids = list(matter.loans.values_list("case_id", flat=True))
    try:
        return _create(
            matter=matter,
            firm_id=matter.firm_id,
            case_id=case_ids[0] if len(case_ids) == 1 else None,
            kind=FeeLineKind.FIXED,
            earned_on=entry.entered_on,
            base=fee,
            rate=None,
            amount=fee,
            stage_entry=entry,
            created_at=now or timezone.now(),
        )
    except IntegrityError as error:  # written by a concurrent call: one fixed line per matter
        if "legal_fee_one_fixed_per_matter" not in str(error):
            raise
        return LegalFeeLine.objects.get(matter=matter, kind=FeeLineKind.FIXED)


def on_stage_recorded(*, entry: StageEntry, now: datetime.datetime | None = None) -> None:
    earn_fixed_fee(entry=entry, now=now)


# ----------------------------------------------------------------- success fee


def _earned(payment_id) -> LegalFeeLine | None:
    return LegalFeeLine.objects.filter(
        kind=FeeLineKind.SUCCESS, payment_id=payment_id, reversal__isnull=True, correction__isnull=True
    ).first()


def attribute(*, payment, now: datetime.datetime | None = None) -> LegalFeeLine | None:
    """The success-fee line of a payment (once): ``success_fee_percent`` of the money it applied, for the firm whose
    matter covers its date. None when no firm's matter does, the agreement has no success fee, or it applied nothing."""
    existing = _earned(payment.pk)
    if existing is not None:
        return existing
    applied = effective_split(payment).applied
    if applied <= 0:
        return None
    matter = matter_for_payment(payment.case_id, payment.paid_on)
    if matter is None or matter.success_fee_percent <= 0:
        return None
    return _create(
        matter=matter,
        firm_id=matter.firm_id,
        case_id=payment.case_id,
        kind=FeeLineKind.SUCCESS,
        earned_on=payment.paid_on,
        base=applied,
        rate=matter.success_fee_percent,
        amount=fees.success_fee(applied, matter.success_fee_percent),
        payment=payment,
        created_at=now or timezone.now(),
    )


def claw_back(*, reversal, now: datetime.datetime | None = None) -> LegalFeeLine | None:
    """The clawback line of a reversed payment (once): its lines so far (earned and adjustments) negated, dated the
    reversal. None when the payment earned no fee."""
    existing = LegalFeeLine.objects.filter(reversal=reversal).first()
    if existing is not None:
        return existing
    lines = LegalFeeLine.objects.filter(kind=FeeLineKind.SUCCESS, payment_id=reversal.payment_id, reversal__isnull=True)
    first = _earned(reversal.payment_id) or lines.order_by("created_at", "id").first()
    if first is None:
        return None
    totals = lines.aggregate(base=Sum("base"), amount=Sum("amount"))
    if not totals["base"]:
        return None
    base, amount = fees.clawback(totals["base"], totals["amount"])
    return _create(
        matter_id=first.matter_id,
        firm_id=first.firm_id,
        case_id=first.case_id,
        kind=FeeLineKind.SUCCESS,
        earned_on=reversal.reversed_on,
        base=base,
        rate=first.rate,
        amount=amount,
        payment_id=first.payment_id,
        reversal=reversal,
        created_at=now or timezone.now(),
    )


def adjust(*, correction, now: datetime.datetime | None = None) -> LegalFeeLine | None:
    """The adjustment line of a later payment whose applied money a reversal changed (once per correction), dated
    the reversal: the base moves by the change and the fee to the fee on the new applied money (fees.adjustment).
    None when the applied money did not change, or no firm's matter covers the payment."""
    existing = LegalFeeLine.objects.filter(correction=correction).first()
    if existing is not None:
        return existing
    change = -correction.unapplied
    if change == 0:
        return None
    payment = correction.payment
    lines = LegalFeeLine.objects.filter(kind=FeeLineKind.SUCCESS, payment=payment, reversal__isnull=True)
    first = _earned(payment.pk) or lines.order_by("created_at", "id").first()
    if first is not None:
        matter_id, firm_id, rate = first.matter_id, first.firm_id, first.rate
    else:
        matter = matter_for_payment(payment.case_id, payment.paid_on)
        if matter is None or matter.success_fee_percent <= 0:
            return None
        matter_id, firm_id, rate = matter.pk, matter.firm_id, matter.success_fee_percent
    before = lines.aggregate(base=Sum("base"))["base"] or ZERO
    base, amount = fees.adjustment(before, change, rate)
    return _create(
        matter_id=matter_id,
        firm_id=firm_id,
        case_id=payment.case_id,
        kind=FeeLineKind.SUCCESS,
        earned_on=correction.reversal.reversed_on,
        base=base,
        rate=rate,
        amount=amount,
        payment=payment,
        correction=correction,
        created_at=now or timezone.now(),
    )


def on_payment(*, payment, now):
    attribute(payment=payment, now=now)


def on_reversal(*, reversal, now):
    claw_back(reversal=reversal, now=now)
    for correction in reversal.corrections.select_related("payment", "reversal").order_by("created_at", "id"):
        adjust(correction=correction, now=now)


# ----------------------------------------------------------------- the statement kind (律师费结算单)


def lines(statement):
    return LegalFeeLine.objects.filter(statement=statement)


def attach(statement) -> int:
    """Take the firm's lines on no statement, earned up to the statement's last day (a line recorded late lands on
    the next statement, never lost, never twice). Returns how many."""
    pool = LegalFeeLine.objects.filter(firm_id=statement.partner_id, statement__isnull=True, earned_on__lte=statement.period_end)
    ids = list(pool.select_for_update().values_list("pk", flat=True))
    return LegalFeeLine.objects.filter(pk__in=ids, statement__isnull=True).update(statement=statement)


def totals(statement):
    """(lines, money recovered, fees), summed in the database. Recovered counts the success lines' base only: a fixed
    fee is not computed on a recovery (its row shows no recovered money, so the rows sum to the totals)."""
    found = lines(statement).aggregate(
        count=Count("id"),
        base=Sum("base", filter=~Q(kind=FeeLineKind.FIXED)),
        amount=Sum("amount"),
    )
    return found["count"], found["base"] or ZERO, found["amount"] or ZERO


def _note(line) -> str:
    if line.reversal_id:
        return str(_("clawback: payment reversed"))
    if line.correction_id:
        return str(_("adjustment: payment re-applied after a reversal"))
    return ""


def rows(statement) -> list[kinds.Row]:
    """The statement's lines as shown on screen and in the PDF: date, loan (or matter) no., what, recovered, rate, fee."""
    found = []
    queryset = lines(statement).select_related("matter", "case", "payment", "stage_entry").order_by("earned_on", "kind", "created_at", "id")
    for line in queryset:
        if line.kind == FeeLineKind.FIXED:
            stage = Stage(line.stage_entry.stage).label if line.stage_entry_id else ""
            description = _("%(matter)s fixed fee (%(stage)s)") % {"matter": line.matter.number, "stage": stage}
            base, rate = ZERO, None
        else:
            description = _("%(matter)s success fee on payment %(reference)s") % {
                "matter": line.matter.number,
                "reference": line.payment.reference,
            }
            base, rate = line.base, fees.percent_as_fraction(line.rate)
        found.append(
            kinds.Row(
                line_id=line.pk,
                date=line.earned_on,
                case_ref=line.case.contract_no if line.case_id else line.matter.number,
                description=str(description),
                base=base,
                rate=rate,
                amount=line.amount,
                case_id=line.case_id,
                note=_note(line),
            )
        )
    return found


def release(statement, line_ids) -> int:
    """Take those lines off the statement: they wait for the firm's next one."""
    return lines(statement).filter(pk__in=list(line_ids)).update(statement=None)


LEGAL_FEE_KIND = kinds.StatementKind(
    code=StatementKindCode.LEGAL_FEE,
    label=_("Legal fee invoice"),
    number_prefix="LF",
    partner_kind=OrganisationKind.LAW_FIRM,
    lines=lines,
    attach=attach,
    totals=totals,
    rows=rows,
    release=release,
    amount_label=_("Fee"),
)


def _lines_to_post():
    return LegalFeeLine.objects.select_related("matter", "firm", "case", "payment").order_by("pk")


def register():
    hooks.on_payment_recorded(on_payment)
    hooks.on_payment_reversed(on_reversal)
    kinds.register(LEGAL_FEE_KIND)
    ledger_hooks.register_source("litigation.legalfeeline", _lines_to_post, post_line)  # manage.py ledger_backfill
