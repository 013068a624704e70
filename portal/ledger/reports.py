"""Net recovery (净回收): what was recovered, what collecting it cost, and the cost per yuan recovered.

Read from the fee ledger (portal.ledger.models), never from the operational tables, so the figures are the
books' figures (issue 10 item 2; reliability-and-security.md §4: one source of truth for money).

* recovered = − Σ legs on ``recoveries`` (a credit-normal account: a payment applied credits it, a reversal
  debits it back);
* cost of collection = Σ legs on the COST_ACCOUNTS (debit-normal: commissions, legal fees, court fees advanced,
  preservation and service costs, field visits, other legal costs); ``court_costs_recovered`` is among them as
  a credit, so costs the court ordered the debtor to bear (诉讼费用交纳办法 art. 29) and that came back reduce
  the cost;
* net recovery = recovered − cost; cost per yuan recovered = cost ÷ recovered, None when nothing (or less
  than nothing, after reversals) was recovered. Only the display rounds it (``format_ratio``).

The portfolio and its cuts — by month (trend), counterparty (agencies and law firms, with one row for what no
partner had), product and placement (cohort) month — come from ONE query over ``LedgerTotal`` (kept by the
``ledger_leg_totals`` trigger) with GROUPING SETS, so the dashboard reads a few thousand total rows however
many legs the ledger holds. The same query runs over the legs (``source=LEGS``) only to check the totals
against a plain SUM (tests, bench/bench_net_recovery.py). Per case, the legs are read by the (case, account)
index. All money is Decimal, summed exactly by PostgreSQL (numeric) and never rounded here: sums of amounts
in fen stay in fen, so the cuts reconcile to the portfolio to the fen.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils.translation import gettext as _

from portal.lib import months

from .models import COST_ACCOUNTS, Account, CounterpartyKind, LedgerLeg, LedgerTotal

ZERO = Decimal("0.00")
COSTS = tuple(str(account) for account in COST_ACCOUNTS)
# Cash and unapplied money are not net recovery; what is still owed to partners is shown beside it (statements paid
# through Stripe debit it: portal.fees settlement).
READ_ACCOUNTS = (str(Account.RECOVERIES), str(Account.PARTNER_PAYABLE)) + COSTS
RATIO_PLACES = Decimal("0.0001")  # cost per yuan shown to the hundredth of a fen
MAX_MONTHS = 60  # the widest range the dashboard accepts (five years of trend)

TOTALS, LEGS = "totals", "legs"


# ------------------------------------------------------------------ figures


@dataclass(frozen=True)
class Figures:
    """Recovered and each cost account's balance for one slice of the ledger."""

    recovered: Decimal = ZERO
    costs: dict = field(default_factory=dict)  # account → debit balance (court_costs_recovered ≤ 0)
    owed: Decimal = ZERO  # to partners: fees earned and not yet settled (− Σ partner_payable, credit-normal)

    @property
    def cost(self) -> Decimal:
        return sum(self.costs.values(), ZERO)

    @property
    def net(self) -> Decimal:
        return self.recovered - self.cost

    @property
    def cost_per_yuan(self) -> Decimal | None:
        """Cost ÷ recovered, unrounded; None when nothing was recovered (no yuan to divide by)."""
        if self.recovered <= 0:
            return None
        return self.cost / self.recovered

    @property
    def cost_per_yuan_display(self) -> str:
        return format_ratio(self.cost_per_yuan)

    @property
    def cost_lines(self) -> list[tuple[str, str, Decimal]]:
        """(account, label, amount) for each cost account with a balance, in the chart's order."""
        labels = dict(Account.choices)
        return [(account, str(labels[account]), self.costs[account]) for account in COSTS if self.costs.get(account)]

    @property
    def is_empty(self) -> bool:
        return self.recovered == 0 and self.owed == 0 and not any(self.costs.values())

    def __add__(self, other: Figures) -> Figures:
        costs = dict(self.costs)
        for account, amount in other.costs.items():
            costs[account] = costs.get(account, ZERO) + amount
        return Figures(recovered=self.recovered + other.recovered, costs=costs, owed=self.owed + other.owed)


