"""The debt calculation statement (债权计算表): what an accelerated loan owes on a cut-off date, period by period.

One loan after acceleration (加速到期: the whole outstanding principal fell due on one date). The statement
walks the days from ``interest_from`` (interest paid up to then) to the cut-off (截至日), splitting at the due
date, at every payment and at every rate change, and shows each period as a line with its formula. There is
no statutory form (domain doc §3, 债权计算表 row); the conventions below are stated on the statement itself:

* daily rate = annual rate ÷ the product's basis (360 or 365);
* days counted 算头不算尾: end date minus start date;
* contractual interest on the principal until the due date; from the due date penalty interest (罚息) at the
  penalty rate REPLACES it on the overdue principal;
* compound interest (复利), where the product charges it, accrues at the penalty rate on contractual interest
  left unpaid, from the due date (when the interest accrued before it fell due). It is not charged on penalty
  or compound interest (some banks compound 罚息 too, after PBOC 《人民币利率管理规定》; that is a product rule
  this function does not assume);
* payments settle costs, then interest in the order it fell due (contractual interest, then penalty interest,
  then compound interest), then principal — 民法典 art. 561, absent another agreement;
* each line is computed exactly (Decimal) and rounded half up to the fen once; the totals are sums of the
  rounded lines, so the statement reconciles to the fen.

Caps are applied and shown, never silently (domain doc §4):

* financial institutions (banks, consumer finance companies, and the seven local financial organisations of
  法释〔2020〕27号): interest, compound and penalty interest and fees together above 24% a year may be reduced
  on the borrower's request (法发〔2017〕22号 item 2). The ceiling is 24% a year on the outstanding principal over
  the same periods and basis; the excess comes off the claim.
* private lending: rates above four times the one-year LPR at contract formation are not supported (民间借贷规定,
  法释〔2020〕17号, art. 25 agreed interest, art. 28 overdue interest); each period's rate is reduced to that
  ceiling, and whatever still exceeds it in total (compound interest, fees) is reduced too (art. 29).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _, gettext_lazy

from portal.lib.money import FEN, to_fen

from . import lpr

FINANCIAL_INSTITUTION, PRIVATE_LENDING = "financial_institution", "private_lending"
LENDER_TYPES = (FINANCIAL_INSTITUTION, PRIVATE_LENDING)
BASES = (360, 365)

# Segment kinds. Accruals carry a rate and a formula; "payment" rows show how a payment was allocated and
# "cap_reduction" rows what a cap took off which component.
INTEREST, PENALTY_INTEREST, COMPOUND_INTEREST, PAYMENT, CAP_REDUCTION = (
    "interest",
    "penalty_interest",
    "compound_interest",
    "payment",
    "cap_reduction",
)
ACCRUALS = (INTEREST, PENALTY_INTEREST, COMPOUND_INTEREST)
COMPONENT_LABELS = {
    "principal": gettext_lazy("principal"),
    INTEREST: gettext_lazy("interest"),
    PENALTY_INTEREST: gettext_lazy("penalty interest"),
    COMPOUND_INTEREST: gettext_lazy("compound interest"),
    "fees": gettext_lazy("costs"),
}

FINANCIAL_CAP_PERCENT = Decimal(24)  # 法发〔2017〕22号 item 2
LPR_MULTIPLE = 4  # 民间借贷规定 (法释〔2020〕17号) arts. 25, 28, 29
NEW_PRIVATE_LENDING_RULES = datetime.date(2020, 8, 20)  # 法释〔2020〕6号 in force; art. 31 transitional rule before it
RULE_FINANCIAL, RULE_PRIVATE_LENDING = "financial_24_percent", "private_lending_4x_lpr"

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Payment:
    on: datetime.date
    amount: Decimal


@dataclass(frozen=True)
class RateChange:
    """From ``on`` (inclusive) the contractual and penalty rates are these (percent a year)."""

    on: datetime.date
    annual_rate: Decimal
    penalty_rate: Decimal


def _fail(field_name: str, message: str):
    raise ValueError(f"{field_name}: {message}")


def _check_money(value, field_name: str, *, positive: bool = False):
    if not isinstance(value, Decimal) or not value.is_finite():
        _fail(field_name, _("must be a decimal amount"))
    if value < 0 or (positive and value == 0):
        _fail(field_name, _("must be more than zero") if positive else _("must not be negative"))
    if value != value.quantize(FEN):
        _fail(field_name, _("must be in yuan with at most two decimals (fen)"))


def _check_rate(value, field_name: str):
    if not isinstance(value, Decimal) or not value.is_finite():
        _fail(field_name, _("must be a rate in percent a year"))
    if value < 0:
        _fail(field_name, _("must not be negative"))


@dataclass(frozen=True)
class LoanTerms:
    principal: Decimal  # outstanding principal after acceleration (加速到期)
    annual_rate: Decimal  # percent a year (18 = 18%)
    penalty_rate: Decimal  # percent a year: 罚息 on overdue principal, and the compound rate on unpaid interest
    compound: bool  # the product charges compound interest (复利) on unpaid interest, at the penalty rate
    basis: int  # 360 or 365
    interest_from: datetime.date  # interest paid up to this date
    due_date: datetime.date  # contractual interest until it, penalty interest after it
    cutoff: datetime.date  # calculation cut-off (截至日)
    payments: tuple[Payment, ...] = ()
    lender_type: str = FINANCIAL_INSTITUTION
    contract_date: datetime.date | None = None
    apply_cap: bool = True
    fees: Decimal = ZERO  # costs (费用) outstanding, settled first by 民法典 art. 561
    rate_changes: tuple[RateChange, ...] = ()

    def __post_init__(self):
        _check_money(self.principal, "principal")
        _check_rate(self.annual_rate, "annual_rate")
        _check_rate(self.penalty_rate, "penalty_rate")
        _check_money(self.fees, "fees")
        if not isinstance(self.compound, bool):
            _fail("compound", _("must be true or false"))
        if not isinstance(self.apply_cap, bool):
            _fail("apply_cap", _("must be true or false"))
        if isinstance(self.basis, bool) or self.basis not in BASES:
            _fail("basis", _("must be 360 or 365"))
        for name in ("interest_from", "due_date", "cutoff"):
            if not isinstance(getattr(self, name), datetime.date):
                _fail(name, _("must be a date"))
        if self.interest_from > self.cutoff:
            _fail("interest_from", _("must not be after the cut-off date"))
        if self.lender_type not in LENDER_TYPES:
            _fail("lender_type", _("must be financial_institution or private_lending"))
        if self.contract_date is not None and not isinstance(self.contract_date, datetime.date):
            _fail("contract_date", _("must be a date"))
        if self.lender_type == PRIVATE_LENDING and self.contract_date is None:
            # 民间借贷规定 art. 25: the cap is four times the LPR at contract formation (合同成立时).
            _fail("contract_date", _("is required for private lending: the cap uses the LPR on the day the contract was formed"))
        for index, payment in enumerate(self.payments):
            name = f"payments[{index}]"
            _check_money(payment.amount, f"{name}.amount", positive=True)
            if payment.on > self.cutoff:
                _fail(f"{name}.date", _("must not be after the cut-off date"))
            if payment.on < self.interest_from:
                # A payment before then is already in the principal and the interest paid-up date.
                _fail(f"{name}.date", _("must not be before interest_from (interest is paid up to that date)"))
        for index, change in enumerate(self.rate_changes):
            _check_rate(change.annual_rate, f"rate_changes[{index}].annual_rate")
            _check_rate(change.penalty_rate, f"rate_changes[{index}].penalty_rate")
        if len({change.on for change in self.rate_changes}) != len(self.rate_changes):
            _fail("rate_changes", _("two changes on the same date"))

    def rates_on(self, day: datetime.date) -> tuple[Decimal, Decimal]:
        """(contractual, penalty) rate in force on ``day``: the latest change on or before it, else the agreed rates."""
        annual, penalty = self.annual_rate, self.penalty_rate
        for change in sorted(self.rate_changes, key=lambda change: change.on):
            if change.on <= day:
                annual, penalty = change.annual_rate, change.penalty_rate
        return annual, penalty

    @classmethod
    def from_json(cls, data: dict) -> "LoanTerms":
        """The ``debt_calc`` input (keys as issue 9 item 5, plus optional ``fees`` and ``rate_changes``):
        numbers as JSON numbers or strings, rates in percent, dates ISO. A ValueError names the field."""
        if not isinstance(data, dict):
            raise ValueError(_("the description must be a JSON object"))
        unknown = sorted(set(data) - JSON_FIELDS)
        if unknown:
            _fail(unknown[0], _("unknown field (expected: %(fields)s)") % {"fields": ", ".join(sorted(JSON_FIELDS))})
        for name in JSON_REQUIRED:
            if data.get(name) in (None, ""):
                _fail(name, _("is required"))
        payments = _list(data.get("payments"), "payments")
        changes = _list(data.get("rate_changes"), "rate_changes")
        return cls(
            principal=_number(data["principal"], "principal"),
            annual_rate=_number(data["annual_rate"], "annual_rate"),
            penalty_rate=_number(data["penalty_rate"], "penalty_rate"),
            compound=_flag(data.get("compound", False), "compound"),
            basis=_basis(data["basis"]),
            interest_from=_date(data["interest_from"], "interest_from"),
            due_date=_date(data["due_date"], "due_date"),
            cutoff=_date(data["cutoff"], "cutoff"),
            payments=tuple(
                Payment(
                    on=_date(_item(row, "date", f"payments[{i}]"), f"payments[{i}].date"),
                    amount=_number(_item(row, "amount", f"payments[{i}]"), f"payments[{i}].amount"),
                )
                for i, row in enumerate(payments)
            ),
            lender_type=data.get("lender_type") or FINANCIAL_INSTITUTION,
            contract_date=_date(data["contract_date"], "contract_date") if data.get("contract_date") else None,
            apply_cap=_flag(data.get("apply_cap", True), "apply_cap"),
            fees=_number(data.get("fees", "0"), "fees"),
            rate_changes=tuple(
                RateChange(
                    on=_date(_item(row, "from", f"rate_changes[{i}]"), f"rate_changes[{i}].from"),
                    annual_rate=_number(_item(row, "annual_rate", f"rate_changes[{i}]"), f"rate_changes[{i}].annual_rate"),
                    penalty_rate=_number(_item(row, "penalty_rate", f"rate_changes[{i}]"), f"rate_changes[{i}].penalty_rate"),
                )
                for i, row in enumerate(changes)
            ),
        )


JSON_REQUIRED = ("principal", "annual_rate", "penalty_rate", "basis", "interest_from", "due_date", "cutoff")
JSON_FIELDS = frozenset(JSON_REQUIRED) | {"compound", "payments", "lender_type", "contract_date", "apply_cap", "fees", "rate_changes"}


def _number(value, field_name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        _fail(field_name, _("must be a number or a string holding one"))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        _fail(field_name, _("“%(value)s” is not a number") % {"value": value})
    if not number.is_finite():
        _fail(field_name, _("“%(value)s” is not a number") % {"value": value})
    return number


def _date(value, field_name: str) -> datetime.date:
    if not isinstance(value, str):
        _fail(field_name, _("must be an ISO date such as 2026-03-01"))
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        _fail(field_name, _("“%(value)s” is not an ISO date such as 2026-03-01") % {"value": value})


def _flag(value, field_name: str) -> bool:
    if not isinstance(value, bool):
        _fail(field_name, _("must be true or false"))
    return value


def _basis(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value).strip() not in ("360", "365"):
        _fail("basis", _("must be 360 or 365"))
    return int(str(value).strip())


def _list(value, field_name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(field_name, _("must be a list"))
    return value


def _item(row, key: str, field_name: str):
    if not isinstance(row, dict):
        _fail(field_name, _("must be an object"))
    if row.get(key) in (None, ""):
        _fail(f"{field_name}.{key}", _("is required"))
    return row[key]


@dataclass(frozen=True)
class Segment:
    """One line of the statement. For accruals ``amount`` is ``exact`` rounded half up to the fen (once); for a
    payment, the amount paid (base) and the formula shows its allocation; for a cap reduction, what came off."""

    start: datetime.date
    end: datetime.date
    days: int
    base: Decimal
    rate: Decimal
    kind: str
    amount: Decimal
    formula: str
    exact: Decimal | None = None
    component: str = ""  # a cap_reduction row: the component reduced (interest, penalty_interest, …, fees, principal)


@dataclass(frozen=True)
class Allocation:
    """How one payment was applied (民法典 art. 561: costs, interest, principal)."""

    on: datetime.date
    amount: Decimal
    fees: Decimal
    interest: Decimal
    penalty_interest: Decimal
    compound_interest: Decimal
    principal: Decimal
    unapplied: Decimal  # more than everything owed on that day


@dataclass(frozen=True)
class CapCheck:
    rule: str  # RULE_FINANCIAL or RULE_PRIVATE_LENDING
    limit: Decimal  # percent a year
    charged: Decimal  # interest + penalty + compound interest + fees at the agreed rates
    allowed: Decimal  # the ceiling: limit on the outstanding principal over the same periods and basis
    reduction: Decimal  # what the cap takes off (reducible when not applied)
    applied: bool
    basis: str  # the rule cited, in words
    lpr: Decimal | None = None  # private lending: the one-year LPR at contract formation
    lpr_date: datetime.date | None = None


@dataclass(frozen=True)
class DebtStatement:
    terms: LoanTerms
    segments: tuple[Segment, ...]
    principal: Decimal
    interest: Decimal
    penalty_interest: Decimal
    compound_interest: Decimal
    fees: Decimal
    total: Decimal
    capped: bool
    cap: CapCheck | None
    conventions: tuple[str, ...]
    allocations: tuple[Allocation, ...]
    cap_reductions: tuple[tuple[str, Decimal], ...] = ()  # (component, amount) taken off by an applied cap

    def as_json(self) -> dict:
        """The ``debt_calc --json`` shape: amounts as strings with two decimals, dates ISO, rates as percent strings."""
        cap = self.cap
        return {
            "principal": _money(self.principal),
            "interest": _money(self.interest),
            "penalty_interest": _money(self.penalty_interest),
            "compound_interest": _money(self.compound_interest),
            "fees": _money(self.fees),
            "total": _money(self.total),
            "capped": self.capped,
            "cap": None
            if cap is None
            else {
                "rule": cap.rule,
                "limit": rate_text(cap.limit),
                "charged": _money(cap.charged),
                "allowed": _money(cap.allowed),
                "reduction": _money(cap.reduction),
                "applied": cap.applied,
                "basis": cap.basis,
                "lpr": None if cap.lpr is None else rate_text(cap.lpr),
                "lpr_date": None if cap.lpr_date is None else cap.lpr_date.isoformat(),
            },
            "segments": [
                {
                    "from": segment.start.isoformat(),
                    "to": segment.end.isoformat(),
                    "days": segment.days,
                    "base": _money(segment.base),
                    "rate": rate_text(segment.rate) if segment.kind in ACCRUALS or segment.kind == CAP_REDUCTION else None,
                    "kind": segment.kind,
                    "amount": _money(segment.amount),
                    "formula": segment.formula,
                    **({"component": segment.component} if segment.component else {}),
                }
                for segment in self.segments
            ],
            "allocations": [
                {
                    "date": allocation.on.isoformat(),
                    "amount": _money(allocation.amount),
                    "fees": _money(allocation.fees),
                    "interest": _money(allocation.interest),
                    "penalty_interest": _money(allocation.penalty_interest),
                    "compound_interest": _money(allocation.compound_interest),
                    "principal": _money(allocation.principal),
                    "unapplied": _money(allocation.unapplied),
                }
                for allocation in self.allocations
            ],
            "conventions": [str(text) for text in self.conventions],
        }


def _money(amount: Decimal) -> str:
    return f"{to_fen(amount):.2f}"


def money_text(amount: Decimal) -> str:
    """15000 → "15,000.00" (the statement's figures)."""
    return f"{to_fen(amount):,.2f}"


def rate_text(rate: Decimal) -> str:
    """A rate in percent as text: two decimals at least (18 → "18.00"), more when it has them (12.775)."""
    return f"{rate:.2f}" if rate == rate.quantize(FEN) else format(rate.normalize(), "f")


def _short_rate(rate: Decimal) -> str:
    """18 → "18", 13.80 → "13.8": the rate as written in a formula."""
    normal = rate.normalize()
    return f"{normal:.0f}" if normal == normal.to_integral_value() else format(normal, "f")


@dataclass
class _Balances:
    fees: Decimal
    principal: Decimal
    interest: Decimal = ZERO
    penalty_interest: Decimal = ZERO
    compound_interest: Decimal = ZERO


# 民法典 art. 561: costs, then interest, then principal. Among interest, the order it fell due: contractual
# interest (due on the due date) before penalty interest, then compound interest (both accrue after it).
ALLOCATION_ORDER = ("fees", "interest", "penalty_interest", "compound_interest", "principal")
# An applied cap takes the excess off compound interest first, then penalty interest, contractual interest and
# fees; charges already paid above the ceiling are set off against principal.
REDUCTION_ORDER = ("compound_interest", "penalty_interest", "interest", "fees", "principal")


@dataclass
class _Run:
    segments: list
    allocations: list
    balances: _Balances
    charged: Decimal  # every accrual line (rounded) + fees, paid or not
    principal_years: Decimal  # Σ principal base × days ÷ basis over the accrual periods, exact


def _allocate(payment: Payment, balances: _Balances) -> Allocation:
    left = payment.amount
    parts = {}
    for component in ALLOCATION_ORDER:
        part = min(left, getattr(balances, component))
        setattr(balances, component, getattr(balances, component) - part)
        parts[component] = part
        left -= part
    return Allocation(on=payment.on, amount=payment.amount, unapplied=left, **parts)


def _payment_segment(allocation: Allocation) -> Segment:
    formula = _(
        "paid %(amount)s: costs %(fees)s, interest %(interest)s, penalty interest %(penalty)s, "
        "compound interest %(compound)s, principal %(principal)s"
    ) % {
        "amount": money_text(allocation.amount),
        "fees": money_text(allocation.fees),
        "interest": money_text(allocation.interest),
        "penalty": money_text(allocation.penalty_interest),
        "compound": money_text(allocation.compound_interest),
        "principal": money_text(allocation.principal),
    }
    if allocation.unapplied:
        formula += _("; %(unapplied)s more than was owed") % {"unapplied": money_text(allocation.unapplied)}
    return Segment(
        start=allocation.on,
        end=allocation.on,
        days=0,
        base=allocation.amount,
        rate=ZERO,
        kind=PAYMENT,
        amount=allocation.amount,
        formula=formula,
    )


def _accrual(*, start, end, base, rate, agreed, kind, basis) -> Segment:
    days = (end - start).days
    # Exact: base × rate% ÷ basis × days, one division at the end; rounded half up to the fen once, for the line.
    exact = base * rate * days / (HUNDRED * basis)
    formula = f"{money_text(base)} × {_short_rate(rate)}% ÷ {basis} × {days}"
    if rate != agreed:
        formula += " " + _("(agreed %(agreed)s%%, reduced to the cap)") % {"agreed": _short_rate(agreed)}
    return Segment(start=start, end=end, days=days, base=base, rate=rate, kind=kind, amount=to_fen(exact), formula=formula, exact=exact)


def _accrue(terms: LoanTerms, rate_cap: Decimal | None) -> _Run:
    """Walk the periods from interest_from to the cut-off at the agreed rates, each reduced to ``rate_cap`` if given."""
    balances = _Balances(fees=terms.fees, principal=terms.principal)
    inside = [terms.due_date, *(payment.on for payment in terms.payments), *(change.on for change in terms.rate_changes)]
    points = sorted({terms.interest_from, terms.cutoff, *(day for day in inside if terms.interest_from < day < terms.cutoff)})
    run = _Run(segments=[], allocations=[], balances=balances, charged=terms.fees, principal_years=ZERO)

    def add(segment: Segment, component: str):
        run.segments.append(segment)
        setattr(balances, component, getattr(balances, component) + segment.amount)
        run.charged += segment.amount

    for index, start in enumerate(points):
        # A payment counts from its own day: the periods before it bore interest on the old balance.
        for payment in (payment for payment in terms.payments if payment.on == start):
            allocation = _allocate(payment, balances)
            run.allocations.append(allocation)
            run.segments.append(_payment_segment(allocation))
        if start == terms.cutoff:
            break
        end = points[index + 1]
        annual, penalty = terms.rates_on(start)
        used_annual, used_penalty = (annual, penalty) if rate_cap is None else (min(annual, rate_cap), min(penalty, rate_cap))
        line = {"start": start, "end": end, "basis": terms.basis}
        if balances.principal > 0:
            run.principal_years += balances.principal * (end - start).days / terms.basis
            if start < terms.due_date:
                add(_accrual(**line, base=balances.principal, rate=used_annual, agreed=annual, kind=INTEREST), "interest")
            else:
                # Penalty interest replaces contractual interest on the overdue principal from the due date.
                add(_accrual(**line, base=balances.principal, rate=used_penalty, agreed=penalty, kind=PENALTY_INTEREST), "penalty_interest")
        if terms.compound and start >= terms.due_date and balances.interest > 0:
            # 复利: unpaid contractual interest, due on the due date, bears interest at the penalty rate.
            add(_accrual(**line, base=balances.interest, rate=used_penalty, agreed=penalty, kind=COMPOUND_INTEREST), "compound_interest")
    return run


def _cap_rule(terms: LoanTerms) -> tuple[str, Decimal, str, Decimal | None, datetime.date | None]:
    if terms.lender_type == FINANCIAL_INSTITUTION:
        basis = _(
            "法发〔2017〕22号 item 2: on the borrower's request, interest, compound interest, penalty interest, default damages and "
            "other fees together above 24% a year are reduced. Ceiling: 24% a year on the outstanding principal over the same "
            "periods and day-count basis."
        )
        return RULE_FINANCIAL, FINANCIAL_CAP_PERCENT, basis, None, None
    quote = lpr.quote_on(terms.contract_date)  # ValueError before 2019-08-20: the old rules apply
    limit = quote * LPR_MULTIPLE
    basis = _(
        "民间借贷规定 (法释〔2020〕17号) arts. 25, 28, 29: agreed interest, overdue interest and fees above four times the one-year "
        "LPR at contract formation are not supported. LPR on %(date)s: %(lpr)s%%, so the ceiling is %(limit)s%% a year; each "
        "period's rate is reduced to it and any excess in total (compound interest, fees) comes off the claim."
    ) % {"date": terms.contract_date.isoformat(), "lpr": rate_text(quote), "limit": rate_text(limit)}
    if terms.contract_date < NEW_PRIVATE_LENDING_RULES:
        basis += " " + _(
            "The contract was formed before 2020-08-20: check the transitional rule (art. 31) — interest up to 2020-08-19 "
            "follows the 2015 rules, later interest four times the LPR at filing."
        )
    return RULE_PRIVATE_LENDING, limit, basis, quote, terms.contract_date


def _conventions(terms: LoanTerms) -> tuple[str, ...]:
    texts = [
        _("Daily rate = annual rate ÷ %(basis)s (the product's day-count basis).") % {"basis": terms.basis},
        _("Days are counted 算头不算尾: the first day counts, the last does not (end date minus start date)."),
        _("Contractual interest runs on the outstanding principal from %(start)s (interest paid up to that date) to the due date %(due)s.")
        % {"start": terms.interest_from.isoformat(), "due": terms.due_date.isoformat()},
        _(
            "From the due date to the cut-off date %(cutoff)s, penalty interest (罚息) at the penalty rate replaces contractual "
            "interest on the overdue principal."
        )
        % {"cutoff": terms.cutoff.isoformat()},
        _(
            "Compound interest (复利) accrues at the penalty rate on contractual interest left unpaid, from the due date; "
            "it is not charged on penalty or compound interest."
        )
        if terms.compound
        else _("The product charges no compound interest."),
        _(
            "Payments settle costs first, then interest in the order it fell due (contractual interest, then penalty interest, "
            "then compound interest), then principal (民法典 art. 561); the new balance bears interest from the payment date."
        ),
    ]
    if terms.rate_changes:
        texts.append(_("A rate change applies from its date; the periods are split there."))
    texts += [
        _("Each line is computed exactly and rounded half up to the fen once; the totals are the sums of the rounded lines."),
        _(
            "An applied cap takes the excess off compound interest first, then penalty interest, contractual interest and fees; "
            "charges already paid above the ceiling are set off against principal."
        ),
        _("Interest after the cut-off date is claimed until the day of actual payment (至实际清偿之日止)."),
    ]
    return tuple(texts)


def calculate(terms: LoanTerms) -> DebtStatement:
    """The statement of ``terms`` on its cut-off date, with the cap of its lender type checked (and applied when
    ``terms.apply_cap``). Raises ValueError for a private loan whose contract predates the LPR (2019-08-20)."""
    rule, limit, basis, quote, quote_date = _cap_rule(terms)
    agreed = _accrue(terms, rate_cap=None)
    # Private lending: each period's rate at most 4× LPR (arts. 25, 28). Financial: rates stand, the total is checked.
    capped_run = _accrue(terms, rate_cap=limit) if rule == RULE_PRIVATE_LENDING else agreed
    allowed = to_fen(capped_run.principal_years * limit / HUNDRED)
    residual = max(ZERO, capped_run.charged - allowed)  # 法发〔2017〕22号 item 2; 民间借贷规定 art. 29 (in total)
    reduction = agreed.charged - capped_run.charged + residual
    applied = terms.apply_cap and reduction > 0
    run = capped_run if applied else agreed
    balances = run.balances
    segments = list(run.segments)
    reductions = []
    if applied and residual > 0:
        left = residual
        for component in REDUCTION_ORDER:
            part = min(left, getattr(balances, component))
            if part > 0:
                setattr(balances, component, getattr(balances, component) - part)
                reductions.append((component, part))
                segments.append(
                    Segment(
                        start=terms.cutoff,
                        end=terms.cutoff,
                        days=0,
                        base=capped_run.charged,
                        rate=limit,
                        kind=CAP_REDUCTION,
                        amount=part,
                        formula=_("charged %(charged)s − allowed %(allowed)s at %(limit)s%% a year: %(part)s off %(component)s")
                        % {
                            "charged": money_text(capped_run.charged),
                            "allowed": money_text(allowed),
                            "limit": _short_rate(limit),
                            "part": money_text(part),
                            "component": COMPONENT_LABELS[component],
                        },
                        component=component,
                    )
                )
            left -= part
    cap = CapCheck(
        rule=rule,
        limit=limit,
        charged=agreed.charged,
        allowed=allowed,
        reduction=reduction,
        applied=applied,
        basis=basis,
        lpr=quote,
        lpr_date=quote_date,
    )
    parts = (balances.principal, balances.interest, balances.penalty_interest, balances.compound_interest, balances.fees)
    return DebtStatement(
        terms=terms,
        segments=tuple(segments),
        principal=balances.principal,
        interest=balances.interest,
        penalty_interest=balances.penalty_interest,
        compound_interest=balances.compound_interest,
        fees=balances.fees,
        total=sum(parts, ZERO),
        capped=applied,
        cap=cap,
        conventions=_conventions(terms),
        allocations=tuple(run.allocations),
        cap_reductions=tuple(reductions),
    )


__all__ = [
    "FINANCIAL_INSTITUTION",
    "PRIVATE_LENDING",
    "Allocation",
    "CapCheck",
    "DebtStatement",
    "LoanTerms",
    "Payment",
    "RateChange",
    "Segment",
    "calculate",
    "money_text",
    "rate_text",
]
