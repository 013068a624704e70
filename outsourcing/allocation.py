"""Rule-based allocation (分案): filter the portfolio, split it across agencies, preview, commit.

The same function computes the preview and the commit, so what a manager
approved is what gets placed:

1. the candidates are fetched in one query, ordered by id, and shuffled with
   ``random.Random(seed)`` — the seed is recorded on the batch, so the
   assignment can be reproduced;
2. with champion/challenger, the first ``share`` per cent of the shuffled
   cases form the challenger arm, the rest the champion arm; each arm has its
   own split of agencies and every placement records its arm;
3. each arm is split by percentage (largest remainder: the counts add up
   exactly and none is more than one case away from its exact share) or by
   the agencies' free capacity;
4. rotation: a case never goes to an agency that had it before (one query per
   agency); cases that only some agencies may take are dealt first.

At commit the plan is recomputed under locks and its fingerprint compared with
the preview's; if the cases changed in between, the commit is refused and the
manager previews again.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import buckets as bucket_rule
from portal.audit.log import Action, record
from portal.lib.money import to_fen
from portal.models import Case, bucket_for
from tenants.models import Organisation

from .history import bulk_history
from .models import BUCKETS, Agreement, AgreementVersion, AllocationBatch, Arm, BatchStatus, Placement, PlacementStatus
from .placement import (
    MESSAGES,
    PLACEABLE_STATUSES,
    PlacementRefused,
    PlacementRow,
    _end_stale,
    active_counts,
    insert_placements,
    lock_agreements,
    mark_cases_placed,
    partner_refusal,
    prior_rounds,
    rate_refusals,
    refusal,
    refuse,
)

PERCENT = "percent"
CAPACITY = "capacity"
MODES = (PERCENT, CAPACITY)
HUNDRED = Decimal(100)
# Larger commits run as a background job with a progress page.
SYNC_LIMIT = 2000


# ----------------------------------------------------------------- rules


def _decimal(value, *, places=2):
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError):
        return None
    if not number.is_finite() or number != number.quantize(Decimal(1).scaleb(-places)):
        return None
    return number


def _split(entries, *, mode, label):
    """[[partner_id, share], ...] checked: known ids, shares 0 < s ≤ 100 summing to 100 (percent mode)."""
    cleaned, seen = [], set()
    for partner_id, share in entries or []:
        try:
            partner_id = str(uuid.UUID(str(partner_id)))
        except ValueError:
            raise ValidationError(MESSAGES["unknown_partner"], code="unknown_partner") from None
        if partner_id in seen:
            continue
        seen.add(partner_id)
        if mode == PERCENT:
            number = _decimal(share)
            if number is None or not Decimal(0) < number <= HUNDRED:
                raise ValidationError(_("%(label)s: each share is a percentage above 0 with at most two decimals.") % {"label": label})
            cleaned.append([partner_id, str(number)])
        else:
            cleaned.append([partner_id, "0"])
    if not cleaned:
        raise ValidationError(_("%(label)s: choose at least one agency.") % {"label": label})
    if mode == PERCENT and sum(Decimal(share) for _, share in cleaned) != HUNDRED:
        raise ValidationError(_("%(label)s: the shares must add up to 100%%.") % {"label": label})
    return cleaned


def normalise_rules(rules: dict) -> dict:
    """A rule set in its one canonical, JSON-safe shape; raises ValidationError."""
    filters = rules.get("filters") or {}
    buckets = [b for b in BUCKETS if b in (filters.get("buckets") or [])]
    clean_filters = {
        "buckets": buckets,
        "regions": sorted({str(r).strip() for r in filters.get("regions") or [] if str(r).strip()}),
        "products": sorted({str(p).strip() for p in filters.get("products") or [] if str(p).strip()}),
        "min_balance": None,
        "max_balance": None,
    }
    for key in ("min_balance", "max_balance"):
        value = filters.get(key)
        if value not in (None, ""):
            number = _decimal(value)
            if number is None or number < 0:
                raise ValidationError(_("Balances are amounts in yuan with at most two decimals."))
            clean_filters[key] = str(number)
    if (
        clean_filters["min_balance"]
        and clean_filters["max_balance"]
        and Decimal(clean_filters["min_balance"]) > Decimal(clean_filters["max_balance"])
    ):
        raise ValidationError(_("The lowest balance is above the highest."))
    mode = rules.get("mode") or PERCENT
    if mode not in MODES:
        raise ValidationError(_("Split by percentage or by capacity."))
    champion = _split(rules.get("champion"), mode=mode, label=_("Champion"))
    challenger = rules.get("challenger") or None
    if challenger:
        if mode != PERCENT:
            raise ValidationError(_("Champion/challenger compares two percentage splits; choose the percentage split."))
        share = _decimal(challenger.get("share"))
        if share is None or not Decimal(0) < share < HUNDRED:
            raise ValidationError(_("The challenger's share of the cases is a percentage between 0 and 100."))
        challenger = {"share": str(share), "split": _split(challenger.get("split"), mode=PERCENT, label=_("Challenger"))}
    return {"filters": clean_filters, "mode": mode, "champion": champion, "challenger": challenger}


def new_seed() -> int:
    return secrets.randbelow(2**62)


# ----------------------------------------------------------------- candidates


def candidates(filters: dict, *, now):
    """Cases the rules select that may be placed now: placeable status, not in an active placement."""
    today = timezone.localdate(now)
    # Not "active(now)": a placement marked active whose term is over does not block a new one
    # (commit records it as expired first); one that starts a moment later (another writer's clock) does.
    in_force = Placement.objects.filter(case=OuterRef("pk"), status=PlacementStatus.ACTIVE, ends_at__gt=now)
    qs = Case.objects.filter(status__in=PLACEABLE_STATUSES).exclude(Exists(in_force)).annotate(outstanding=Case.balance_expression())
    if filters.get("buckets"):
        qs = qs.filter(bucket_rule.condition(filters["buckets"], today=today))
    else:
        qs = qs.filter(overdue_since__lt=today)  # only overdue cases are outsourced
    if filters.get("regions"):
        qs = qs.filter(region__in=filters["regions"])
    if filters.get("products"):
        qs = qs.filter(product__in=filters["products"])
    if filters.get("min_balance") is not None:
        qs = qs.filter(outstanding__gte=Decimal(filters["min_balance"]))
    if filters.get("max_balance") is not None:
        qs = qs.filter(outstanding__lte=Decimal(filters["max_balance"]))
    return qs.order_by("pk")


# ----------------------------------------------------------------- the split


def largest_remainder(total: int, weights: list) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (Decimals or ints): the counts add up to ``total`` exactly.

    Each gets the floor of its exact share; the cases left over go one each to the
    largest fractional parts (ties: the first listed). Hare–Niemeyer.
    """
    weights = [Decimal(w) for w in weights]
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [Decimal(total) * w / whole for w in weights]
    counts = [int(e) for e in exact]  # floor: all non-negative
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def _popcount(mask: int) -> int:
    return bin(mask).count("1")