def figures_from(balances: Iterable[tuple[str, Decimal]]) -> Figures:
    """Figures from (account, Σ signed legs) pairs: recoveries negated (credit-normal), costs as they are."""
    recovered, costs, owed = ZERO, {}, ZERO
    for account, amount in balances:
        if account == Account.RECOVERIES:
            recovered += -amount
        elif account == Account.PARTNER_PAYABLE:
            owed += -amount
        elif account in COSTS:
            costs[account] = costs.get(account, ZERO) + amount
    return Figures(recovered=recovered, costs=costs, owed=owed)


def format_ratio(value: Decimal | None) -> str:
    """The cost per yuan recovered as shown: ¥0.1825 (half up, four places); — when there is none."""
    if value is None:
        return "—"
    return f"¥{value.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)}"


# ------------------------------------------------------------------ filters


@dataclass(frozen=True)
class Filters:
    """The dashboard's filters: months (of the entry, both ends included), product, kind of counterparty."""

    month_from: datetime.date | None = None
    month_to: datetime.date | None = None
    product: str | None = None
    counterparty_kind: str | None = None  # "agency", "law_firm", or "none" for what no partner had

    def where(self) -> tuple[str, list]:
        clauses, params = ["account = ANY(%s)"], [list(READ_ACCOUNTS)]
        if self.month_from:
            clauses.append("month >= %s")
            params.append(months.month_start(self.month_from))
        if self.month_to:
            clauses.append("month <= %s")
            params.append(months.month_start(self.month_to))
        if self.product is not None:
            clauses.append("product = %s")
            params.append(self.product)
        if self.counterparty_kind:
            clauses.append("counterparty_kind = %s")
            params.append("" if self.counterparty_kind == "none" else self.counterparty_kind)
        return " AND ".join(clauses), params


# ------------------------------------------------------------------ the portfolio and its cuts


@dataclass(frozen=True)
class Row:
    """One line of a cut: its key (a month, a counterparty id, a product, a cohort month; None = not attributed)."""

    key: object
    label: str
    figures: Figures
    kind: str = ""  # the counterparty's kind, on the counterparty cut


@dataclass(frozen=True)
class NetRecovery:
    filters: Filters
    portfolio: Figures
    by_month: list[Row]
    by_counterparty: list[Row]  # partners by name, then the unattributed row (key None) if it has money
    by_product: list[Row]
    by_cohort: list[Row]  # placement months, then the row without one (key None) if it has money

    @property
    def is_empty(self) -> bool:
        return self.portfolio.is_empty and not self.by_month

    @property
    def by_kind(self) -> list[Row]:
        """Agencies, law firms and the unattributed money side by side: the counterparty rows summed per kind."""
        labels = dict(CounterpartyKind.choices)
        totals: dict[str, Figures] = {}
        for row in self.by_counterparty:
            totals[row.kind] = totals.get(row.kind, Figures()) + row.figures
        order = [CounterpartyKind.AGENCY, CounterpartyKind.LAW_FIRM, CounterpartyKind.NONE]
        return [
            Row(key=kind or None, label=str(labels[kind]) if kind else _("Not attributed to a partner"), figures=totals[kind], kind=kind)
            for kind in order
            if kind in totals
        ]


# The cuts, as GROUPING SETS over the same rows: one scan of the totals (or the legs) gives them all.
CUTS = {
    "portfolio": (),
    "month": ("month",),
    "counterparty": ("counterparty_id", "counterparty_kind"),
    "product": ("product",),
    "cohort": ("cohort_month",),
}
KEY_COLUMNS = ("month", "counterparty_id", "counterparty_kind", "product", "cohort_month")


def _grouped_sql(table: str, where: str) -> str:
    sets = ", ".join("(" + ", ".join(("account",) + columns) + ")" for columns in CUTS.values())
    flags = ", ".join(f"GROUPING({column})" for column in KEY_COLUMNS)
    return (
        f"SELECT account, {', '.join(KEY_COLUMNS)}, {flags}, SUM(amount) "
        f"FROM {connection.ops.quote_name(table)} WHERE {where} "
        f"GROUP BY GROUPING SETS ({sets})"
    )


