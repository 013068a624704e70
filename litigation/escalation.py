"""Escalation (移交诉讼): from a case, or a filtered batch, to the in-house legal team or an engaged law firm.

Several loans of one borrower become one matter (a court hears one borrower's claims together; the
complaint lists each contract). A case still placed with an agency is recalled first
(outsourcing.placement.recall_placements: the agency's sight of it ends that moment). A case already
in an open matter is refused, by the database too (MatterLoan's partial unique constraint).

``hints`` gives the escalation screen its eligibility hints — ability to pay, balance threshold,
limitation approaching, previous agencies' results — as facts, not a verdict: the legal manager
decides.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outsourcing.models import CommissionLine, Placement
from outsourcing.placement import recall_placements
from portal.access import may_receive_cases
from portal.audit.log import Action, record
from portal.errors import RuleError
from portal.lib.money import format_cny
from portal.models import Case, CaseStatus, RiskFlag
from tenants.models import EngagementStatus, Membership, OrganisationKind, Role

from .models import LegalFeeAgreement, Matter, MatterLoan, Stage, StageEntry

# A balance below this is rarely worth a court fee and a lawyer's time (a product default; settings override).
DEFAULT_MIN_BALANCE = Decimal("3000.00")
# The limitation date counts as "approaching" within this many days: time to file, or to interrupt it (民法典 art. 195).
LIMITATION_WARNING_DAYS = 180


class EscalationRefused(RuleError):
    pass


def refused(code: str, message, **params) -> EscalationRefused:
    return EscalationRefused(message, code=code, params=params)


@dataclass(frozen=True)
class Hint:
    key: str
    ok: bool  # True: speaks for litigation; False: a reason to think again
    text: str


def min_balance() -> Decimal:
    return Decimal(str(getattr(settings, "LITIGATION_MIN_BALANCE", DEFAULT_MIN_BALANCE)))


def agency_history(case_ids) -> dict:
    """{case_id: {"placements": n, "recovered": Decimal, "broken_promises": n}} from outsourcing's records."""
    from outsourcing.workbench.models import PromiseStatus, PromiseToPay

    result = defaultdict(lambda: {"placements": 0, "recovered": Decimal("0.00"), "broken_promises": 0})
    for row in Placement.objects.filter(case_id__in=case_ids).values("case_id").annotate(n=Count("id")):
        result[row["case_id"]]["placements"] = row["n"]
    # What agencies recovered: the money their commission lines record as applied (clawbacks net out).
    for row in CommissionLine.objects.filter(case_id__in=case_ids).values("case_id").annotate(recovered=Sum("recovered")):
        result[row["case_id"]]["recovered"] = row["recovered"] or Decimal("0.00")
    broken = PromiseToPay.objects.filter(case_id__in=case_ids, status=PromiseStatus.BROKEN).values("case_id").annotate(n=Count("id"))
    for row in broken:
        result[row["case_id"]]["broken_promises"] = row["n"]
    return result


