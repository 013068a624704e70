"""The litigation pipeline (诉讼漏斗): how far matters get, what they claim and recover, and how long each stage takes.

The funnel has six steps, each a set of matters (a matter counts in every step it reached, whatever came after):

* **escalated** — every matter (移交诉讼);
* **mediated** — a pre-suit or in-suit mediation was recorded (诉前调解 / 诉中调解), whatever its outcome;
* **filed** — a court was seized: a suit filed (立案) or a payment order applied for (支付令) — the two court
  applications that interrupt limitation (民法典 art. 195(三));
* **judged** — an enforceable title was obtained (执行依据): a judgment or mediation agreement (判决 / 调解书) recorded,
  a payment order not objected to (CPL art. 227), or a mediation agreement judicially confirmed (司法确认, CPL art. 206);
* **enforced** — an enforcement application was recorded (执行, CPL art. 247);
* **recovered** — money was applied to the matter's loans since it was escalated (``litigation.stages.recovered_on``).

Amounts: a step's **claim** is the balance the matter's loans carried on the books at escalation, taken as their
balance now (``Case.balance``) plus what was applied to them since the escalation day — a payment lowers the balance
by exactly what it applied, so the sum is the balance the lender escalated, and it does not shrink as the debtor pays.
**recovered** is the same applied money (``recovered_on``, computed here in SQL for all matters at once). Every figure
is one aggregate query over the matters given, never a query per matter.

Days per stage: from the stage entries (never edited, so their dates are the history): a stay in a stage lasts from
its entry to the matter's next entry of another stage (a repeated entry of the same stage — a correction — continues
the stay). Stays still under way are not averaged (they have no end yet); they are counted as "now in this stage".
``average_days`` is a pure function of (matter, stage, date) rows, so it is tested by hand.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Case

from .models import MatterLoan, Outcome, Stage, StageEntry

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
DAY_PLACES = Decimal("0.1")

ESCALATED, MEDIATED, FILED, JUDGED, ENFORCED, RECOVERED = "escalated", "mediated", "filed", "judged", "enforced", "recovered"
STEPS = [ESCALATED, MEDIATED, FILED, JUDGED, ENFORCED, RECOVERED]
STEP_LABELS = {
    ESCALATED: _("Escalated"),
    MEDIATED: _("Mediated"),
    FILED: _("Filed"),
    JUDGED: _("Judged"),
    ENFORCED: _("Enforced"),
    RECOVERED: _("Recovered"),
}
# Stages whose stays are timed (a closed matter stays closed).
TIMED_STAGES = [stage for stage, _label in Stage.choices if stage != Stage.CLOSED]


def _entries(condition: Q):
    return Exists(StageEntry.objects.filter(condition, matter=OuterRef("pk")))


def step_conditions() -> dict[str, object]:
    """Each step but the first and the last as an SQL condition on a matter (see the module docstring)."""
    return {
        MEDIATED: _entries(Q(stage__in=[Stage.PRE_SUIT_MEDIATION, Stage.IN_SUIT_MEDIATION])),
        FILED: _entries(Q(stage__in=[Stage.FILED, Stage.PAYMENT_ORDER])),
        JUDGED: _entries(
            Q(stage=Stage.JUDGMENT)
            | Q(stage=Stage.PAYMENT_ORDER, outcome=Outcome.NOT_OBJECTED)
            | Q(stage=Stage.JUDICIAL_CONFIRMATION, outcome=Outcome.CONFIRMED)
        ),
        ENFORCED: _entries(Q(stage=Stage.ENFORCEMENT)),
    }


def _balance_on_books():
    """The sum of the matter's loans' balances now (one subquery per matter row, inside the one query)."""
    loans = (
        MatterLoan.objects.filter(matter=OuterRef("pk"))
        .order_by()
        .values("matter")
        .annotate(total=Sum(Case.balance_expression("case__")))
        .values("total")
    )
    return Coalesce(Subquery(loans, output_field=MONEY), Value(ZERO, output_field=MONEY))


def _recovered():
    """``stages.recovered_on`` in SQL: money applied to the matter's loans, paid on or after the escalation day, not reversed."""
    from portal.payments.models import Payment

    applied = (
        Payment.objects.with_effective_split()
        .filter(
            case__matter_loans__matter=OuterRef("pk"),
            paid_on__gte=OuterRef("escalated_on"),
            reversal__isnull=True,
        )
        .order_by()
        .values("case__matter_loans__matter")
        .annotate(total=Sum("applied"))
        .values("total")
    )
    return Coalesce(Subquery(applied, output_field=MONEY), Value(ZERO, output_field=MONEY))


def annotated(matters):
    """The matters with ``escalated_on`` (the escalation day, lender's time), ``on_books``, ``recovered``, ``claim`` and a
    boolean per funnel step."""
    return (
        matters.order_by()
        .annotate(escalated_on=TruncDate("escalated_at", tzinfo=timezone.get_current_timezone()))
        .annotate(on_books=_balance_on_books(), recovered=_recovered(), **step_conditions())
        .annotate(claim=F("on_books") + F("recovered"))
    )


def _step_filter(step: str) -> Q | None:
    if step == ESCALATED:
        return None
    if step == RECOVERED:
        return Q(recovered__gt=0)
    return Q(**{step: True})