def deal(positions: list[int], masks: dict, quotas: list[int]) -> tuple[dict, list[int]]:
    """Give each case (by position in the shuffled order) an agency index within the quotas.

    ``masks[p]`` is the bitmask of agencies that may take case p (missing: all).
    Cases only some agencies may take go first, each to the allowed agency with the
    most room; the rest fill the remaining room in shuffled order. A case left over
    is swapped with one already dealt when that frees room for both.
    Returns ({position: agency index}, [positions left over]).
    """
    k = len(quotas)
    room = list(quotas)
    given: dict[int, int] = {}
    per_agency: list[list[int]] = [[] for _ in range(k)]
    constrained = sorted((p for p in positions if p in masks), key=lambda p: (_popcount(masks[p]), p))
    left_over = []
    for p in constrained:
        best = None
        for a in range(k):
            if masks[p] >> a & 1 and room[a] > 0 and (best is None or room[a] > room[best]):
                best = a
        if best is None:
            left_over.append(p)
            continue
        given[p] = best
        per_agency[best].append(p)
        room[best] -= 1
    agency = 0
    for p in positions:
        if p in masks:
            continue
        while agency < k and room[agency] <= 0:
            agency += 1
        if agency >= k:
            left_over.append(p)
            continue
        given[p] = agency
        per_agency[agency].append(p)
        room[agency] -= 1
    # Repair: a case c every allowed agency of which is full, while agency u (which had c
    # before) has room: move a case d from an allowed agency a to u, and c into a.
    still = []
    for c in left_over:
        mask = masks.get(c, (1 << k) - 1)
        moved = False
        for u in (u for u in range(k) if room[u] > 0 and not mask >> u & 1):
            for a in (a for a in range(k) if mask >> a & 1):
                for index, d in enumerate(per_agency[a]):
                    if masks.get(d, (1 << k) - 1) >> u & 1:
                        per_agency[a][index] = c
                        given[c] = a
                        per_agency[u].append(d)
                        given[d] = u
                        room[u] -= 1
                        moved = True
                        break
                if moved:
                    break
            if moved:
                break
        if not moved:
            still.append(c)
    return given, still


