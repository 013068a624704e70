"""Pre-flight check of a filing packet: every missing or inconsistent element, before anything is rendered.

``problems(matter)`` lists them all at once (a paralegal fixes a list, not one refusal after another), each with a
code and a message naming what to fix. A blocking problem stops the packet until it is resolved, or until a lawyer
overrides it consciously with a reason (``override``: a PreflightOverride row). Overridden problems are recorded
on the packet (Packet.problems) and printed nowhere in the court documents. Warnings (blocking=False) are recorded
too and never stop a build.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.access import can, principal_for
from portal.errors import RuleError
from portal.lib import filecrypt, idnumber

from . import claims
from .models import DocumentKind, Matter, PlaintiffProfile, PreflightOverride


@dataclass
class Problem:
    code: str
    message: str
    blocking: bool = True
    overridden: dict | None = field(default=None)  # {"reason", "by", "at"} when a lawyer overrode it

    def as_json(self) -> dict:
        return {"code": self.code, "message": str(self.message), "blocking": self.blocking, "overridden": self.overridden}


class OverrideRefused(RuleError):
    pass


# Loan elements the complaint and the calculation need (domain doc §2.3, 事实与理由 items 1, 4, 5, 8).
LOAN_ELEMENTS = {
    "penalty_rate": lambda: _("penalty interest rate"),
    "due_date": lambda: _("due date (after acceleration)"),
    "interest_paid_to": lambda: _("interest paid up to"),
    "contract_signed_on": lambda: _("contract signed on"),
}
PLAINTIFF_FIELDS = {
    "name": lambda: _("name"),
    "unified_social_credit_code": lambda: _("unified social credit code"),
    "legal_representative": lambda: _("legal representative"),
    "address": lambda: _("domicile"),
}


def _exhibit_problems(matter: Matter) -> list[Problem]:
    from .packet_documents import ExhibitError, exhibit_documents, load_exhibit

    found = []
    documents = exhibit_documents(matter)
    kinds = {document.kind for document in documents}
    # 证据: the contract and the money lent are what a 金融借款 claim rests on (民法典 arts. 667, 675; CPL art. 67).
    if DocumentKind.LOAN_CONTRACT not in kinds:
        found.append(Problem("no_loan_contract", _("No loan contract among the exhibits: upload the signed loan contract.")))
    if DocumentKind.DISBURSEMENT not in kinds:
        found.append(
            Problem("no_disbursement_proof", _("No disbursement proof among the exhibits: upload the disbursement record (放款凭证).")),
        )
    for document in documents:
        try:
            load_exhibit(document)
        except (ExhibitError, filecrypt.FileGone, filecrypt.FileUnreadable) as error:
            found.append(
                Problem(
                    "exhibit_unreadable",
                    _("Exhibit “%(title)s” cannot be used (%(reason)s): upload it again.") % {"title": document.title, "reason": error},
                )
            )
    return found


def problems(matter: Matter, *, today: datetime.date | None = None) -> list[Problem]:
    """Every problem of ``matter``'s packet now, overridden ones marked (``overridden``)."""
    today = today or timezone.localdate()
    found: list[Problem] = []
    loans = [loan for loan in matter.loans.select_related("case").order_by("position", "id") if loan.active]
    if not loans:
        found.append(Problem("no_loans", _("The matter has no loan: add the loan to claim.")))

    found += _exhibit_problems(matter)

    debtor = matter.debtor
    try:
        reason = idnumber.validate(debtor.id_number)
    except Exception:  # noqa: BLE001 - an undecryptable number is as unusable as a wrong one
        reason = "cannot be read"
    if reason:
        found.append(
            Problem(
                "debtor_id_invalid",
                _("The defendant's ID number is not valid (%(reason)s): correct it on the debtor.") % {"reason": reason},
            )
        )
    if not debtor.address.strip():
        found.append(Problem("debtor_address_missing", _("The defendant's address is missing: record the debtor's domicile.")))

    profile = PlaintiffProfile.objects.filter(pk=1).first()
    missing = [label() for name, label in PLAINTIFF_FIELDS.items() if not (getattr(profile, name, "") or "").strip()]
    if missing:
        found.append(
            Problem(
                "plaintiff_incomplete",
                _("The plaintiff's particulars are incomplete (%(fields)s): complete the plaintiff profile.")
                % {"fields": ", ".join(missing)},
            )
        )
    if not matter.court.strip():
        found.append(Problem("no_court", _("No court chosen: choose the court to file with.")))

    for loan in loans:
        absent = [label() for name, label in LOAN_ELEMENTS.items() if getattr(loan, name) is None]
        if loan.case.annual_rate is None:
            absent.append(_("annual interest rate (on the case)"))
        if absent:
            found.append(
                Problem(
                    "loan_elements_missing",
                    _("Loan %(contract)s lacks filing elements (%(fields)s): complete them on the matter.")
                    % {"contract": loan.case.contract_no, "fields": ", ".join(absent)},
                )
            )
        case = loan.case
        # 民法典 art. 188 (three years), art. 192: after expiry the debtor may refuse; art. 195 interruptions are
        # computed into limitation_expires_on by portal.limitation.
        if case.limitation_expires_on and case.limitation_expires_on < today:
            found.append(
                Problem(
                    "limitation_passed",
                    _("The limitation period of loan %(contract)s expired on %(date)s: record an interruption or decide to file anyway.")
                    % {"contract": case.contract_no, "date": case.limitation_expires_on.isoformat()},
                )
            )
        if case.limitation_review:
            found.append(
                Problem(
                    "limitation_review",
                    _(
                        "Loan %(contract)s needs a lawyer's review of the limitation (payment or promise after expiry, SPC 诉讼时效规定 art. 19)."
                    )
                    % {"contract": case.contract_no},
                )
            )

    if matter.preservation_requested and (not matter.preservation_amount or not matter.preservation_assets.strip()):
        found.append(
            Problem(
                "preservation_incomplete",
                _("Property preservation is requested without the amount or the assets to preserve: state both (法释〔2016〕22号 art. 1)."),
            )
        )

    if loans and not any(p.code == "loan_elements_missing" for p in found):
        found += _claim_problems(matter)

    overrides = {row.code: row for row in PreflightOverride.objects.filter(matter=matter).select_related("by")}
    for problem in found:
        row = overrides.get(problem.code)
        if row is not None:
            problem.overridden = {"reason": row.reason, "by": _person(row.by), "at": row.at.isoformat(timespec="seconds")}
    return found


