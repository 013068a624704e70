"""Agency scorecards (委外机构考核): how each agency did with the cases placed with it, per placement month.

Everything is counted by **cohort**: the placements that *started* in month M (calendar month in
Asia/Shanghai, the lender's time zone) in bucket B (the overdue bucket recorded on the placement when
it was made). A cohort's numbers keep growing while its placements are worked, so two agencies are
compared like for like only on the same placement month and bucket (landscape.md, user story 7:
"cohorts placed in the same month and bucket"); ``cohort_comparison`` does exactly that.

Definitions (the page's help text says the same):

* **placed** — number of placements in the cohort; **placed balance** — sum of their
  ``balance_at_placement`` (a placement without a recorded balance counts as 0).
* **recovered** — sum of ``CommissionLine.recovered`` on those placements: the lender payments
  attributed to the placement in force on the payment date (outsourcing.commissions), whenever paid.
  **commission** — sum of the same lines' ``commission``.
* **recovery rate** — recovered ÷ placed balance.
* **contact rate** — placements with at least one attempt by the agency that reached the debtor
  (``party_reached = "debtor"``, which the database allows only with a verified identity) ÷ placed.
* **promise-kept rate** — kept ÷ (kept + partly kept + broken) promises to pay made on those
  placements; pending promises are left out (not decided yet).
* **complaints** — the agency's attempts on those placements closed with the outcome "complaint";
  also per 1,000 placements.
* **commission per yuan recovered** — commission ÷ recovered.

Rates are ``Decimal`` fractions rounded half up to 4 places (0.1234 = 12.34 %); a rate whose
denominator is zero is ``None`` and shown as "—". Nothing here loops over placements: each scorecard
is five aggregate queries grouped by agency, month and bucket, and rows for "every bucket" are sums of
the per-bucket cells (rates recomputed from the sums, never averaged).

The collector table (催员报表) uses the same cohorts, limited to one agency, grouped by collector:
attempts and contacts with the debtor by the collector who made them, promises (and kept) by the
collector whose call obtained them, recovered by the collector the placement was assigned to on the
payment date (the last CollectorAssignment on or before that day; the current assignee if the
placement has no assignment history).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.contrib.postgres.fields import ArrayField
from django.db.models import (BigIntegerField, Case, Count, DateTimeField, DecimalField, Exists, F, Func, IntegerField, OuterRef, Q,
                              Subquery, Sum, Value, When)
from django.db.models.functions import Coalesce, TruncDate

from tenants.models import Organisation, User

from .models import CommissionLine, Placement
from .workbench.models import CollectorAssignment, ContactAttempt, Outcome, Party, PromiseStatus, PromiseToPay

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATE_PLACES = Decimal("0.0001")
PER_THOUSAND_PLACES = Decimal("0.1")
ZERO = Decimal("0.00")
MAX_MONTHS = 36  # the widest range a page or export asks for


# ----------------------------------------------------------------- months


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_between(month_from: datetime.date, month_to: datetime.date) -> int:
    """How many months the range covers, both ends included."""
    return (month_to.year - month_from.year) * 12 + month_to.month - month_from.month + 1


def _instant(month: datetime.date) -> datetime.datetime:
    return datetime.datetime(month.year, month.month, 1, tzinfo=SHANGHAI)


def _cohort_q(month_from, month_to, *, bucket=None, partner=None, prefix="") -> Q:
    """Placements started from the first day of month_from up to the end of month_to (Asia/Shanghai)."""
    q = Q(**{f"{prefix}starts_at__gte": _instant(month_start(month_from)),
             f"{prefix}starts_at__lt": _instant(add_months(month_start(month_to), 1))})
    if bucket is not None:
        q &= Q(**{f"{prefix}bucket": bucket})
    if partner is not None:
        q &= Q(**{f"{prefix}partner": partner})
    return q


class _MonthIndex(Func):
    """1 for placements started in the range's first month, 2 for the next, … (PostgreSQL width_bucket over the
    months' first instants): a binary search per row instead of a time-zone conversion and date_trunc."""

    function = "width_bucket"
    output_field = IntegerField()