@dataclass
class Plan:
    """The exact assignment a rule set and seed give now, with its summary."""

    rules: dict
    seed: int
    case_ids: list = field(default_factory=list)  # ordered by pk
    overdue: list = field(default_factory=list)
    balances: list = field(default_factory=list)
    assignment: dict = field(default_factory=dict)  # case index -> (partner_id, arm)
    partners: dict = field(default_factory=dict)  # partner_id -> facts
    left_out: dict = field(default_factory=dict)
    refusals: list = field(default_factory=list)  # ValidationErrors
    fingerprint: str = ""

    def groups(self):
        """(arm, partner_id) -> {"count", "balance"} in rule order."""
        result = {}
        for arm, split in self._arms():
            for partner_id, _share in split:
                result[(arm, partner_id)] = {"count": 0, "balance": Decimal(0)}
        for index, (partner_id, arm) in self.assignment.items():
            group = result[(arm, partner_id)]
            group["count"] += 1
            group["balance"] += self.balances[index]
        return result

    def _arms(self):
        arms = [(Arm.CHAMPION.value, self.rules["champion"])]
        if self.rules.get("challenger"):
            arms.append((Arm.CHALLENGER.value, self.rules["challenger"]["split"]))
        return arms

    def summary(self) -> dict:
        groups = self.groups()
        arm_totals = {}
        for (arm, _pid), group in groups.items():
            totals = arm_totals.setdefault(arm, {"count": 0, "balance": Decimal(0)})
            totals["count"] += group["count"]
            totals["balance"] += group["balance"]
        rows = []
        for arm, split in self._arms():
            arm_count = arm_totals[arm]["count"]
            for partner_id, share in split:
                group = groups[(arm, partner_id)]
                rows.append(
                    {
                        "arm": arm,
                        "partner_id": partner_id,
                        "partner": self.partners[partner_id]["name"],
                        "count": group["count"],
                        "balance": str(to_fen(group["balance"])),
                        "target_share": share if self.rules["mode"] == PERCENT else None,
                        "share": str((Decimal(group["count"]) * HUNDRED / arm_count).quantize(Decimal("0.01"), ROUND_HALF_UP))
                        if arm_count
                        else "0.00",
                    }
                )
        total_balance = sum((g["balance"] for g in groups.values()), Decimal(0))
        return {
            "candidates": len(self.case_ids),
            "assigned": len(self.assignment),
            "balance": str(to_fen(total_balance)),
            "left_out": self.left_out,
            "groups": rows,
            "arms": {arm: {"count": t["count"], "balance": str(to_fen(t["balance"]))} for arm, t in arm_totals.items()},
            "partners": [dict(facts, partner_id=pid) for pid, facts in self.partners.items()],
            "refusals": [{"code": error.code, "params": error.params or {}} for error in self.refusals],
            "fingerprint": self.fingerprint,
            "seed": str(self.seed),
        }