def _claim_problems(matter: Matter) -> list[Problem]:
    from .packet_documents import claim_lines

    found = []
    try:
        claim = claims.claim_for(matter)
    except claims.MissingElement as missing:
        return [Problem("loan_elements_missing", _("A filing element is missing: %(field)s.") % {"field": missing.field})]
    except ValueError as error:
        return [Problem("calculation_failed", _("The debt cannot be calculated: %(reason)s") % {"reason": error})]
    # The complaint's claim lines, summed on their own, against the statements plus the costs: to the fen.
    printed = sum((line.amount for line in claim_lines(claim)), claims.ZERO)
    calculated = sum((statement.total for _loan, statement in claim.loans), claims.ZERO) + claim.enforcement_costs
    if printed != calculated or claim.total != calculated:
        found.append(
            Problem(
                "claim_mismatch",
                _("The claims total %(printed)s but the calculation gives %(calculated)s: check the amounts.")
                % {"printed": printed, "calculated": calculated},
            )
        )
    for loan, statement in claim.loans:
        if statement.principal != loan.case.principal_due:
            found.append(
                Problem(
                    "principal_mismatch",
                    _(
                        "Loan %(contract)s: the lender's books show principal %(books)s but the calculation gives %(calculated)s "
                        "after the payments: check the interest-paid-to date and the payments."
                    )
                    % {"contract": loan.case.contract_no, "books": loan.case.principal_due, "calculated": statement.principal},
                    blocking=False,  # a flag for the lawyer: the calculation, not the books, is what is claimed
                )
            )
        cap = statement.cap
        if cap is not None and cap.reduction > 0 and not cap.applied:
            # 法发〔2017〕22号 item 2 (24%); 民间借贷规定 arts. 25, 28, 29 (4× LPR): above the cap is not supported.
            found.append(
                Problem(
                    "interest_above_cap",
                    _("Loan %(contract)s claims %(reduction)s above the interest cap (%(limit)s%% a year) and the cap is not applied.")
                    % {"contract": loan.case.contract_no, "reduction": cap.reduction, "limit": cap.limit},
                )
            )
    return found


def _person(user) -> str:
    return (getattr(user, "full_name", "") or getattr(user, "email", "")) if user else ""


def blocking(matter: Matter, *, today: datetime.date | None = None) -> list[Problem]:
    """The problems that stop a packet: blocking and not overridden."""
    return [problem for problem in problems(matter, today=today) if problem.blocking and problem.overridden is None]


def override(matter: Matter, code: str, reason: str, by, *, today: datetime.date | None = None) -> PreflightOverride:
    """Record a lawyer's conscious decision to build despite the problem ``code`` (raised now), with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise OverrideRefused(_("Give the reason for overriding the problem."), code="override_reason_required")
    principal = principal_for(by, getattr(connection, "tenant", None))
    if not can(principal, "packet.approve"):
        raise OverrideRefused(_("Only a lawyer or the legal manager may override a pre-flight problem."), code="override_not_allowed")
    if code not in {problem.code for problem in problems(matter, today=today)}:
        raise OverrideRefused(_("There is no problem “%(code)s” to override on this matter.") % {"code": code}, code="override_unknown")
    row, _created = PreflightOverride.objects.update_or_create(
        matter=matter, code=code, defaults={"reason": reason, "by": by, "at": timezone.now()}
    )
    from portal.audit.log import record
    from portal.audit.models import Action

    record(Action.CHANGE, actor=by, obj=matter, preflight_override=code, reason=reason)
    return row
