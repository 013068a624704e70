"""Agency scorecards (委外机构考核): how each agency did with the cases placed with it, per placement month.

Everything is counted by **cohort**: the placements that *started* in month M (calendar month in
Asia/Shanghai, the lender's time zone) in bucket B (the overdue bucket recorded on the placement when
it was made). A cohort's numbers keep growing while its placements are worked, so two agencies are
compared like for like only on the same placement month and bucket (landscape.md, user story 7:
"cohorts placed in the same month and bucket"); ``cohort_comparison`` does exactly that.

Definitions (the page's help text says the same):

* **placed** — number of placements in the cohort; **placed balance** — sum of their
  ``balance_at_placement`` (a placement without a recorded balance counts as 0).
* **recovered** — sum of ``CommissionLine.recovered`` on those placements: the money the lender payments
  attributed to the placement in force on the payment date applied to the debt (outsourcing.commissions),
  whenever paid — never the part paid beyond the balance, net of reversals (clawbacks) and of the
  re-application a reversal causes (adjustment lines). Never ``Payment.amount``.
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
denominator is zero is ``None`` and shown as "—". Nothing here loops over placements in Python: each
scorecard is two aggregate queries grouped by agency, month and bucket, the placements and then everything
done on them (read placement by placement or table by table, by the cohort's size: see ``_cells``), and
rows for "every bucket" are sums of the per-bucket cells (rates recomputed from the sums, never averaged).
The page reads the cells once (``cohorts``) and takes from them the table, the default comparison and,
when its cohort is in the range, the like-for-like chart.

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
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from portal.lib.money import format_percent
from portal.lib.months import add_months, month_start, months_between
from tenants.models import Organisation, User

from .models import BUCKETS, CommissionLine, Placement
from .workbench.models import CollectorAssignment, ContactAttempt, Outcome, Party, PromiseStatus, PromiseToPay

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATE_PLACES = Decimal("0.0001")
PER_THOUSAND_PLACES = Decimal("0.1")
ZERO = Decimal("0.00")
MAX_MONTHS = 36  # the widest range a page or export asks for


# ----------------------------------------------------------------- months


def _instant(month: datetime.date) -> datetime.datetime:
    return datetime.datetime(month.year, month.month, 1, tzinfo=SHANGHAI)


def _cohort_q(month_from, month_to, *, bucket=None, partner=None, prefix="") -> Q:
    """Placements started from the first day of month_from up to the end of month_to (Asia/Shanghai)."""
    q = Q(
        **{
            f"{prefix}starts_at__gte": _instant(month_start(month_from)),
            f"{prefix}starts_at__lt": _instant(add_months(month_start(month_to), 1)),
        }
    )
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


SHOWN_PLACES = 1  # a scorecard rate is shown to a tenth of a per cent


def percent(rate: Decimal | None, places: int = SHOWN_PLACES) -> str:
    """0.1234 → "12.3%"; None → "—" (portal.lib.money.format_percent, the one definition)."""
    return format_percent(rate, places)


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


# Up to this many placements, what was done on a cohort is read placement by placement through the indexes on
# placement_id (_PER_PLACEMENT_SQL: a few index probes per placement, whatever the size of the tables); above it,
# by one hash join of the whole tables with the cohort (_PER_TABLE_SQL), which reads every row once but reads them
# all. PostgreSQL does not choose the nested loop by itself: it prices every probe as a random read from disk
# (random_page_cost), so left alone it hashes all 300,000 attempts even for a cohort of a thousand placements.
# Measured at 100,000 placements / 300,000 attempts (bench/bench_scorecards.py on a busy 2-core machine; the whole
# scorecard, min/median of 5 runs, placement by placement against table by table): one month in one bucket
# (1,420 placements) 61/71 ms against 130/168 ms; two months in one bucket (2,837) 181/210 against 210/247; four
# months in one bucket (5,616) 160/274 against 213/235; one month, every bucket (8,495) 278/317 against 155/201;
# two months (16,989) 1,012/1,095 against 158/193. Above ~3,000 placements the nested loop's estimated cost also
# starts PostgreSQL's JIT (20-90 ms of compiling), and the probes get dearer when the pages are not in memory.
PER_PLACEMENT_LIMIT = 4_000


def _cells(month_from, month_to, *, bucket=None, partner=None) -> dict:
    """{(partner_id, month, bucket): Tally}, grouped by agency, month and bucket.

    First the placements themselves (placed and balance: one pass over the placement table); then, chosen by the
    cohort's size now known, what was done on them: contacts, recoveries, attempts and promises."""
    months = _months(month_from, month_to)
    cells: dict = {}

    def cell(partner_id, month_index, cell_bucket):
        return cells.setdefault((partner_id, months[month_index - 1], cell_bucket or ""), Tally())

    placements = Placement.objects.filter(_cohort_q(month_from, month_to, bucket=bucket, partner=partner))
    by_placement = placements.annotate(month=_month_index(months)).values("partner_id", "month", "bucket")
    placed = 0
    for row in by_placement.annotate(
        n=Count("pk"), balance=Coalesce(Sum("balance_at_placement"), Value(ZERO), output_field=DecimalField())
    ).order_by():
        tally = cell(row["partner_id"], row["month"], row["bucket"])
        tally.placed, tally.placed_balance = row["n"], row["balance"]
        placed += row["n"]
    if not placed:
        return cells  # nothing placed: nothing was done on it either
    (_per_placement if placed <= PER_PLACEMENT_LIMIT else _per_table)(placements, months, cell)
    return cells