def _months(month_from, month_to) -> list[datetime.date]:
    first = month_start(month_from)
    return [add_months(first, i) for i in range(months_between(first, month_start(month_to)))]


def _month_index(months, prefix=""):
    return _MonthIndex(F(f"{prefix}starts_at"), Value([_instant(m) for m in months], output_field=ArrayField(DateTimeField())))


# ----------------------------------------------------------------- rates


def ratio(numerator, denominator, places=RATE_PLACES) -> Decimal | None:
    """numerator ÷ denominator as a Decimal rounded half up, or None when the denominator is zero."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


def percent(rate: Decimal | None, places=Decimal("0.1")) -> str:
    """0.12345 → "12.3%"; None → "—"."""
    if rate is None:
        return "—"
    return f"{(rate * 100).quantize(places, rounding=ROUND_HALF_UP)}%"


# ----------------------------------------------------------------- rows


@dataclass
class Tally:
    """The additive counts of a cohort (or of a sum of cohorts); rates are derived from them."""

    placed: int = 0
    placed_balance: Decimal = ZERO
    recovered: Decimal = ZERO
    commission: Decimal = ZERO
    reached: int = 0  # placements with at least one verified contact with the debtor
    attempts: int = 0
    complaints: int = 0
    promises_kept: int = 0
    promises_partly_kept: int = 0
    promises_broken: int = 0
    promises_pending: int = 0

    def add(self, other: Tally):
        for item in fields(Tally):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @property
    def promises_decided(self) -> int:
        return self.promises_kept + self.promises_partly_kept + self.promises_broken

    @property
    def recovery_rate(self):
        return ratio(self.recovered, self.placed_balance)

    @property
    def contact_rate(self):
        return ratio(self.reached, self.placed)

    @property
    def promise_kept_rate(self):
        return ratio(self.promises_kept, self.promises_decided)

    @property
    def complaints_per_thousand(self):
        return ratio(self.complaints * 1000, self.placed, PER_THOUSAND_PLACES)

    @property
    def commission_per_yuan(self):
        return ratio(self.commission, self.recovered)

    # Shown on pages and in exports.
    @property
    def recovery_rate_display(self):
        return percent(self.recovery_rate)

    @property
    def contact_rate_display(self):
        return percent(self.contact_rate)

    @property
    def promise_kept_rate_display(self):
        return percent(self.promise_kept_rate)

    @property
    def complaints_per_thousand_display(self):
        value = self.complaints_per_thousand
        return "—" if value is None else str(value)

    @property
    def commission_per_yuan_display(self):
        value = self.commission_per_yuan
        return "—" if value is None else f"¥{value}"


@dataclass
class ScorecardRow(Tally):
    """One agency's cohort(s): placement month and bucket ("" in ``bucket`` = every bucket together)."""

    partner_id: object = None
    partner_name: str = ""
    month: datetime.date | None = None
    bucket: str = ""


@dataclass
class CollectorRow:
    """One collector's work on an agency's cohorts."""

    collector_id: int | None = None
    name: str = ""
    attempts: int = 0
    contacts: int = 0  # attempts that reached the debtor (identity verified)
    promises: int = 0  # every promise obtained, pending included
    promises_kept: int = 0
    promises_partly_kept: int = 0
    promises_broken: int = 0
    recovered: Decimal = ZERO

    @property
    def promise_kept_rate(self):
        return ratio(self.promises_kept, self.promises_kept + self.promises_partly_kept + self.promises_broken)

    @property
    def promise_kept_rate_display(self):
        return percent(self.promise_kept_rate)


# ----------------------------------------------------------------- queries


