"""Court costs recovered from the debtor (诉讼费用的收回): when the lender may record them, and how much. Pure.

诉讼费用交纳办法 (国务院令第481号) art. 29: "诉讼费用由败诉方负担，胜诉方自愿承担的除外" — the losing party bears the
costs; where a party partly wins, the court apportions them. Art. 31: in a case the court mediates, the parties agree
who bears them. Art. 38: the enforcement fee is borne by the person enforced against. So the lender (the plaintiff,
who advanced the fees, art. 20) gets costs back only after a decision puts them on the debtor:

- a judgment for the lender, wholly or in part (判决, outcome ``won`` / ``partly_won``);
- a mediation agreement, in court (调解书 at the judgment stage, or an agreed 诉中调解) — art. 31;
- a payment order the debtor did not object to (支付令生效): its fee follows the debtor as the losing party.

A judgment against the lender, a mediation before filing (no court fee was paid) or a judicial confirmation (no fee,
art. 8) puts no costs on the debtor: nothing can be recovered, and the rule refuses.

What comes back is money the lender (or its firm) advanced to the court: the acceptance, preservation and
enforcement fees and the service/publication costs (the kinds in ``COURT_COST_KINDS``, art. 6 and 12). A lawyer's
fee is not 诉讼费用 (it is a 实现债权的费用 claim, part of the judgment sum), so it is not here. The recovered total
can never exceed what was advanced on the matter; a correction is a negative line with a note, and cannot take the
total below zero.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from portal.lib.money import format_cny

from .models import CostKind, Outcome, Stage

ZERO = Decimal("0.00")

# The court costs a decision can put on the debtor (诉讼费用, arts. 6, 12, 29, 38).
COURT_COST_KINDS = (CostKind.COURT_FEE, CostKind.PRESERVATION_FEE, CostKind.ENFORCEMENT_FEE, CostKind.SERVICE_COST)

# (stage, outcome) pairs that put the costs on the debtor (arts. 29, 31).
COSTS_ON_DEBTOR = frozenset(
    {
        (Stage.JUDGMENT, Outcome.WON),
        (Stage.JUDGMENT, Outcome.PARTLY_WON),
        (Stage.JUDGMENT, Outcome.MEDIATION_AGREEMENT),
        (Stage.IN_SUIT_MEDIATION, Outcome.AGREED),
        (Stage.PAYMENT_ORDER, Outcome.NOT_OBJECTED),
    }
)


def costs_on_debtor(outcomes) -> bool:
    """Has any recorded (stage, outcome) put the court costs on the debtor?"""
    return any((stage, outcome) in COSTS_ON_DEBTOR for stage, outcome in outcomes)


def refusal(*, amount: Decimal, note: str, decided: bool, advanced: Decimal, recovered: Decimal) -> tuple[str, str] | None:
    """Why recording ``amount`` of court costs recovered is refused, as (code, message); None when it may be recorded.

    ``decided``: has a decision put the costs on the debtor (``costs_on_debtor``); ``advanced``: the court costs advanced on the matter
    (sum of its COURT_COST_KINDS lines, corrections included); ``recovered``: what was recorded as recovered so far."""
    if amount == 0:
        return "amount_zero", _("A recovery of zero records nothing.")
    if amount < 0:
        if not (note or "").strip():
            return "correction_note", _("A negative amount corrects an earlier recovery: say which one, and why, in the note.")
        if recovered + amount < 0:
            return "below_zero", _("Only %(recovered)s has been recorded as recovered on this matter.") % {
                "recovered": format_cny(recovered)
            }
        return None
    if not decided:
        return "no_decision", _(
            "No judgment, mediation agreement or effective payment order has put the court costs on the debtor yet "
            "(诉讼费用交纳办法 art. 29: the losing party bears them)."
        )
    if recovered + amount > advanced:
        return "more_than_advanced", _(
            "Only %(advanced)s of court costs was advanced on this matter, and %(recovered)s of it has been recovered already."
        ) % {"advanced": format_cny(advanced), "recovered": format_cny(recovered)}
    return None