def compute(*, rules: dict, seed: int, now=None, lock: bool = False) -> Plan:
    """The plan for these rules and this seed, now. ``lock`` locks the candidate cases (commit)."""
    now = now or timezone.now()
    rules = normalise_rules(rules)
    plan = Plan(rules=rules, seed=int(seed))
    arms = plan._arms()
    partner_ids = list(dict.fromkeys(pid for _arm, split in arms for pid, _share in split))
    partners = Organisation.objects.in_bulk([uuid.UUID(pid) for pid in partner_ids])
    if len(partners) != len(partner_ids):
        raise ValidationError(MESSAGES["unknown_partner"], code="unknown_partner")
    agreements = {a.partner_id: a for a in Agreement.objects.filter(partner_id__in=list(partners))}
    active = active_counts(list(partners), now=now)
    for pid in partner_ids:
        partner = partners[uuid.UUID(pid)]
        agreement = agreements.get(partner.pk)
        problem = partner_refusal(partner, agreement, on=timezone.localdate(now))
        version: AgreementVersion | None = agreement.current_version if agreement else None
        capacity = version.capacity if version else 0
        plan.partners[pid] = {
            "name": partner.name,
            "capacity": capacity,
            "active": active.get(partner.pk, 0),
            "free": max(0, capacity - active.get(partner.pk, 0)),
            "new": 0,
            "version": version.number if version else None,
            "refusal": None,
        }
        if problem is not None:
            plan.refusals.append(problem)
            plan.partners[pid]["refusal"] = {"code": problem.code, "params": problem.params or {}}

    selected = candidates(rules["filters"], now=now)
    fetch = selected.select_for_update(of=("self",)) if lock else selected
    rows = list(fetch.values_list("pk", "overdue_since", "outstanding"))
    plan.case_ids = [row[0] for row in rows]
    plan.overdue = [row[1] for row in rows]
    plan.balances = [row[2] for row in rows]
    index_of = {case_id: i for i, case_id in enumerate(plan.case_ids)}
    n = len(rows)

    # Rotation: which candidates each agency had before (one query per agency).
    unlocked = candidates(rules["filters"], now=now).values("pk")
    had = {
        pid: {
            index_of[c]
            for c in Placement.objects.filter(partner_id=pid, case__in=unlocked).values_list("case_id", flat=True)
            if c in index_of
        }
        for pid in partner_ids
    }

    shuffled = list(range(n))
    random.Random(plan.seed).shuffle(shuffled)
    challenger = rules.get("challenger")
    cut = int((Decimal(n) * Decimal(challenger["share"]) / HUNDRED).to_integral_value(ROUND_HALF_UP)) if challenger else 0
    arm_positions = {Arm.CHALLENGER.value: shuffled[:cut], Arm.CHAMPION.value: shuffled[cut:]}

    left_out = {"rotation": 0, "capacity": 0}
    for arm, split in arms:
        agencies = [pid for pid, _share in split]
        positions = arm_positions[arm]
        masks = {}
        for a, pid in enumerate(agencies):
            for i in had[pid]:
                masks[i] = masks.get(i, (1 << len(agencies)) - 1) & ~(1 << a)
        blocked = [p for p in positions if masks.get(p, 1) == 0]
        takeable = len(positions) - len(blocked)
        if rules["mode"] == PERCENT:
            quotas = largest_remainder(takeable, [Decimal(share) for _pid, share in split])
        else:
            free = [plan.partners[pid]["free"] for pid in agencies]
            quotas = free if takeable >= sum(free) else largest_remainder(takeable, free)
        given, still = deal([p for p in positions if masks.get(p, 1) != 0], {p: m for p, m in masks.items() if m}, quotas)
        for p, a in given.items():
            plan.assignment[p] = (agencies[a], arm)
        left_out["rotation"] += len(blocked)
        if rules["mode"] == CAPACITY and takeable > sum(quotas):
            capacity_short = takeable - sum(quotas)
            left_out["capacity"] += min(capacity_short, len(still))
            left_out["rotation"] += max(0, len(still) - capacity_short)
        else:
            left_out["rotation"] += len(still)
    plan.left_out = left_out

    for partner_id, _arm in plan.assignment.values():
        plan.partners[partner_id]["new"] += 1
    for facts in plan.partners.values():
        if facts["refusal"] is None and facts["new"] > facts["free"]:
            problem = refusal("capacity", partner=facts["name"], active=facts["active"], new=facts["new"], capacity=facts["capacity"])
            plan.refusals.append(problem)
            facts["refusal"] = {"code": problem.code, "params": problem.params}

    # Every case must find a commission rate for its bucket and round in its agency's agreement version.
    if plan.assignment:
        today = timezone.localdate(now)
        rounds = prior_rounds([plan.case_ids[i] for i in plan.assignment])
        contracts = dict(Case.objects.filter(pk__in=[plan.case_ids[i] for i in plan.assignment]).values_list("pk", "contract_no"))
        per_partner: dict = {}
        for index, (partner_id, _arm) in plan.assignment.items():
            case_id = plan.case_ids[index]
            per_partner.setdefault(partner_id, []).append(
                (bucket_for((today - plan.overdue[index]).days), rounds.get(case_id, 0) + 1, contracts.get(case_id, ""))
            )
        for pid, cases in per_partner.items():
            agreement = agreements.get(uuid.UUID(pid))
            if agreement is None or agreement.current_version is None:
                continue  # already refused: no agreement
            for problem in rate_refusals(agreement.current_version, partner_name=plan.partners[pid]["name"], cases=cases):
                plan.refusals.append(problem)
                if plan.partners[pid]["refusal"] is None:
                    plan.partners[pid]["refusal"] = {"code": problem.code, "params": problem.params}

    digest = hashlib.sha256()
    for i in range(n):
        if i in plan.assignment:
            partner_id, arm = plan.assignment[i]
            digest.update(f"{plan.case_ids[i]}:{partner_id}:{arm}\n".encode())
    plan.fingerprint = digest.hexdigest()
    return plan