def _cells(month_from, month_to, *, bucket=None, partner=None) -> dict:
    """{(partner_id, month, bucket): Tally} from five aggregate queries, each grouped by agency, month and bucket."""
    months = _months(month_from, month_to)
    cells: dict = {}

    def cell(row, partner_key="partner_id", month_key="month", bucket_key="bucket"):
        return cells.setdefault((row[partner_key], months[row[month_key] - 1], row[bucket_key] or ""), Tally())

    placements = Placement.objects.filter(_cohort_q(month_from, month_to, bucket=bucket, partner=partner))
    by_placement = placements.annotate(month=_month_index(months)).values("partner_id", "month", "bucket")
    for row in by_placement.annotate(n=Count("pk"), balance=Coalesce(Sum("balance_at_placement"), Value(ZERO),
                                                                    output_field=DecimalField())).order_by():
        tally = cell(row)
        tally.placed, tally.placed_balance = row["n"], row["balance"]

    # Contact rate's numerator: a semi-join (placements with at least one debtor contact by their agency).
    debtor_reached = ContactAttempt.objects.filter(placement_id=OuterRef("pk"), organisation_id=OuterRef("partner_id"), party_reached=Party.DEBTOR)
    for row in by_placement.filter(Exists(debtor_reached)).annotate(n=Count("pk")).order_by():
        cell(row).reached = row["n"]

    by_cohort = {"p_partner": F("placement__partner_id"), "p_month": _month_index(months, "placement__"), "p_bucket": F("placement__bucket")}
    keys = {"partner_key": "p_partner", "month_key": "p_month", "bucket_key": "p_bucket"}
    cohort = _cohort_q(month_from, month_to, bucket=bucket, partner=partner, prefix="placement__")

    money = (CommissionLine.objects.filter(cohort).annotate(**by_cohort).values("p_partner", "p_month", "p_bucket")
             .annotate(recovered_sum=Sum("recovered"), commission_sum=Sum("commission")).order_by())
    for row in money:
        tally = cell(row, **keys)
        tally.recovered, tally.commission = row["recovered_sum"], row["commission_sum"]

    attempts = (ContactAttempt.objects.filter(cohort, organisation_id=F("placement__partner_id")).annotate(**by_cohort)
                .values("p_partner", "p_month", "p_bucket")
                .annotate(attempts_n=Count("pk"), complaints_n=Count("pk", filter=Q(outcome=Outcome.COMPLAINT))).order_by())
    for row in attempts:
        tally = cell(row, **keys)
        tally.attempts, tally.complaints = row["attempts_n"], row["complaints_n"]

    promises = (PromiseToPay.objects.filter(cohort).annotate(**by_cohort).values("p_partner", "p_month", "p_bucket")
                .annotate(**{name: Count("pk", filter=Q(status=status)) for name, status in _PROMISE_COLUMNS})
                .order_by())
    for row in promises:
        tally = cell(row, **keys)
        for name, _status in _PROMISE_COLUMNS:
            setattr(tally, name, row[name])
    return cells


_PROMISE_COLUMNS = [("promises_kept", PromiseStatus.KEPT), ("promises_partly_kept", PromiseStatus.PARTLY_KEPT),
                    ("promises_broken", PromiseStatus.BROKEN), ("promises_pending", PromiseStatus.PENDING)]


def _names(partner_ids) -> dict:
    return dict(Organisation.objects.filter(pk__in=list(partner_ids)).values_list("pk", "name"))


def agency_scorecards(month_from: datetime.date, month_to: datetime.date, bucket: str | None = None, partner=None, *,
                      by_bucket: bool = False) -> list[ScorecardRow]:
    """One row per agency and placement month (and bucket, with ``by_bucket``), newest month first.

    ``bucket`` keeps only that bucket's placements; ``partner`` (an Organisation or its id) only that
    agency's — what an agency is shown of itself, computed by the same queries as the lender's view.
    """
    partner_id = getattr(partner, "pk", partner)
    cells = _cells(month_from, month_to, bucket=bucket, partner=partner_id)
    rows: dict = {}
    for (cell_partner, month, cell_bucket), tally in cells.items():
        key = (cell_partner, month, cell_bucket if by_bucket else (bucket or ""))
        row = rows.setdefault(key, ScorecardRow(partner_id=cell_partner, month=month, bucket=key[2]))
        row.add(tally)
    names = _names({key[0] for key in rows})
    for row in rows.values():
        row.partner_name = names.get(row.partner_id, str(row.partner_id))
    return sorted(rows.values(), key=lambda r: (-(r.month.year * 12 + r.month.month), r.partner_name, r.bucket))