def hints(case: Case, *, today: datetime.date | None = None, history: dict | None = None) -> list[Hint]:
    """The escalation screen's hints for one case (facts the legal manager weighs)."""
    today = today or timezone.localdate()
    history = history if history is not None else agency_history([case.pk]).get(case.pk)
    history = history or {"placements": 0, "recovered": Decimal("0.00"), "broken_promises": 0}
    debtor = case.debtor
    out = []
    # Ability to pay: an employer or a workplace is what a court's enforcement reaches (wages, accounts).
    able = bool(debtor.employer or debtor.work_address)
    out.append(
        Hint(
            "ability",
            able,
            _("Employer or workplace on file: enforcement has something to reach") if able else _("No employer or workplace on file"),
        )
    )
    threshold = min_balance()
    out.append(
        Hint(
            "balance",
            case.balance >= threshold,
            _("Balance %(balance)s against the threshold of %(threshold)s")
            % {"balance": format_cny(case.balance), "threshold": format_cny(threshold)},
        )
    )
    expiry = case.limitation_expires_on
    if expiry is None:
        out.append(Hint("limitation", False, _("No limitation date on record: check the evidence before filing")))
    elif expiry < today:
        out.append(
            Hint("limitation", False, _("Limitation expired on %(date)s (民法典 art. 192): the debtor may refuse") % {"date": expiry})
        )
    elif (expiry - today).days <= LIMITATION_WARNING_DAYS:
        out.append(Hint("limitation", True, _("Limitation expires on %(date)s: file or interrupt it soon") % {"date": expiry}))
    else:
        out.append(Hint("limitation", True, _("Limitation runs until %(date)s") % {"date": expiry}))
    if case.limitation_review:
        out.append(Hint("limitation_review", False, _("A payment or promise after expiry needs a lawyer's review")))
    out.append(
        Hint(
            "agencies",
            history["placements"] > 0,
            _("%(n)s previous placements recovered %(recovered)s; %(broken)s promises broken")
            % {"n": history["placements"], "recovered": format_cny(history["recovered"]), "broken": history["broken_promises"]},
        )
    )
    if RiskFlag.FRAUD in (case.risk_flags or []):
        out.append(Hint("fraud", False, _("Suspected fraud: consider a criminal referral (报案) rather than a civil suit")))
    if RiskFlag.DECEASED in (case.risk_flags or []):
        out.append(Hint("deceased", False, _("Debtor deceased: the claim lies against the estate")))
    return out


def legal_team_refusal(firm, *, lawyer=None, paralegal=None, lender=None) -> EscalationRefused | None:
    """Why this team cannot take matters, or None. In-house (firm None): the lender's own lawyers and paralegals."""
    from django.db import connection

    lender = lender or connection.tenant
    if firm is not None:
        if firm.kind != OrganisationKind.LAW_FIRM:
            return refused("not_law_firm", _("%(name)s is not a law firm.") % {"name": firm.name})
        if not lender.engagements.filter(partner=firm, status=EngagementStatus.ACTIVE).exists():
            return refused("not_engaged", _("%(name)s has no active engagement with this lender.") % {"name": firm.name})
        if not may_receive_cases(firm):
            return refused("no_licence", _("%(name)s has no verified practice licence valid today.") % {"name": firm.name})
        if not LegalFeeAgreement.objects.filter(firm=firm).exists():
            return refused("no_fee_agreement", _("Record a fee agreement with %(name)s first.") % {"name": firm.name})
    team_org = firm.pk if firm is not None else lender.organisation_id
    for person, role in ((lawyer, Role.LAWYER), (paralegal, Role.PARALEGAL)):
        if person is not None and not Membership.objects.filter(user=person, organisation_id=team_org, role=role, is_active=True).exists():
            return refused(
                "not_in_team", _("%(person)s is not a %(role)s of the chosen legal team.") % {"person": person, "role": Role(role).label}
            )
    return None