_PROMISE_COLUMNS = [
    ("promises_kept", PromiseStatus.KEPT),
    ("promises_partly_kept", PromiseStatus.PARTLY_KEPT),
    ("promises_broken", PromiseStatus.BROKEN),
    ("promises_pending", PromiseStatus.PENDING),
]
_PROMISE_STATUSES = [status for _name, status in _PROMISE_COLUMNS]


# A small cohort: for each placement, whether its agency reached the debtor (the partial index
# wb_attempt_placement_contact, index only), its lines, its agency's attempts and its promises, through the indexes
# on placement_id (commission lines' and promises' foreign-key indexes, wb_attempt_placement_recent); then summed
# per cell. LATERAL makes it a nested loop over the cohort whatever the planner would price a hash join at. Sums
# over no rows are NULL: no commission line means the cell keeps its zero, exactly as in _per_table.
_PER_PLACEMENT_SQL = """
WITH cohort AS MATERIALIZED ({cohort})
SELECT c.partner_id, c.month, c.bucket,
       COUNT(*) FILTER (WHERE EXISTS (SELECT FROM {attempt} r WHERE r.placement_id = c.id AND r.organisation_id = c.partner_id
                                                                  AND r.party_reached = %s)),
       SUM(m.recovered), SUM(m.commission), SUM(a.attempts), SUM(a.complaints),
       SUM(p.kept), SUM(p.partly_kept), SUM(p.broken), SUM(p.pending)
FROM cohort c
CROSS JOIN LATERAL (SELECT SUM(l.recovered) AS recovered, SUM(l.commission) AS commission
                    FROM {line} l WHERE l.placement_id = c.id) m
CROSS JOIN LATERAL (SELECT COUNT(*) AS attempts, COUNT(*) FILTER (WHERE t.outcome = %s) AS complaints
                    FROM {attempt} t WHERE t.placement_id = c.id AND t.organisation_id = c.partner_id) a
CROSS JOIN LATERAL (SELECT COUNT(*) FILTER (WHERE s.status = %s) AS kept, COUNT(*) FILTER (WHERE s.status = %s) AS partly_kept,
                           COUNT(*) FILTER (WHERE s.status = %s) AS broken, COUNT(*) FILTER (WHERE s.status = %s) AS pending
                    FROM {promise} s WHERE s.placement_id = c.id) p
GROUP BY 1, 2, 3
"""