def _cut_of(grouping: tuple[int, ...]) -> str:
    """Which grouping set a result row belongs to, from its GROUPING() flags (0 = grouped by that column)."""
    grouped = {column for column, flag in zip(KEY_COLUMNS, grouping, strict=True) if flag == 0}
    for name, columns in CUTS.items():
        if grouped == set(columns):
            return name
    raise AssertionError(f"unexpected grouping {grouping}")


def balances(filters: Filters = Filters(), *, source: str = TOTALS) -> dict[str, dict]:
    """{cut: {key: [(account, Σ amount), …]}} for every cut, in one query over the totals (or the legs)."""
    table = (LedgerTotal if source == TOTALS else LedgerLeg)._meta.db_table
    where, params = filters.where()
    found: dict[str, dict] = {name: {} for name in CUTS}
    with connection.cursor() as cursor:
        cursor.execute(_grouped_sql(table, where), params)
        for row in cursor.fetchall():
            account, month, counterparty_id, counterparty_kind, product, cohort_month = row[:6]
            grouping, amount = row[6:11], row[11]
            cut = _cut_of(grouping)
            key = {
                "portfolio": None,
                "month": month,
                "counterparty": (counterparty_id, counterparty_kind),
                "product": product,
                "cohort": cohort_month,
            }[cut]
            found[cut].setdefault(key, []).append((account, amount))
    return found


def _counterparty_names(ids) -> dict:
    from tenants.models import Organisation

    return dict(Organisation.objects.filter(pk__in=[i for i in ids if i is not None]).values_list("pk", "name"))


def net_recovery(filters: Filters = Filters(), *, source: str = TOTALS) -> NetRecovery:
    """The portfolio and every cut under ``filters``: two queries (the grouped totals, the partners' names)."""
    found = balances(filters, source=source)
    portfolio = figures_from(found["portfolio"].get(None, []))
    by_month = [Row(key=m, label=f"{m:%Y-%m}", figures=figures_from(v)) for m, v in sorted(found["month"].items())]
    names = _counterparty_names(pk for pk, _kind in found["counterparty"])
    partners, unattributed = [], None
    for (pk, kind), values in found["counterparty"].items():
        if pk is None:
            figures = figures_from(values)
            unattributed = figures if unattributed is None else unattributed + figures
        else:
            partners.append(Row(key=pk, label=names.get(pk, str(pk)), figures=figures_from(values), kind=kind))
    partners.sort(key=lambda r: (r.kind != CounterpartyKind.AGENCY, r.label, str(r.key)))
    if unattributed is not None:
        partners.append(Row(key=None, label=_("Not attributed to a partner"), figures=unattributed, kind=CounterpartyKind.NONE))
    by_product = [
        Row(key=p, label=p or _("No product"), figures=figures_from(v)) for p, v in sorted(found["product"].items(), key=lambda i: i[0])
    ]
    cohorts = sorted(found["cohort"].items(), key=lambda i: (i[0] is None, i[0] or datetime.date.min))
    by_cohort = [Row(key=c, label=f"{c:%Y-%m}" if c else _("No placement month"), figures=figures_from(v)) for c, v in cohorts]
    return NetRecovery(
        filters=filters, portfolio=portfolio, by_month=by_month, by_counterparty=partners, by_product=by_product, by_cohort=by_cohort
    )


def products() -> list[str]:
    """The products the ledger has money for (the dashboard's product filter)."""
    return sorted(LedgerTotal.objects.filter(account__in=READ_ACCOUNTS).values_list("product", flat=True).distinct().order_by())


def ledger_months() -> tuple[datetime.date, datetime.date] | None:
    """The first and last month with entries (the dashboard's default range); None for an empty ledger."""
    from django.db.models import Max, Min

    span = LedgerTotal.objects.filter(account__in=READ_ACCOUNTS).aggregate(first=Min("month"), last=Max("month"))
    return (span["first"], span["last"]) if span["first"] else None


