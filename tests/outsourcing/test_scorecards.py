"""Agency scorecards: cohorts by placement month and bucket, exact numbers, like for like, what each side sees."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import agreements, scorecards
from outsourcing.models import Placement, PlacementStatus
from outsourcing.workbench import services as workbench
from outsourcing.workbench.models import ContactAttempt, PromiseToPay
from portal.audit.models import Action, AuditEvent
from portal.lib import months
from portal.payments import services as payments
from portal.payments.models import Payment, ReversalReason
from tenants import services as tenant_services
from tests.factories import CaseFactory, PaymentFactory, place
from tests.matrix_outsourcing import terms

pytestmark = pytest.mark.django_db
D = Decimal
SHANGHAI = ZoneInfo("Asia/Shanghai")


def months_ago(count):
    return months.add_months(months.month_start(timezone.localdate()), -count)


MONTH_A, MONTH_B = months_ago(3), months_ago(2)


@dataclass
class Built:
    world: object
    start_a: datetime.datetime
    x: dict = field(default_factory=dict)  # name -> placement
    y: dict = field(default_factory=dict)


def at(month, day, hour=10):
    return datetime.datetime(month.year, month.month, day, hour, tzinfo=SHANGHAI)


def cases_in_bucket(n, *, placed_at, dpd, principal):
    """Cases that are ``dpd`` days past due on the day they are placed (so their bucket is known)."""
    days_since = (timezone.localdate() - placed_at.astimezone(SHANGHAI).date()).days
    return CaseFactory.create_batch(n, dpd=days_since + dpd, principal_due=principal, prefix="SC")


def attempt(world, p, collector, *, party="none", outcome="no_answer", when=None, organisation=None):
    when = when or p.starts_at + datetime.timedelta(days=1)
    debtor = party == "debtor"
    return ContactAttempt.objects.create(
        case_id=p.case_id,
        debtor_id=p.case.debtor_id,
        placement=p,
        organisation=organisation or p.partner,
        collector=world.people[collector].user,
        channel="phone",
        number_kind="mobile",
        number_dialled="13800138000",
        party_reached=party,
        identity_verified=debtor,
        identity_method="id_last4" if debtor else "",
        identity_verified_at=when if debtor else None,
        outcome=outcome,
        started_at=when,
        ended_at=when + datetime.timedelta(minutes=3),
        debtor_local_date=when.astimezone(SHANGHAI).date(),
    )


def promise(world, p, collector, status, amount="500.00"):
    call = attempt(world, p, collector, party="debtor", outcome="promise_to_pay")
    return PromiseToPay.objects.create(
        case_id=p.case_id,
        placement=p,
        attempt=call,
        amount=D(amount),
        promised_on=call.debtor_local_date,
        due_on=call.debtor_local_date + datetime.timedelta(days=7),
        status=status,
    )


def pay(p, amount, day, ref):
    return PaymentFactory(case=p.case, amount=D(amount), paid_on=day, reference=ref)


@pytest.fixture
def built(world):
    """Month A (three months ago): X gets four M2 cases of ¥1,000 and one M4 case of ¥5,000, Y two M2 cases of ¥2,000;
    month B: X two M2 cases of ¥1,000. Commission rates (tests.matrix_outsourcing.terms): M2 16 %, M4 18 % in round 1."""
    with tenant_context(world.lenders["acme"]):
        agreements.create_agreement(partner=world.orgs["yagency"], created_by=world.people["acme_manager"].user, terms=terms())
        start_a = at(MONTH_A, 10)
        x_m2 = place(world, cases_in_bucket(4, placed_at=start_a, dpd=45, principal="1000.00"), agency="xagency", now=start_a)
        x_m4 = place(world, cases_in_bucket(1, placed_at=start_a, dpd=100, principal="5000.00"), agency="xagency", now=start_a)
        y_m2 = place(world, cases_in_bucket(2, placed_at=start_a, dpd=45, principal="2000.00"), agency="yagency", now=start_a)
        start_b = at(MONTH_B, 12)
        x_b = place(world, cases_in_bucket(2, placed_at=start_b, dpd=45, principal="1000.00"), agency="xagency", now=start_b)
        assert {p.bucket for p in x_m2 + y_m2 + x_b} == {"M2"} and x_m4[0].bucket == "M4"
        c1, c2, c3, c4 = sorted(x_m2, key=lambda p: p.case.contract_no)
        (c5,) = x_m4
        y1, y2 = sorted(y_m2, key=lambda p: p.case.contract_no)
        admin = world.people["x_admin"].user
        later = start_a + datetime.timedelta(hours=1)
        workbench.assign_cases(
            placement_ids=[c1.pk, c2.pk],
            collector=world.people["x_collector"].user,
            agency=world.orgs["xagency"],
            assigned_by=admin,
            now=later,
        )
        workbench.assign_cases(
            placement_ids=[c3.pk, c4.pk, c5.pk],
            collector=world.people["x_collector2"].user,
            agency=world.orgs["xagency"],
            assigned_by=admin,
            now=later,
        )
        day = start_a.date()
        # Recoveries: on c1 and c2 (M2), c5 (M4), y1; one payment dated before c2 was placed earns no one anything.
        pay(c1, "300.00", day + datetime.timedelta(days=5), "SC-C1")
        pay(c2, "100.00", day + datetime.timedelta(days=5), "SC-C2")
        pay(c2, "50.00", day - datetime.timedelta(days=3), "SC-C2-BEFORE")
        pay(c5, "500.00", day + datetime.timedelta(days=6), "SC-C5")
        pay(y1, "1000.00", day + datetime.timedelta(days=7), "SC-Y1")
        # c2 goes to x_collector2 after its payment: the payment stays x_collector's.
        workbench.assign_cases(
            placement_ids=[c2.pk],
            collector=world.people["x_collector2"].user,
            agency=world.orgs["xagency"],
            assigned_by=admin,
            now=start_a + datetime.timedelta(days=10),
        )
        # Work on X's M2 cohort: c1 and c3 reached (2 of 4), one complaint, promises kept 2 / partly 1 / broken 1 / pending 1.
        promise(world, c1, "x_collector", "kept")
        promise(world, c1, "x_collector", "partly_kept")
        promise(world, c1, "x_collector", "pending")
        attempt(world, c2, "x_collector")
        attempt(world, c3, "x_collector2", party="debtor", outcome="complaint")
        promise(world, c3, "x_collector2", "broken")
        promise(world, c3, "x_collector2", "kept")
        attempt(world, c4, "x_collector2", party="third_party", outcome="third_party")
        # Y: y1 reached, no promise.
        attempt(world, y1, "y_collector", party="debtor", outcome="debtor_reached")
        yield Built(world=world, start_a=start_a, x={"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "b": x_b}, y={"y1": y1, "y2": y2})


@pytest.fixture(params=["per_placement", "per_table"])
def either_way(request, monkeypatch):
    """The numbers must not depend on how they are read: a small cohort placement by placement through the indexes,
    a large one by a hash join over each table (scorecards.PER_PLACEMENT_LIMIT decides; forced here both ways)."""
    monkeypatch.setattr(scorecards, "PER_PLACEMENT_LIMIT", 10**9 if request.param == "per_placement" else 0)
    return request.param


def row_of(rows, partner, month=MONTH_A):
    (row,) = [r for r in rows if r.partner_id == partner.pk and r.month == month]
    return row


def test_like_for_like_compares_one_month_and_one_bucket_with_exact_numbers(built, either_way):
    world = built.world
    rows = scorecards.cohort_comparison(MONTH_A, "M2")
    assert [r.partner_name for r in rows] == [world.orgs["xagency"].name, world.orgs["yagency"].name]
    x, y = rows
    # M4 and month B are left out.
    assert (x.placed, x.placed_balance, x.recovered, x.commission) == (4, D("4000.00"), D("400.00"), D("64.00"))
    assert (x.recovery_rate, x.contact_rate, x.promise_kept_rate) == (D("0.1000"), D("0.5000"), D("0.5000"))
    assert (x.attempts, x.complaints, x.complaints_per_thousand, x.commission_per_yuan) == (8, 1, D("250.0"), D("0.1600"))
    assert (x.promises_kept, x.promises_partly_kept, x.promises_broken, x.promises_pending) == (2, 1, 1, 1)
    assert (y.placed, y.placed_balance, y.recovered, y.commission) == (2, D("4000.00"), D("1000.00"), D("160.00"))
    assert (y.recovery_rate, y.contact_rate, y.promise_kept_rate, y.complaints) == (D("0.2500"), D("0.5000"), None, 0)
    assert y.promise_kept_rate_display == "—" and y.recovery_rate_display == "25.0%"


def test_agency_rows_per_month_sum_the_buckets_and_recompute_the_rates(built, either_way):
    world = built.world
    rows = scorecards.agency_scorecards(MONTH_A, MONTH_B)
    assert [(r.partner_id, r.month) for r in rows] == [
        (world.orgs["xagency"].pk, MONTH_B),
        (world.orgs["xagency"].pk, MONTH_A),
        (world.orgs["yagency"].pk, MONTH_A),
    ]
    x_a = row_of(rows, world.orgs["xagency"])
    assert (x_a.placed, x_a.placed_balance, x_a.recovered, x_a.commission) == (5, D("9000.00"), D("900.00"), D("154.00"))
    assert (x_a.recovery_rate, x_a.contact_rate, x_a.commission_per_yuan) == (D("0.1000"), D("0.4000"), D("0.1711"))
    assert x_a.complaints_per_thousand == D("200.0") and x_a.bucket == ""
    x_b = row_of(rows, world.orgs["xagency"], MONTH_B)
    assert (x_b.placed, x_b.placed_balance, x_b.recovered, x_b.recovery_rate, x_b.contact_rate) == (
        2,
        D("2000.00"),
        D("0.00"),
        D("0.0000"),
        D("0.0000"),
    )
    assert (x_b.promise_kept_rate, x_b.commission_per_yuan, x_b.commission_per_yuan_display) == (None, None, "—")
    only_m4 = scorecards.agency_scorecards(MONTH_A, MONTH_B, bucket="M4")
    assert [(r.placed, r.recovered, r.commission, r.bucket) for r in only_m4] == [(1, D("500.00"), D("90.00"), "M4")]
    split = scorecards.agency_scorecards(MONTH_A, MONTH_A, partner=world.orgs["xagency"], by_bucket=True)
    assert sorted((r.bucket, r.placed) for r in split) == [("M2", 4), ("M4", 1)]


def test_a_month_is_a_calendar_month_in_beijing_time(built, either_way):
    world = built.world
    first_of_b = at(MONTH_B, 1, 0).replace(minute=30)  # 16:30 UTC on the last day of month A
    last_of_a = first_of_b - datetime.timedelta(hours=1)
    for when, case in zip((first_of_b, last_of_a), CaseFactory.create_batch(2, prefix="SC-TZ"), strict=True):
        Placement.objects.create(
            case=case,
            partner=world.orgs["yagency"],
            status=PlacementStatus.EXPIRED,
            starts_at=when,
            ends_at=when + datetime.timedelta(days=30),
            bucket="M3",
            balance_at_placement=D("10.00"),
        )
    assert [(r.month, r.placed) for r in scorecards.agency_scorecards(MONTH_A, MONTH_B, bucket="M3")] == [(MONTH_B, 1), (MONTH_A, 1)]


def test_an_agency_gets_exactly_the_lenders_numbers_for_its_own_row_and_nothing_else(built, either_way):
    world = built.world
    lender_rows = scorecards.agency_scorecards(MONTH_A, MONTH_B)
    own = scorecards.agency_scorecards(MONTH_A, MONTH_B, partner=world.orgs["xagency"])
    assert own == [r for r in lender_rows if r.partner_id == world.orgs["xagency"].pk]
    assert scorecards.cohort_comparison(MONTH_A, "M2", partner=world.orgs["yagency"]) == [
        r for r in scorecards.cohort_comparison(MONTH_A, "M2") if r.partner_id == world.orgs["yagency"].pk
    ]


def test_only_the_placements_own_agency_counts_for_contacts_and_attempts(built, either_way):
    world = built.world
    c4 = built.x["c4"]  # X's, attempted once by X (a third party reached)
    attempt(world, c4, "y_collector", party="debtor", outcome="complaint", organisation=world.orgs["yagency"])  # another agency's
    x, _y = scorecards.cohort_comparison(MONTH_A, "M2")
    assert (x.placed, x.reached, x.attempts, x.complaints) == (4, 2, 8, 1)


def test_a_page_reads_the_cells_once_and_takes_the_functions_numbers_from_them(built, either_way, django_assert_num_queries):
    world = built.world
    other_month = months_ago(5)
    for partner in (None, world.orgs["xagency"], world.orgs["yagency"]):
        for bucket in (None, "M2", "M4"):
            cohorts = scorecards.cohorts(MONTH_A, MONTH_B, bucket=bucket, partner=partner)
            assert cohorts.rows() == scorecards.agency_scorecards(MONTH_A, MONTH_B, bucket=bucket, partner=partner)
            assert cohorts.rows(by_bucket=True) == scorecards.agency_scorecards(
                MONTH_A, MONTH_B, bucket=bucket, partner=partner, by_bucket=True
            )
            assert cohorts.busiest() == scorecards.busiest_cohort(MONTH_A, MONTH_B, partner=partner)
            for month in (MONTH_A, MONTH_B, other_month):
                for compare_bucket in ("M2", "M4", "M1"):
                    assert cohorts.comparison(month, compare_bucket) == scorecards.cohort_comparison(month, compare_bucket, partner=partner)
    cohorts = scorecards.cohorts(MONTH_A, MONTH_B)
    assert cohorts.busiest() == (MONTH_B, "M2")
    with django_assert_num_queries(0):  # a cohort of the range, every bucket read: nothing more to ask
        assert [r.placed for r in cohorts.comparison(MONTH_A, "M2")] == [4, 2]
        cohorts.busiest()
    only_m2 = scorecards.cohorts(MONTH_A, MONTH_B, bucket="M2")
    with django_assert_num_queries(0):
        assert only_m2.comparison(MONTH_A, "M2")[0].placed == 4


def test_collector_table_credits_the_caller_the_promiser_and_the_assignee_on_the_payment_date(built):
    world = built.world
    rows = scorecards.collector_scorecards(world.orgs["xagency"], MONTH_A, MONTH_A, bucket="M2")
    by_name = {r.name: r for r in rows}
    one, two = by_name["x_collector"], by_name["x_collector2"]
    assert (one.attempts, one.contacts, one.promises, one.promises_kept, one.promise_kept_rate, one.recovered) == (
        4,
        3,
        3,
        1,
        D("0.5000"),
        D("400.00"),
    )  # c2's payment predates its reassignment
    assert (two.attempts, two.contacts, two.promises, two.promises_kept, two.promise_kept_rate, two.recovered) == (
        4,
        3,
        2,
        1,
        D("0.5000"),
        D("0.00"),
    )
    every_bucket = {r.name: r.recovered for r in scorecards.collector_scorecards(world.orgs["xagency"], MONTH_A)}
    assert every_bucket == {"x_collector": D("400.00"), "x_collector2": D("500.00")}
    assert not any(r.name == "y_collector" for r in rows)
    # Y never assigned its cases: the caller keeps the call, the recovery goes to the "not assigned" row, listed last.
    y_rows = scorecards.collector_scorecards(world.orgs["yagency"], MONTH_A)
    assert [(r.collector_id is None, r.name, r.attempts, r.recovered) for r in y_rows] == [
        (False, "y_collector", 1, D("0.00")),
        (True, "", 0, D("1000.00")),
    ]


def test_a_clawback_is_taken_from_the_collector_the_payment_was_credited_to(built):
    """A reversal is dated its own day, but the recovery it takes back was credited on the payment's date: the minus
    goes to the same collector, even after the case moved to another one."""
    world = built.world
    c1 = built.x["c1"]
    workbench.assign_cases(
        placement_ids=[c1.pk],
        collector=world.people["x_collector2"].user,
        agency=world.orgs["xagency"],
        assigned_by=world.people["x_admin"].user,
        now=built.start_a + datetime.timedelta(days=12),
    )
    reversed_on = built.start_a.date() + datetime.timedelta(days=20)
    payments.reverse_payment(
        payment=Payment.objects.get(reference="SC-C1"),
        reason=ReversalReason.RETURNED,
        note="退票",
        reversed_on=reversed_on,
        now=at(MONTH_A, 1) + datetime.timedelta(days=40),
    )
    by_name = {r.name: r.recovered for r in scorecards.collector_scorecards(world.orgs["xagency"], MONTH_A, bucket="M2")}
    assert by_name == {"x_collector": D("100.00"), "x_collector2": D("0.00")}  # was 400 / 0: the 300 came off x_collector


def test_nothing_placed_means_no_rows(world):
    with tenant_context(world.lenders["acme"]):
        assert scorecards.agency_scorecards(datetime.date(2001, 1, 1), datetime.date(2001, 3, 1)) == []
        assert scorecards.cohort_comparison(datetime.date(2001, 1, 1), "M2") == []
    assert scorecards.ratio(1, 0) is None and scorecards.percent(None) == "—"


# ----------------------------------------------------------------- pages


def page(client, **params):
    response = client.get("/outsourcing/scorecards/", params)
    assert response.status_code == 200
    return response.content.decode()


FILTER = {
    "month_from": MONTH_A.strftime("%Y-%m"),
    "month_to": MONTH_B.strftime("%Y-%m"),
    "compare_month": MONTH_A.strftime("%Y-%m"),
    "compare_bucket": "M2",
}


@pytest.mark.parametrize("persona", ["acme_admin", "acme_manager", "acme_finance"])
def test_lender_sees_every_agency_and_the_comparison_chart(built, client_for, persona):
    world = built.world
    body = page(client_for(persona, host="acme"), **FILTER)
    assert world.orgs["xagency"].name in body and world.orgs["yagency"].name in body
    assert "¥9,000.00" in body and "¥4,000.00" in body and "17.1%" not in body  # X month A (all buckets); Y month A
    assert "<svg" in body and 'class="sc-fill"' in body
    for text in ("10.0%", "25.0%", "50.0%"):  # X's and Y's recovery rates and X's contact/kept rate, as text on the bars
        assert f'class="sc-value" x="480" y="19">{text}</text>' in body
    # Recovery rates 10 % and 25 % on a 0–25 % scale: bars of 240 × 0.10 / 0.25 and 240 units.
    assert 'class="sc-fill" x="170" y="6" width="96.0"' in body and 'class="sc-fill" x="170" y="6" width="240.0"' in body
    assert "style=" not in body


def test_agency_admin_sees_its_own_numbers_and_collectors_but_not_the_other_agency(built, client_for):
    world = built.world
    body = page(client_for("x_admin", host="acme"), **FILTER)
    assert "¥9,000.00" in body and "¥400.00" in body
    assert world.orgs["yagency"].name not in body and "25.0%" not in body and "¥1,000.00" not in body
    assert "x_collector2" in body and "Contacts with the debtor" in body
    y_body = page(client_for("y_admin", host="acme"), **FILTER)
    assert "25.0%" in y_body and world.orgs["xagency"].name not in y_body and "x_collector" not in y_body


@pytest.mark.parametrize("persona", ["x_collector", "y_collector", "acme_legal", "acme_lawyer"])
def test_collectors_and_other_roles_are_refused(built, client_for, persona):
    client = client_for(persona, host="acme")
    assert client.get("/outsourcing/scorecards/").status_code == 403
    assert client.get("/outsourcing/scorecards/export.csv").status_code == 403


def test_empty_period_says_so(world, client_for):
    body = page(client_for("acme_manager", host="acme"), month_from="2001-01", month_to="2001-03")
    assert "No placements in this period." in body and "No placements in this cohort." in body


def test_bad_filters_fall_back_to_the_last_six_months(world, client_for):
    body = page(client_for("acme_manager", host="acme"), month_from="2026-09", month_to="2026-01", bucket="M9")
    assert "The first month comes after the last." in body


def _csv_rows(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_is_the_table_neutralised_and_audited(built, client_for):
    world = built.world
    with tenant_context(world.lenders["acme"]):
        odd = tenant_services.create_organisation(slug="formula-agency", name='=HYPERLINK("x")', kind="agency")
        case = CaseFactory(prefix="SC-ODD")
        Placement.objects.create(
            case=case,
            partner=odd,
            status=PlacementStatus.EXPIRED,
            starts_at=built.start_a,
            ends_at=built.start_a + datetime.timedelta(days=30),
            bucket="M2",
            balance_at_placement=D("10.00"),
        )
    response = client_for("acme_finance", host="acme").get("/outsourcing/scorecards/export.csv", FILTER)
    rows = _csv_rows(response)
    assert rows[0][:4] == ["Agency", "Placement month", "Bucket", "Placed"]
    x_a = [r for r in rows if r[0] == world.orgs["xagency"].name and r[1] == MONTH_A.strftime("%Y-%m")][0]
    assert x_a[3:9] == ["5", "9000.00", "900.00", "0.1000", "0.4000", "0.5000"] and x_a[-2:] == ["154.00", "0.1711"]
    assert any(r[0] == '\'=HYPERLINK("x")' for r in rows)
    with tenant_context(world.lenders["acme"]):
        event = AuditEvent.objects.filter(action=Action.EXPORT, object_type="outsourcing.scorecard").latest("at")
        assert event.actor_id == world.people["acme_finance"].user.pk and event.detail["rows"] == len(rows) - 1


def test_agency_export_holds_only_its_own_rows_and_its_collectors(built, client_for):
    world = built.world
    client = client_for("x_admin", host="acme")
    rows = _csv_rows(client.get("/outsourcing/scorecards/export.csv", FILTER))
    assert {r[0] for r in rows[1:]} == {world.orgs["xagency"].name}
    collectors = _csv_rows(client.get("/outsourcing/scorecards/export.csv", {**FILTER, "table": "collectors"}))
    assert collectors[0][0] == "Collector" and {r[0] for r in collectors[1:]} == {"x_collector", "x_collector2"}
    lender = _csv_rows(client_for("acme_manager", host="acme").get("/outsourcing/scorecards/export.csv", {**FILTER, "table": "collectors"}))
    assert lender[0][0] == "Agency"  # the collector table is the agency's own report


def test_with_a_bucket_chosen_the_default_comparison_is_that_buckets_latest_month(built, client_for):
    """M4 had placements only in month A; month B is later but has none of it: the chart compares month A's M4."""
    body = page(
        client_for("acme_manager", host="acme"), month_from=MONTH_A.strftime("%Y-%m"), month_to=MONTH_B.strftime("%Y-%m"), bucket="M4"
    )
    assert f"cases placed in {MONTH_A:%Y-%m}, bucket M4" in body and "<svg" in body