def preview(*, rules: dict, seed: int | None = None, now=None) -> Plan:
    """What these rules would do now: counts and balances per agency, and the exact assignment."""
    return compute(rules=rules, seed=new_seed() if seed is None else seed, now=now)


def prepare_batch(*, rules: dict, created_by, seed: int | None = None, now=None, request=None) -> AllocationBatch:
    """Preview and record it: the rules, the seed and the summary the manager will approve."""
    plan = preview(rules=rules, seed=seed, now=now)
    batch = AllocationBatch.objects.create(rules=plan.rules, seed=plan.seed, preview=plan.summary(), created_by=created_by)
    record(
        Action.CREATE,
        request=request,
        actor=created_by,
        obj=batch,
        event="allocation_preview",
        candidates=len(plan.case_ids),
        assigned=len(plan.assignment),
        seed=str(plan.seed),
    )
    return batch


# ----------------------------------------------------------------- commit


def commit(*, batch: AllocationBatch, by, now=None, request=None) -> AllocationBatch:
    """Place the batch exactly as previewed, in one transaction; all or nothing.

    Idempotent: a committed batch is returned as it is (a retried job places nothing twice).
    """
    explicit_now = now
    try:
        with transaction.atomic():
            batch = AllocationBatch.objects.select_for_update().get(pk=batch.pk)
            if batch.status == BatchStatus.COMMITTED:
                return batch
            if batch.status not in (BatchStatus.PREVIEWED, BatchStatus.COMMITTING):
                refuse(refusal("batch_closed"))
            rules = normalise_rules(batch.rules)
            partner_ids = {pid for pid, _ in rules["champion"]} | {pid for pid, _ in (rules["challenger"] or {}).get("split", [])}
            agreements = lock_agreements([uuid.UUID(pid) for pid in partner_ids])  # capacity: one writer per agency
            now = explicit_now or timezone.now()  # read once the locks are ours
            plan = compute(rules=rules, seed=batch.seed, now=now, lock=True)
            if plan.refusals:
                refuse(*plan.refusals)
            if plan.fingerprint != batch.preview.get("fingerprint"):
                refuse(refusal("stale_preview"))
            if not plan.assignment:
                refuse(refusal("nothing_assigned"))
            selected = candidates(rules["filters"], now=now).values("pk")
            with bulk_history(event="allocation", batch=str(batch.pk), user=getattr(by, "pk", None)):
                _end_stale({"case__in": selected}, now=now)
                rounds = prior_rounds(selected)
                today = timezone.localdate(now)
                by_partner: dict = {}
                for index, (partner_id, arm) in plan.assignment.items():
                    case_id = plan.case_ids[index]
                    by_partner.setdefault(partner_id, []).append(
                        PlacementRow(
                            case_id=case_id,
                            bucket=bucket_for((today - plan.overdue[index]).days),
                            balance=plan.balances[index],
                            round=rounds.get(case_id, 0) + 1,
                            arm=arm,
                        )
                    )
                placed = 0
                for partner_id, rows in by_partner.items():
                    agreement = agreements[uuid.UUID(partner_id)]
                    placed += insert_placements(
                        rows, partner_id=partner_id, version=agreement.current_version, placed_by=by, now=now, batch=batch
                    )
                mark_cases_placed(batch=batch)
            batch.status = BatchStatus.COMMITTED
            batch.placed_count = placed
            batch.committed_by = by
            batch.committed_at = now
            batch.error = {}
            batch.save(update_fields=["status", "placed_count", "committed_by", "committed_at", "error"])
            record(Action.CREATE, request=request, actor=by, obj=batch, event="allocation_commit", placed=placed, seed=str(batch.seed))
    except PlacementRefused as refused:
        _refused(batch, refused)
        raise
    except IntegrityError as error:
        if "placement_one_active_per_case" in str(error):
            refused = PlacementRefused([refusal("concurrent")])
            _refused(batch, refused)
            raise refused from None
        raise
    return batch