# A large cohort: every row that may count, from all four sources at once (one kind number each), joined once with
# the cohort's placements and summed per cell. One pass over the placement table and one hash of it, instead of
# one per source; PostgreSQL runs it in parallel (Parallel Append under a Parallel Hash Join). The contact rate's
# numerator comes from the partial index wb_attempt_placement_contact alone: one row per placement and agency
# that reached the debtor (DISTINCT), counted when the agency is the placement's. Measured at 100,000 placements:
# ~265 ms against ~405 ms for the same four sums as four separate joins (medians, busy 2-core machine).
_REACHED, _ATTEMPT, _LINE, _PROMISE = 1, 2, 3, 4
_PER_TABLE_SQL = f"""
SELECT c.partner_id, c.month, c.bucket,
       COUNT(*) FILTER (WHERE f.kind = {_REACHED} AND f.agency = c.partner_id),
       SUM(f.recovered), SUM(f.commission),
       COUNT(*) FILTER (WHERE f.kind = {_ATTEMPT} AND f.agency = c.partner_id),
       COUNT(*) FILTER (WHERE f.kind = {_ATTEMPT} AND f.agency = c.partner_id AND f.detail = %s),
       COUNT(*) FILTER (WHERE f.kind = {_PROMISE} AND f.detail = %s), COUNT(*) FILTER (WHERE f.kind = {_PROMISE} AND f.detail = %s),
       COUNT(*) FILTER (WHERE f.kind = {_PROMISE} AND f.detail = %s), COUNT(*) FILTER (WHERE f.kind = {_PROMISE} AND f.detail = %s)
FROM (SELECT DISTINCT placement_id, organisation_id AS agency, {_REACHED} AS kind, NULL::varchar AS detail,
                      NULL::numeric AS recovered, NULL::numeric AS commission
      FROM {{attempt}} WHERE party_reached = %s
      UNION ALL SELECT placement_id, organisation_id, {_ATTEMPT}, outcome, NULL, NULL FROM {{attempt}}
      UNION ALL SELECT placement_id, NULL, {_LINE}, NULL, recovered, commission FROM {{line}}
      UNION ALL SELECT placement_id, NULL, {_PROMISE}, status, NULL, NULL FROM {{promise}}) f
JOIN ({{cohort}}) c ON c.id = f.placement_id
GROUP BY 1, 2, 3
"""


def _cohort_sql(placements, months):
    """The cohort's placements as SQL: id, partner_id, month (1, 2, … in the range), bucket (columns by name)."""
    return placements.annotate(month=_month_index(months)).order_by().values("id", "partner_id", "month", "bucket").query.sql_with_params()


def _tables():
    return {"line": CommissionLine._meta.db_table, "attempt": ContactAttempt._meta.db_table, "promise": PromiseToPay._meta.db_table}


def _per_placement(placements, months, cell) -> None:
    cohort_sql, cohort_params = _cohort_sql(placements, months)
    sql = _PER_PLACEMENT_SQL.format(cohort=cohort_sql, **_tables())
    _add_done(sql, [*cohort_params, Party.DEBTOR, Outcome.COMPLAINT, *_PROMISE_STATUSES], cell)


def _per_table(placements, months, cell) -> None:
    cohort_sql, cohort_params = _cohort_sql(placements, months)
    sql = _PER_TABLE_SQL.format(cohort=cohort_sql, **_tables())
    _add_done(sql, [Outcome.COMPLAINT, *_PROMISE_STATUSES, Party.DEBTOR, *cohort_params], cell)  # in the order of the SQL text


