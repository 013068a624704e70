"""A law firm's fees under its fee agreement (律师费): the pure rules, no database.

The fee agreement (``LegalFeeAgreement``, copied onto the matter at escalation as ``Matter.fixed_fee`` and
``Matter.success_fee_percent``) has two parts, the usual shape of a collection firm's 委托代理合同:

**Fixed fee (基础律师费)** — a set amount per matter (计件收费, 律师服务收费管理办法 发改价格〔2006〕611号 art. 10),
earned once per matter when the firm first puts it before a court: filing the suit (立案), applying for a payment
order (支付令申请) or for judicial confirmation of a mediation agreement (司法确认申请). That is the point where the
firm's base work — the complaint, the evidence, the filing — is done, and it is what collection firms' contracts
usually say ("基础代理费于案件立案/受理后支付"). The agreement model holds no field for the stage, so this is the
product's rule: a matter settled in pre-suit mediation before anything was filed earns no fixed fee (the success
fee pays for that recovery), and a matter the lender takes back before filing earns nothing. Recording the stage
twice, or reaching a second court stage (a payment order objected to, then filed, CPL art. 228), earns nothing
more: one fixed fee per matter. A matter reassigned after filing keeps its fixed fee with the firm that filed.

**Success fee (风险代理费)** — ``success_fee_percent`` per cent of the money actually recovered (最终实现的债权,
the base 司法部《关于进一步规范律师服务收费的意见》司发通〔2021〕87号 names for 风险代理; art. 11 and 13 of the 2006
measures allow it in civil matters about property). Recovered is the money a payment *applied* to the loan
(payments.models.effective_split(...).applied: amount − unapplied): the part paid beyond the whole balance is
refunded or set off, it was not recovered. A payment earns the fee only while the matter is with the firm: paid on
or after the day of escalation and on or before the day the matter closed (also a withdrawal, 撤诉/撤回委托),
lender-local dates (Asia/Shanghai). A reversed payment (冲正) takes its fee back: a clawback line, the payment's lines
negated exactly (no new rounding), dated the reversal.

Rounding: each line is rounded half up to the fen (ROUND_HALF_UP, ``portal.lib.money.to_fen``) once, from the
unrounded product; totals are sums of rounded lines, so an invoice always equals the sum of what it lists.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from portal.lib.money import to_fen

from .models import Stage

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# The stages that put a matter before a court: the first of them recorded earns the fixed fee (see above).
FIXED_FEE_STAGES = (Stage.FILED, Stage.PAYMENT_ORDER, Stage.JUDICIAL_CONFIRMATION)


def _decimal(value, what: str) -> Decimal:
    if isinstance(value, float | bool):
        raise TypeError(f"{what} must be a Decimal, int or string, not {type(value).__name__}")
    return Decimal(value)


def earns_fixed_fee(stage: str) -> bool:
    """Does reaching ``stage`` earn the fixed fee (if the matter has not earned it yet)?"""
    return stage in FIXED_FEE_STAGES


def fixed_fee(fee) -> Decimal | None:
    """The fixed-fee line's amount: the agreement's fee to the fen; None when the agreement has none (0)."""
    fee = to_fen(_decimal(fee, "a fee"))
    if fee < 0:
        raise ValueError("a fixed fee is not negative")
    return fee if fee > 0 else None


def check_percent(percent) -> Decimal:
    percent = _decimal(percent, "a success fee rate")
    if not ZERO <= percent <= HUNDRED:
        raise ValueError("a success fee is a percentage between 0 and 100")
    return percent


def success_fee(applied, percent) -> Decimal:
    """``percent`` % of the money applied, half up to the fen, once: 8 % of ¥12,345.67 → ¥987.65 (987.6536).
    Zero for nothing applied; never negative, never more than the money applied (0 ≤ percent ≤ 100)."""
    applied, percent = to_fen(_decimal(applied, "money applied")), check_percent(percent)
    if applied < 0:
        raise ValueError("money applied is not negative")
    return to_fen(applied * percent / HUNDRED)


def adjustment(before, change, percent) -> tuple[Decimal, Decimal]:
    """(base change, fee change) when a reversal of an earlier payment changes the money a later payment applied
    (payments.PaymentPostingCorrection): the fee moves to ``success_fee(before + change)`` − ``success_fee(before)``,
    so the payment's lines always sum to its applied money and to that money's fee rounded once."""
    before, change = to_fen(_decimal(before, "money applied")), to_fen(_decimal(change, "a change"))
    after = before + change
    if after < 0:
        raise ValueError("a payment cannot apply less than nothing")
    return change, success_fee(after, percent) - success_fee(before, percent)


def clawback(base_total, amount_total) -> tuple[Decimal, Decimal]:
    """A reversed payment's lines so far (earned + adjustments), negated: exact, no rounding."""
    return -to_fen(_decimal(base_total, "a base")), -to_fen(_decimal(amount_total, "an amount"))


def within_engagement(paid_on: datetime.date, *, escalated_on: datetime.date, closed_on: datetime.date | None) -> bool:
    """Is a payment dated ``paid_on`` inside the matter's engagement: from the day of escalation to the day it closed
    (or withdrawn), both included, lender-local dates?"""
    if paid_on < escalated_on:
        return False
    return closed_on is None or paid_on <= closed_on


def percent_as_fraction(percent) -> Decimal:
    """8 → 0.0800 (statements show rates as fractions, portal.lib.money.format_percent)."""
    return (check_percent(percent) / HUNDRED).quantize(Decimal("0.000001"))