def _refused(batch, refused: PlacementRefused):
    """Record why a commit was refused (outside the rolled-back transaction)."""
    first = refused.error_list[0]
    if first.code == "batch_closed":
        return
    AllocationBatch.objects.filter(pk=batch.pk).exclude(status=BatchStatus.COMMITTED).update(
        status=BatchStatus.REFUSED,
        error={
            "code": first.code,
            "params": {k: str(v) for k, v in (first.params or {}).items()},
            "all": [{"code": e.code, "params": {k: str(v) for k, v in (e.params or {}).items()}} for e in refused.error_list],
        },
    )


def start_commit(*, batch: AllocationBatch, by, organisation=None, request=None):
    """Commit now when small, else as a background job (returns the Job, or None when done at once)."""
    from portal.jobs.services import start_job

    if batch.status == BatchStatus.COMMITTING and batch.job_id:
        from portal.jobs.models import Job

        return Job.objects.filter(pk=batch.job_id).first()
    if batch.status != BatchStatus.PREVIEWED:
        refuse(refusal("batch_closed"))
    if batch.preview.get("refusals"):
        refuse(*[refusal(r["code"], **r["params"]) for r in batch.preview["refusals"]])
    if (batch.preview.get("assigned") or 0) <= SYNC_LIMIT:
        commit(batch=batch, by=by, request=request)
        return None
    with transaction.atomic():
        claimed = AllocationBatch.objects.filter(pk=batch.pk, status=BatchStatus.PREVIEWED).update(status=BatchStatus.COMMITTING)
        if not claimed:
            refuse(refusal("batch_closed"))
        job = start_job(
            kind="allocation_commit",
            params={"batch_id": str(batch.pk), "user_id": getattr(by, "pk", None)},
            user=by,
            organisation=organisation,
            key=f"allocation-commit:{batch.pk}",
        )
        AllocationBatch.objects.filter(pk=batch.pk).update(job_id=job.pk)
    return job


def discard(*, batch: AllocationBatch, by, request=None) -> bool:
    discarded = AllocationBatch.objects.filter(pk=batch.pk, status__in=[BatchStatus.PREVIEWED, BatchStatus.REFUSED]).update(
        status=BatchStatus.DISCARDED
    )
    if discarded:
        record(Action.CHANGE, request=request, actor=by, obj=batch, event="allocation_discard")
    return bool(discarded)


def facets():
    """What the filter form offers: the regions and products present in the portfolio."""
    regions = list(Case.objects.exclude(region="").order_by("region").values_list("region", flat=True).distinct())
    products = list(Case.objects.exclude(product="").order_by("product").values_list("product", flat=True).distinct())
    return regions, products


def total_balance(qs):
    return qs.aggregate(total=Sum(Case.balance_expression()))["total"] or Decimal(0)