def trend(report: NetRecovery, month_from: datetime.date, month_to: datetime.date) -> list[Row]:
    """The monthly rows from ``month_from`` to ``month_to``, a month without entries as zeros (a continuous axis)."""
    by_key = {row.key: row for row in report.by_month}
    rows, month = [], months.month_start(month_from)
    while month <= month_to:
        rows.append(by_key.get(month) or Row(key=month, label=f"{month:%Y-%m}", figures=Figures()))
        month = months.add_months(month, 1)
    return rows


# ------------------------------------------------------------------ one case


@dataclass(frozen=True)
class CaseEntry:
    """One leg of a case's books, with its entry: shown on the case page."""

    occurred_on: datetime.date
    kind: str
    kind_label: str
    memo: str
    account: str
    account_label: str
    amount: Decimal
    counterparty: str


@dataclass(frozen=True)
class CaseNetRecovery:
    figures: Figures
    entries: list[CaseEntry]
    truncated: bool


CASE_ENTRIES = 200  # legs listed on the case page (the figures always count them all)


def case_net_recovery(case, *, limit: int = CASE_ENTRIES) -> CaseNetRecovery:
    """The case's figures (one grouped query on the (case, account) index) and its latest legs, newest first."""
    from django.db.models import Sum

    from .models import EntryKind

    case_id = getattr(case, "pk", case)
    sums = (
        LedgerLeg.objects.filter(case_id=case_id, account__in=READ_ACCOUNTS).values_list("account").annotate(total=Sum("amount")).order_by()
    )
    figures = figures_from(sums)
    legs = list(
        LedgerLeg.objects.filter(case_id=case_id)
        .exclude(account=Account.CASH)
        .select_related("transaction")
        .order_by("-transaction__occurred_on", "-id")[: limit + 1]
    )
    names = _counterparty_names({leg.counterparty_id for leg in legs})
    kinds, accounts = dict(EntryKind.choices), dict(Account.choices)
    entries = [
        CaseEntry(
            occurred_on=leg.transaction.occurred_on,
            kind=leg.transaction.kind,
            kind_label=str(kinds.get(leg.transaction.kind, leg.transaction.kind)),
            memo=leg.transaction.memo,
            account=leg.account,
            account_label=str(accounts.get(leg.account, leg.account)),
            amount=leg.amount,
            counterparty=names.get(leg.counterparty_id, ""),
        )
        for leg in legs[:limit]
    ]
    return CaseNetRecovery(figures=figures, entries=entries, truncated=len(legs) > limit)


# ------------------------------------------------------------------ exports


def export_tables(report: NetRecovery) -> list[tuple[str, list[str], list[list]]]:
    """The dashboard's tables as (title, header, rows) — the same for CSV and XLSX. Money as Decimal (fen);
    the cost per yuan rounded to four places as on the page; text cells neutralised by the writer."""
    header_tail = [_("Recovered"), _("Cost of collection"), _("Net recovery"), _("Cost per ¥ recovered")]

    def line(row: Row, *first) -> list:
        f = row.figures
        ratio = f.cost_per_yuan
        return [*first, f.recovered, f.cost, f.net, ratio.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP) if ratio is not None else ""]

    kinds = dict(CounterpartyKind.choices)
    portfolio = Row(key=None, label=_("Portfolio"), figures=report.portfolio)
    return [
        (_("Portfolio"), ["", *header_tail], [line(portfolio, _("Portfolio"))]),
        (_("By month"), [_("Month"), *header_tail], [line(r, r.label) for r in report.by_month]),
        (
            _("By partner"),
            [_("Partner"), _("Kind"), *header_tail],
            [line(r, r.label, str(kinds.get(r.kind, "")) if r.kind else "") for r in report.by_counterparty],
        ),
        (_("By product"), [_("Product"), *header_tail], [line(r, r.label) for r in report.by_product]),
        (_("By placement month"), [_("Placement month"), *header_tail], [line(r, r.label) for r in report.by_cohort]),
    ]