def escalate(*, cases, firm=None, lawyer=None, paralegal=None, by, reason: str, now=None, request=None) -> list[Matter]:
    """Escalate ``cases`` to litigation: one matter per borrower. Returns the matters created."""
    reason = (reason or "").strip()
    if not reason:
        raise refused("reason", _("Say why these cases go to court."))
    problem = legal_team_refusal(firm, lawyer=lawyer, paralegal=paralegal)
    if problem is not None:
        raise problem
    now = now or timezone.now()
    case_ids = [getattr(case, "pk", case) for case in cases]
    if not case_ids:
        raise refused("no_cases", _("Choose at least one case."))
    agreement = LegalFeeAgreement.objects.filter(firm=firm).first() if firm is not None else None
    with transaction.atomic():
        locked = list(
            Case.objects.select_for_update().filter(pk__in=case_ids).select_related("debtor").order_by("debtor_id", "contract_no")
        )
        if len(locked) != len(set(case_ids)):
            raise refused("unknown_case", _("Some of the chosen cases do not exist."))
        busy = set(MatterLoan.objects.filter(case_id__in=case_ids, active=True).values_list("case__contract_no", flat=True))
        if busy:
            raise refused("already_in_matter", _("Already in an open matter: %(contracts)s") % {"contracts": ", ".join(sorted(busy))})
        closed = [case.contract_no for case in locked if case.status in (CaseStatus.SETTLED, CaseStatus.WRITTEN_OFF, CaseStatus.CLOSED)]
        if closed:
            raise refused("case_closed", _("Settled or closed cases cannot be escalated: %(contracts)s") % {"contracts": ", ".join(closed)})
        placed = Placement.objects.active(now).filter(case_id__in=case_ids)
        if placed.exists():
            # 撤案 before escalation: the agency stops work the moment the legal team starts (issue item 1).
            recall_placements(
                placements=placed,
                by=by,
                reason=str(_("Escalated to litigation: %(reason)s") % {"reason": reason}),
                now=now,
                request=request,
            )
        by_debtor = defaultdict(list)
        for case in locked:
            by_debtor[case.debtor_id].append(case)
        matters = []
        for debtor_cases in by_debtor.values():
            matter = Matter.objects.create(
                debtor=debtor_cases[0].debtor,
                firm=firm,
                lawyer=lawyer,
                paralegal=paralegal,
                fixed_fee=agreement.fixed_fee if agreement else Decimal("0.00"),
                success_fee_percent=agreement.success_fee_percent if agreement else Decimal("0"),
                escalated_by=by,
                escalated_at=now,
                escalation_reason=reason[:300],
            )
            MatterLoan.objects.bulk_create(
                [
                    MatterLoan(
                        matter=matter,
                        case=case,
                        position=position,
                        due_date=case.accelerated_on,
                        interest_paid_to=case.last_payment_on,
                    )
                    for position, case in enumerate(debtor_cases, start=1)
                ]
            )
            StageEntry.objects.create(
                matter=matter, stage=Stage.ESCALATED, entered_on=timezone.localdate(now), note=reason[:500], recorded_by=by
            )
            matters.append(matter)
            record(Action.CREATE, request=request, actor=by, obj=matter, event="escalate", firm=str(firm or ""), cases=len(debtor_cases))
        Case.objects.filter(pk__in=case_ids).update(status=CaseStatus.LITIGATION, updated_at=now)
        from .stages import refresh_deadlines

        for matter in matters:
            refresh_deadlines(matter)
    return matters


def reassign(*, matter: Matter, firm=None, lawyer=None, paralegal=None, by, request=None) -> Matter:
    """Give the matter to another legal team; the previous firm loses sight of it at once (litigation.access)."""
    if not matter.is_open:
        raise refused("closed", _("A closed matter cannot be reassigned."))
    problem = legal_team_refusal(firm, lawyer=lawyer, paralegal=paralegal)
    if problem is not None:
        raise problem
    with transaction.atomic():
        previous = matter.firm
        if firm != previous:
            agreement = LegalFeeAgreement.objects.filter(firm=firm).first() if firm is not None else None
            matter.fixed_fee = agreement.fixed_fee if agreement else Decimal("0.00")
            matter.success_fee_percent = agreement.success_fee_percent if agreement else Decimal("0")
        matter.firm, matter.lawyer, matter.paralegal = firm, lawyer, paralegal
        matter.save(update_fields=["firm", "lawyer", "paralegal", "fixed_fee", "success_fee_percent", "updated_at"])
        record(Action.CHANGE, request=request, actor=by, obj=matter, event="reassign", previous=str(previous or ""), firm=str(firm or ""))
    return matter


def eligible_cases(queryset):
    """Cases that may be escalated: not in an open matter, not settled or closed."""
    return queryset.exclude(Q(matter_loans__active=True)).exclude(
        status__in=[CaseStatus.SETTLED, CaseStatus.WRITTEN_OFF, CaseStatus.CLOSED]
    )
