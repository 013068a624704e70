"""How outsourcing reacts to a recorded payment, and which payment lines an agency sees.

On each new lender payment (portal.payments.hooks): the commission line for the placement in force
on the payment's date (commissions.attribute), and the case's promises to pay evaluated again
(workbench.services.store_promise_evaluations), in the payment's transaction. On a reversal: the
clawback line (commissions.claw_back), an adjustment line for each later payment whose applied money the
re-application changed (commissions.adjust), and the promises evaluated again without the payment.

An agency sees the payment lines that earned it commission, also after the placement ended: they are
its own money records (statement lines), shown by contract no., date and amount only — nothing about
the debtor, whose case disappears from the agency's view the moment the placement ends.
"""

from decimal import Decimal

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from portal.access import Principal
from portal.models import Case, CaseStatus
from portal.payments import hooks
from portal.payments.services import payments_for_promises

from . import commissions
from .models import CommissionLine, Placement


def on_payment(*, payment, now):
    from .workbench.services import store_promise_evaluations

    commissions.attribute(payment=payment, now=now)
    store_promise_evaluations(case=payment.case, payments=payments_for_promises(payment.case), as_of=timezone.localdate(now), now=now)


def on_reversal(*, reversal, now):
    """A reversed payment: its commission is clawed back, promises are evaluated without it, and a case the
    payment had settled is placed again if a placement is still in force."""
    from .workbench.services import store_promise_evaluations

    commissions.claw_back(reversal=reversal, now=now)
    # The later payments re-applied by the reversal (payments.PaymentPostingCorrection): their commission follows
    # the money they now apply, on an adjustment line dated the reversal.
    for correction in reversal.corrections.select_related("payment", "reversal").order_by("created_at", "id"):
        commissions.adjust(correction=correction, now=now)
    case = Case.objects.get(pk=reversal.payment.case_id)
    if case.status == CaseStatus.INTERNAL and Placement.objects.active(now).filter(case=case).exists():
        Case.objects.filter(pk=case.pk).update(status=CaseStatus.PLACED)
    store_promise_evaluations(case=case, payments=payments_for_promises(case), as_of=timezone.localdate(now), now=now)


def agency_payment_scope(principal: Principal):
    return Q(Exists(CommissionLine.objects.filter(payment=OuterRef("pk"), partner=principal.organisation)))


def payment_annotations(payment_ids) -> dict:
    """The agency and commission of each payment that earned one. ``commission`` is what the payment earned on the
    money it applies: its earned line plus any adjustment a reversal of an earlier payment made (``adjustment``)."""
    found: dict = {}
    lines = CommissionLine.objects.filter(payment_id__in=payment_ids).select_related("partner", "statement").order_by("created_at", "id")
    for line in sorted(lines, key=lambda line: line.correction_id is not None):  # earned lines first, then adjustments
        if line.correction_id is not None:
            note = found.setdefault(line.payment_id, {})
            if "partner" not in note:  # no earned line: the payment applied nothing until a reversal
                note.update(
                    {
                        "partner": line.partner.name,
                        "partner_id": line.partner_id,
                        "commission": Decimal("0.00"),
                        "rate": line.rate,
                        "bucket": line.bucket,
                        "round": line.round,
                        "statement": "",
                    }
                )
            note["commission"] += line.commission
            note["adjustment"] = note.get("adjustment", Decimal("0.00")) + line.commission
        elif line.reversal_id is None:
            found.setdefault(line.payment_id, {}).update(
                {
                    "partner": line.partner.name,
                    "partner_id": line.partner_id,
                    "commission": line.commission,
                    "rate": line.rate,
                    "bucket": line.bucket,
                    "round": line.round,
                    "statement": line.statement.number if line.statement_id else "",
                }
            )
        else:
            found.setdefault(line.payment_id, {}).update(
                {"clawback": line.commission, "clawback_statement": line.statement.number if line.statement_id else ""}
            )
    return found


def register():
    hooks.on_payment_recorded(on_payment)
    hooks.on_payment_reversed(on_reversal)
    hooks.register_partner_payment_scope(agency_payment_scope)
    hooks.register_payment_annotator(payment_annotations)


def evaluate_due_promises(*, now) -> int:
    """The daily sweep: promises still pending after their due date are evaluated against the case's
    payments (broken if nothing came, partly kept if some did). Returns how many changed."""
    from .workbench.models import PromiseStatus, PromiseToPay
    from .workbench.services import store_promise_evaluations

    today = timezone.localdate(now)
    case_ids = PromiseToPay.objects.filter(status=PromiseStatus.PENDING, due_on__lt=today).values_list("case_id", flat=True).distinct()
    changed = 0
    for case in Case.objects.filter(pk__in=list(case_ids)).iterator(chunk_size=500):
        changed += len(store_promise_evaluations(case=case, payments=payments_for_promises(case), as_of=today, now=now))
    return changed