def cohort_comparison(month: datetime.date, bucket: str, partner=None) -> list[ScorecardRow]:
    """Like for like: every agency's cohort of one placement month and one bucket (only ``partner``'s if given)."""
    rows = agency_scorecards(month_start(month), month_start(month), bucket=bucket, partner=partner)
    return sorted(rows, key=lambda r: r.partner_name)


def busiest_cohort(month_from, month_to, partner=None) -> tuple[datetime.date, str] | None:
    """The latest placement month in the range with placements, and its largest bucket (the page's default comparison)."""
    months = _months(month_from, month_to)
    row = (Placement.objects.filter(_cohort_q(month_from, month_to, partner=getattr(partner, "pk", partner)))
           .annotate(month=_month_index(months)).values("month", "bucket").annotate(n=Count("pk")).order_by("-month", "-n", "bucket").first())
    if row is None:
        return None
    return months[row["month"] - 1], row["bucket"]


def collector_scorecards(partner, month_from: datetime.date, month_to: datetime.date | None = None, bucket: str | None = None
                         ) -> list[CollectorRow]:
    """The agency's collectors on its cohorts of month_from..month_to (see the module's note for who gets what)."""
    partner_id = getattr(partner, "pk", partner)
    month_to = month_to or month_from
    cohort = _cohort_q(month_from, month_to, bucket=bucket, partner=partner_id, prefix="placement__")
    rows: dict = {}

    def row_for(collector_id):
        return rows.setdefault(collector_id, CollectorRow(collector_id=collector_id))

    attempts = (ContactAttempt.objects.filter(cohort, organisation_id=partner_id).values("collector_id")
                .annotate(attempts_n=Count("pk"), contacts_n=Count("pk", filter=Q(party_reached=Party.DEBTOR))).order_by())
    for item in attempts:
        row = row_for(item["collector_id"])
        row.attempts, row.contacts = item["attempts_n"], item["contacts_n"]

    promises = (PromiseToPay.objects.filter(cohort).values("attempt__collector_id")
                .annotate(total=Count("pk"), **{name: Count("pk", filter=Q(status=status)) for name, status in _PROMISE_COLUMNS[:3]})
                .order_by())
    for item in promises:
        row = row_for(item["attempt__collector_id"])
        row.promises = item["total"]
        for name, _status in _PROMISE_COLUMNS[:3]:
            setattr(row, name, item[name])

    history = (CollectorAssignment.objects.filter(placement_id=OuterRef("placement_id"))
               .annotate(day=TruncDate("assigned_at", tzinfo=SHANGHAI)).filter(day__lte=OuterRef("paid_on")))
    assignee = Case(When(Exists(history), then=Subquery(history.order_by("-assigned_at", "-id").values("collector_id")[:1])),
                    default=F("placement__assigned_to_id"), output_field=BigIntegerField())
    money = (CommissionLine.objects.filter(cohort).annotate(assignee=assignee).values("assignee")
             .annotate(recovered_sum=Sum("recovered")).order_by())
    for item in money:
        row_for(item["assignee"]).recovered = item["recovered_sum"]

    names = {pk: full_name or email for pk, full_name, email in
             User.objects.filter(pk__in=[pk for pk in rows if pk is not None]).values_list("pk", "full_name", "email")}
    for row in rows.values():
        row.name = names.get(row.collector_id, "")
    # Named collectors by name; the row of work nobody is credited with (unassigned) last.
    return sorted(rows.values(), key=lambda r: (r.collector_id is None, r.name))
