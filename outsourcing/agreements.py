"""Agreements (委外协议) with engaged agencies, and their versions.

A version is never edited: revising an agreement writes a new version, which
new placements use; placements already made keep pointing to the version they
were placed under (the database refuses UPDATEs of versions and rates).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from portal.audit.log import Action, record
from tenants.models import Engagement, EngagementStatus, Organisation, OrganisationKind

from .models import BUCKETS, ROUNDS, Agreement, AgreementVersion, CollectionAction, CommissionRate
from .placement import current_lender

RATE_PLACES = Decimal("0.0001")
FEN = Decimal("0.01")
MAX_VISIT_FEE = Decimal("10000")  # a sanity bound on a fee per visit (外访费), not a legal one


def clean_terms(terms: dict) -> dict:
    """Check a set of terms; returns them normalised or raises ValidationError keyed by field."""
    errors = {}
    cleaned = {}
    for name, low, high in (("term_days", 1, 366), ("capacity", 1, 10_000_000), ("max_hold_days", 0, 180)):
        value = terms.get(name)
        try:
            value = int(value)
        except (TypeError, ValueError):
            errors[name] = _("Enter a whole number.")
            continue
        if not low <= value <= high:
            errors[name] = _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}
            continue
        cleaned[name] = value
    actions = list(dict.fromkeys(terms.get("allowed_actions") or []))
    unknown = [a for a in actions if a not in CollectionAction.values]
    if unknown:
        errors["allowed_actions"] = _("Unknown action: %(action)s.") % {"action": unknown[0]}
    cleaned["allowed_actions"] = [a for a in CollectionAction.values if a in actions]  # a stable order
    rates = {}
    given = terms.get("rates") or {}
    for bucket in BUCKETS:
        for round_number in ROUNDS:
            value = given.get((bucket, round_number))
            try:
                rate = Decimal(str(value)) if value is not None and not isinstance(value, float) else None
            except InvalidOperation:
                rate = None
            if rate is None or not rate.is_finite():
                errors[f"rate_{bucket}_{round_number}"] = _("Enter a rate.")
            elif not Decimal(0) <= rate <= Decimal(1):
                errors[f"rate_{bucket}_{round_number}"] = _("A rate is between 0% and 100%.")
            elif rate != rate.quantize(RATE_PLACES):
                errors[f"rate_{bucket}_{round_number}"] = _("A rate has at most two decimals as a percentage (e.g. 18.25%).")
            else:
                rates[(bucket, round_number)] = rate.quantize(RATE_PLACES)
    cleaned["rates"] = rates
    fee = terms.get("field_visit_fee")
    try:
        fee = Decimal("0") if fee in (None, "") else Decimal(str(fee)) if not isinstance(fee, float) else None
    except InvalidOperation:
        fee = None
    if fee is None or not fee.is_finite():
        errors["field_visit_fee"] = _("Enter an amount.")
    elif not Decimal(0) <= fee <= MAX_VISIT_FEE:
        errors["field_visit_fee"] = _("A fee per visit is between ¥0 and ¥%(max)s.") % {"max": f"{MAX_VISIT_FEE:,}"}
    elif fee != fee.quantize(FEN):
        errors["field_visit_fee"] = _("An amount has at most two decimal places (fen).")
    else:
        cleaned["field_visit_fee"] = fee.quantize(FEN)
    cleaned["note"] = (terms.get("note") or "").strip()[:300]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _write_version(agreement: Agreement, terms: dict, *, created_by) -> AgreementVersion:
    number = (agreement.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = AgreementVersion.objects.create(
        agreement=agreement,
        number=number,
        term_days=terms["term_days"],
        capacity=terms["capacity"],
        allowed_actions=terms["allowed_actions"],
        max_hold_days=terms["max_hold_days"],
        field_visit_fee=terms["field_visit_fee"],
        note=terms["note"],
        created_by=created_by,
    )
    CommissionRate.objects.bulk_create(
        [
            CommissionRate(version=version, bucket=bucket, round=round_number, rate=rate)
            for (bucket, round_number), rate in terms["rates"].items()
        ]
    )
    agreement._current_version = version
    return version


def create_agreement(*, partner: Organisation, created_by, terms: dict, reference: str = "", request=None) -> Agreement:
    """The agreement with an engaged agency, with its first version of terms."""
    terms = clean_terms(terms)
    if partner.kind != OrganisationKind.AGENCY:
        raise ValidationError({"partner": _("Agreements are made with collection agencies.")})
    lender = current_lender()
    engaged = (
        lender is not None and Engagement.objects.filter(lender=lender, partner=partner).exclude(status=EngagementStatus.ENDED).exists()
    )
    if not engaged:
        raise ValidationError(
            {"partner": _("%(partner)s is not engaged by you; engage it on the Partners page first.") % {"partner": partner.name}}
        )
    try:
        with transaction.atomic():
            agreement = Agreement.objects.create(partner=partner, reference=(reference or "").strip()[:64], created_by=created_by)
            version = _write_version(agreement, terms, created_by=created_by)
            record(Action.CREATE, request=request, actor=created_by, obj=agreement, partner=str(partner.pk), version=version.number)
    except IntegrityError:
        raise ValidationError(
            {"partner": _("There is already an agreement with %(partner)s; revise it instead.") % {"partner": partner.name}}
        ) from None
    return agreement


def revise_agreement(*, agreement: Agreement, created_by, terms: dict, request=None) -> AgreementVersion:
    """A new version of the terms; it applies to placements made from now on."""
    terms = clean_terms(terms)
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)  # version numbers one at a time
        version = _write_version(agreement, terms, created_by=created_by)
        record(Action.CHANGE, request=request, actor=created_by, obj=agreement, version=version.number, note=terms["note"])
    return version


def terms_of(version: AgreementVersion) -> dict:
    """A version's terms in the shape clean_terms() takes (to pre-fill a revision)."""
    return {
        "term_days": version.term_days,
        "capacity": version.capacity,
        "allowed_actions": list(version.allowed_actions),
        "max_hold_days": version.max_hold_days,
        "field_visit_fee": version.field_visit_fee,
        "rates": {(r.bucket, r.round): r.rate for r in version.rates.all()},
        "note": "",
    }