def _add_done(sql, params, cell) -> None:
    """Both methods' rows: partner, month index, bucket, reached, recovered, commission, attempts, complaints and the
    four promise counts. A sum over no rows is NULL: a cell without commission lines keeps its zero."""
    with connection.cursor() as db:
        db.execute(sql, params)
        found = db.fetchall()
    for partner_id, month_index, cell_bucket, reached, recovered, commission, attempts, complaints, *promises in found:
        tally = cell(partner_id, month_index, cell_bucket)
        if recovered is not None:
            tally.recovered, tally.commission = recovered, commission
        # int(): a SUM of counts (the per-placement method) is numeric in PostgreSQL.
        tally.reached, tally.attempts, tally.complaints = int(reached), int(attempts), int(complaints)
        for (name, _status), value in zip(_PROMISE_COLUMNS, promises, strict=True):
            setattr(tally, name, int(value))


def _names(partner_ids) -> dict:
    return dict(Organisation.objects.filter(pk__in=list(partner_ids)).values_list("pk", "name"))


def _sorted(rows):
    return sorted(rows, key=lambda r: (-(r.month.year * 12 + r.month.month), r.partner_name, r.bucket))


@dataclass
class Cohorts:
    """The cells of one range of placement months (only ``bucket``'s and ``partner``'s placements if given), read
    once, and what a page shows of them: the table (``rows``), the default comparison (``busiest``) and the
    like-for-like chart (``comparison``), each the same as the function of this module that reads it alone."""

    month_from: datetime.date
    month_to: datetime.date
    bucket: str | None
    partner_id: object
    cells: dict
    names: dict

    def rows(self, by_bucket: bool = False) -> list[ScorecardRow]:
        """What ``agency_scorecards`` returns for the same arguments."""
        rows: dict = {}
        for (cell_partner, month, cell_bucket), tally in self.cells.items():
            key = (cell_partner, month, cell_bucket if by_bucket else (self.bucket or ""))
            row = rows.setdefault(
                key,
                ScorecardRow(
                    partner_id=cell_partner, partner_name=self.names.get(cell_partner, str(cell_partner)), month=month, bucket=key[2]
                ),
            )
            row.add(tally)
        return _sorted(rows.values())

    def busiest(self) -> tuple[datetime.date, str] | None:
        """What ``busiest_cohort`` returns for the range and partner (its placements of every bucket)."""
        if self.bucket is not None:  # the cells hold one bucket only: ask the placement table
            return busiest_cohort(self.month_from, self.month_to, partner=self.partner_id)
        placed: dict = {}
        for (_partner, month, cell_bucket), tally in self.cells.items():
            placed[month, cell_bucket] = placed.get((month, cell_bucket), 0) + tally.placed
        if not placed:
            return None
        # Latest month, then its largest bucket, ties to the first bucket (busiest_cohort's ORDER BY; M1…M6+ sort alike here and there).
        return min(placed, key=lambda key: (-(key[0].year * 12 + key[0].month), -placed[key], key[1]))

    def compared_cohort(self, month: datetime.date | None = None, bucket: str | None = None) -> tuple[datetime.date, str]:
        """The cohort (placement month, bucket) a page compares agencies on: the one asked for; what is missing of it
        defaults to the latest month with placements and its largest bucket (with the range limited to one bucket, the
        latest month that bucket had placements), so that the chart is never an empty cohort when one has placements;
        with no placements at all, the range's last month and its bucket (or the first bucket)."""
        if not (month and bucket):
            if self.bucket:
                placed_months = [row.month for row in self.rows() if row.placed]
                default = (max(placed_months), self.bucket) if placed_months else None
            else:
                default = self.busiest()
            if default is not None:
                month, bucket = month or default[0], bucket or default[1]
        return month or self.month_to, bucket or self.bucket or BUCKETS[0]

    def comparison(self, month: datetime.date, bucket: str) -> list[ScorecardRow]:
        """What ``cohort_comparison(month, bucket, partner)`` returns: from these cells when they hold that cohort
        (a month of the range, and the range not limited to another bucket), else by asking the database."""
        month = month_start(month)
        if not bucket or not (month_start(self.month_from) <= month <= month_start(self.month_to)) or self.bucket not in (None, bucket):
            return cohort_comparison(month, bucket, partner=self.partner_id)
        rows = [
            ScorecardRow(partner_id=cell_partner, partner_name=self.names.get(cell_partner, str(cell_partner)), month=month, bucket=bucket)
            for (cell_partner, cell_month, cell_bucket) in self.cells
            if cell_month == month and cell_bucket == bucket
        ]
        for row in rows:
            row.add(self.cells[row.partner_id, month, bucket])
        return sorted(_sorted(rows), key=lambda r: r.partner_name)