def _aggregates() -> dict:
    """count / claim / recovered per step, as keyword aggregates of one query."""
    out = {}
    for step in STEPS:
        condition = _step_filter(step)
        out[f"{step}_count"] = Count("pk", filter=condition)
        out[f"{step}_claim"] = Coalesce(Sum("claim", filter=condition), Value(ZERO, output_field=MONEY))
        out[f"{step}_recovered"] = Coalesce(Sum("recovered", filter=condition), Value(ZERO, output_field=MONEY))
    return out


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: int
    claim: Decimal  # the balance escalated, of the matters that reached this step
    recovered: Decimal  # what those matters recovered

    @property
    def amount(self) -> Decimal:
        """The step's money: its claim, or for the last step what was recovered."""
        return self.recovered if self.key == RECOVERED else self.claim


def _steps(row: dict) -> list[Step]:
    return [
        Step(step, STEP_LABELS[step], row[f"{step}_count"] or 0, row[f"{step}_claim"] or ZERO, row[f"{step}_recovered"] or ZERO)
        for step in STEPS
    ]


def funnel(matters) -> list[Step]:
    """The six steps of the funnel over ``matters`` (a Matter queryset already limited to what the viewer sees)."""
    return _steps(annotated(matters).aggregate(**_aggregates()))


@dataclass
class GroupRow:
    """The funnel of one court or one law firm."""

    key: object
    name: str
    steps: list[Step] = field(default_factory=list)

    def step(self, key) -> Step:
        return next(step for step in self.steps if step.key == key)

    @property
    def escalated(self):
        return self.step(ESCALATED)

    @property
    def recovered(self):
        return self.step(RECOVERED)

    @property
    def recovery_rate(self) -> Decimal | None:
        """Recovered ÷ claim escalated, a fraction to 4 places (None with nothing claimed)."""
        return rate(self.recovered.recovered, self.escalated.claim)


def rate(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def by_court(matters) -> list[GroupRow]:
    """One funnel per court (the matter's court; "" for matters not yet before a court), largest first. One query."""
    rows = annotated(matters).values("court").annotate(**_aggregates())
    out = [GroupRow(row["court"], row["court"] or str(_("No court yet")), _steps(row)) for row in rows]
    return sorted(out, key=lambda r: (-r.escalated.count, r.name))


def by_firm(matters) -> list[GroupRow]:
    """One funnel per law firm (None: the lender's in-house team), largest first. One query."""
    rows = annotated(matters).values("firm", "firm__name").annotate(**_aggregates())
    out = [GroupRow(row["firm"], row["firm__name"] or str(_("In-house")), _steps(row)) for row in rows]
    return sorted(out, key=lambda r: (-r.escalated.count, r.name))


# ----------------------------------------------------------------- days per stage


@dataclass(frozen=True)
class StageTime:
    stage: str
    label: str
    average_days: Decimal | None  # over finished stays, to 0.1 day (half up); None when no stay has ended
    finished: int  # stays that ended (averaged)
    ongoing: int  # stays still under way (not averaged)


def average_days(entries: Iterable[tuple[object, str, datetime.date]]) -> list[StageTime]:
    """Average days per stage from stage entries (matter id, stage, entered on), in any order.

    Per matter, entries are taken by date (ties in the order given); a stay starts at an entry and ends at the
    matter's next entry of another stage; consecutive entries of the same stage are one stay (a correction)."""
    by_matter: dict[object, list[tuple[datetime.date, int, str]]] = defaultdict(list)
    for position, (matter_id, stage, entered_on) in enumerate(entries):
        by_matter[matter_id].append((entered_on, position, stage))
    durations: dict[str, list[int]] = defaultdict(list)
    ongoing: dict[str, int] = defaultdict(int)
    for rows in by_matter.values():
        rows.sort()
        stays = []  # (stage, started_on)
        for entered_on, _position, stage in rows:
            if stays and stays[-1][0] == stage:
                continue
            stays.append((stage, entered_on))
        for (stage, started_on), following in zip(stays, [*stays[1:], None], strict=True):
            if following is None:
                ongoing[stage] += 1
            else:
                durations[stage].append((following[1] - started_on).days)
    result = []
    for stage in TIMED_STAGES:
        days = durations.get(stage, [])
        average = (Decimal(sum(days)) / Decimal(len(days))).quantize(DAY_PLACES, rounding=ROUND_HALF_UP) if days else None
        result.append(StageTime(stage, str(Stage(stage).label), average, len(days), ongoing.get(stage, 0)))
    return result


def stage_times(matters) -> list[StageTime]:
    """``average_days`` over the entries of ``matters``: one query for the entries."""
    rows = StageEntry.objects.filter(matter__in=matters.order_by().values("pk")).order_by("matter_id", "entered_on", "id")
    return average_days(rows.values_list("matter_id", "stage", "entered_on"))


def courts(matters) -> list[str]:
    """The courts the matters are before (for the filter), in name order."""
    return sorted(c for c in matters.order_by().exclude(court="").values_list("court", flat=True).distinct())


def filtered(matters, *, court: str | None = None, firm: str | None = None):
    """The matters before ``court`` and of ``firm`` (an organisation id, or "inhouse" for the lender's own team)."""
    if court:
        matters = matters.filter(court=court)
    if firm == "inhouse":
        matters = matters.filter(firm__isnull=True)
    elif firm:
        matters = matters.filter(firm_id=firm)
    return matters