def cohorts(month_from: datetime.date, month_to: datetime.date, bucket: str | None = None, partner=None) -> Cohorts:
    """Read the cells of month_from..month_to once (see ``Cohorts``)."""
    partner_id = getattr(partner, "pk", partner)
    cells = _cells(month_from, month_to, bucket=bucket, partner=partner_id)
    return Cohorts(
        month_from=month_from, month_to=month_to, bucket=bucket, partner_id=partner_id, cells=cells, names=_names({key[0] for key in cells})
    )


def agency_scorecards(
    month_from: datetime.date, month_to: datetime.date, bucket: str | None = None, partner=None, *, by_bucket: bool = False
) -> list[ScorecardRow]:
    """One row per agency and placement month (and bucket, with ``by_bucket``), newest month first.

    ``bucket`` keeps only that bucket's placements; ``partner`` (an Organisation or its id) only that
    agency's — what an agency is shown of itself, computed by the same queries as the lender's view.
    """
    return cohorts(month_from, month_to, bucket=bucket, partner=partner).rows(by_bucket=by_bucket)


def cohort_comparison(month: datetime.date, bucket: str, partner=None) -> list[ScorecardRow]:
    """Like for like: every agency's cohort of one placement month and one bucket (only ``partner``'s if given)."""
    rows = agency_scorecards(month_start(month), month_start(month), bucket=bucket, partner=partner)
    return sorted(rows, key=lambda r: r.partner_name)


def busiest_cohort(month_from, month_to, partner=None) -> tuple[datetime.date, str] | None:
    """The latest placement month in the range with placements, and its largest bucket (the page's default comparison)."""
    months = _months(month_from, month_to)
    row = (
        Placement.objects.filter(_cohort_q(month_from, month_to, partner=getattr(partner, "pk", partner)))
        .annotate(month=_month_index(months))
        .values("month", "bucket")
        .annotate(n=Count("pk"))
        .order_by("-month", "-n", "bucket")
        .first()
    )
    if row is None:
        return None
    return months[row["month"] - 1], row["bucket"]


def collector_scorecards(
    partner, month_from: datetime.date, month_to: datetime.date | None = None, bucket: str | None = None
) -> list[CollectorRow]:
    """The agency's collectors on its cohorts of month_from..month_to (see the module's note for who gets what)."""
    partner_id = getattr(partner, "pk", partner)
    month_to = month_to or month_from
    cohort = _cohort_q(month_from, month_to, bucket=bucket, partner=partner_id, prefix="placement__")
    rows: dict = {}

    def row_for(collector_id):
        return rows.setdefault(collector_id, CollectorRow(collector_id=collector_id))

    attempts = (
        ContactAttempt.objects.filter(cohort, organisation_id=partner_id)
        .values("collector_id")
        .annotate(attempts_n=Count("pk"), contacts_n=Count("pk", filter=Q(party_reached=Party.DEBTOR)))
        .order_by()
    )
    for item in attempts:
        row = row_for(item["collector_id"])
        row.attempts, row.contacts = item["attempts_n"], item["contacts_n"]

    promises = (
        PromiseToPay.objects.filter(cohort)
        .values("attempt__collector_id")
        .annotate(total=Count("pk"), **{name: Count("pk", filter=Q(status=status)) for name, status in _PROMISE_COLUMNS[:3]})
        .order_by()
    )
    for item in promises:
        row = row_for(item["attempt__collector_id"])
        row.promises = item["total"]
        for name, _status in _PROMISE_COLUMNS[:3]:
            setattr(row, name, item[name])

    # Who had the case on the payment's own date (a clawback is dated its reversal, but goes to whoever the
    # payment was credited to). A placement with an assignment history but none by that date: nobody. One with
    # no history at all (assigned before histories were kept): its current collector.
    assignments = CollectorAssignment.objects.filter(placement_id=OuterRef("placement_id"))
    history = assignments.annotate(day=TruncDate("assigned_at", tzinfo=SHANGHAI)).filter(day__lte=OuterRef("payment__paid_on"))
    assignee = Case(
        When(Exists(history), then=Subquery(history.order_by("-assigned_at", "-id").values("collector_id")[:1])),
        When(Exists(assignments), then=Value(None)),
        default=F("placement__assigned_to_id"),
        output_field=BigIntegerField(),
    )
    money = (
        CommissionLine.objects.filter(cohort)
        .annotate(assignee=assignee)
        .values("assignee")
        .annotate(recovered_sum=Sum("recovered"))
        .order_by()
    )
    for item in money:
        row_for(item["assignee"]).recovered = item["recovered_sum"]

    names = {
        pk: full_name or email
        for pk, full_name, email in User.objects.filter(pk__in=[pk for pk in rows if pk is not None]).values_list(
            "pk", "full_name", "email"
        )
    }
    for row in rows.values():
        row.name = names.get(row.collector_id, "")
    # Named collectors by name; the row of work nobody is credited with (unassigned) last.
    return sorted(rows.values(), key=lambda r: (r.collector_id is None, r.name))


# ------------------------------------------------------------------ export rows
def _blank(value):
    return "" if value is None else value


def agency_export_rows(rows: list[ScorecardRow]) -> list[list]:
    """The agency table as spreadsheet rows, header first (rates as fractions; a rate with no base is left empty)."""
    from django.utils.translation import gettext as _

    header = [
        _("Agency"),
        _("Placement month"),
        _("Bucket"),
        _("Placed"),
        _("Placed balance"),
        _("Recovered"),
        _("Recovery rate"),
        _("Contact rate"),
        _("Promise-kept rate"),
        _("Complaints"),
        _("Complaints per 1,000 placements"),
        _("Commission"),
        _("Commission per yuan recovered"),
    ]
    return [
        header,
        *(
            [
                r.partner_name,
                r.month.strftime("%Y-%m"),
                r.bucket or _("Every bucket"),
                r.placed,
                r.placed_balance,
                r.recovered,
                _blank(r.recovery_rate),
                _blank(r.contact_rate),
                _blank(r.promise_kept_rate),
                r.complaints,
                _blank(r.complaints_per_thousand),
                r.commission,
                _blank(r.commission_per_yuan),
            ]
            for r in rows
        ),
    ]


def collector_export_rows(rows: list[CollectorRow]) -> list[list]:
    """An agency's collector table as spreadsheet rows, header first."""
    from django.utils.translation import gettext as _

    header = [
        _("Collector"),
        _("Attempts"),
        _("Contacts with the debtor"),
        _("Promises"),
        _("Kept"),
        _("Partly kept"),
        _("Broken"),
        _("Promise-kept rate"),
        _("Recovered"),
    ]
    return [
        header,
        *(
            [
                r.name or _("Not assigned"),
                r.attempts,
                r.contacts,
                r.promises,
                r.promises_kept,
                r.promises_partly_kept,
                r.promises_broken,
                _blank(r.promise_kept_rate),
                r.recovered,
            ]
            for r in rows
        ),
    ]
