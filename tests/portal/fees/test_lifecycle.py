"""One lifecycle for every statement (portal.fees): draft → partner review (line disputes) → approval → issued →
paid, each step refused out of turn, the database keeping issued statements final; totals always the lines' sums."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from outsourcing.models import CommissionLine
from portal.audit.models import Action, AuditEvent
from portal.fees import services
from portal.fees.models import DisputeStatus, LineDispute, Statement, StatementStatus
from tests.factories import finance
from tests.portal.fees.support import M3, M4, day, draft, in_review, pay, placed

pytestmark = pytest.mark.django_db
D = Decimal


def partner_user(world, persona="x_admin"):
    return world.people[persona].user


def refused(code, call):
    with pytest.raises(ValidationError) as excinfo:
        call()
    assert excinfo.value.code == code, excinfo.value
    return excinfo.value


def sums(statement):
    lines = CommissionLine.objects.filter(statement=statement)
    return (lines.count(), sum((line.recovered for line in lines), D("0.00")), sum((line.commission for line in lines), D("0.00")))


def stored(statement):
    statement = Statement.objects.get(pk=statement.pk)
    return statement.line_count, statement.base_total, statement.amount_total


def test_the_whole_lifecycle_each_step_recorded_and_audited(acme):
    world = acme
    a, b = placed(world, 2)
    pay(a, "1000.00", day(M4, 5), "FEE-L1")
    pay(b, "250.50", day(M4, 20), "FEE-L2")
    statement = draft(world)
    assert statement.status == StatementStatus.DRAFT and statement.number.startswith(f"CS{M4:%Y%m}-")
    assert stored(statement) == sums(statement) and statement.line_count == 2
    statement = services.send_for_review(statement=statement, sent_by=finance(world))
    assert statement.status == StatementStatus.IN_REVIEW and statement.sent_by == finance(world) and statement.sent_at
    statement = services.partner_accept(statement=statement, accepted_by=partner_user(world))
    assert statement.accepted_by == partner_user(world) and statement.status == StatementStatus.IN_REVIEW
    statement = services.approve(statement=statement, approved_by=finance(world))
    assert statement.status == StatementStatus.APPROVED and statement.approved_at
    statement = services.issue(statement=statement, issued_by=finance(world), render=lambda locked: b"%PDF-1.7 lifecycle")
    assert statement.status == StatementStatus.ISSUED and services.issued_document(statement) == b"%PDF-1.7 lifecycle"
    whats = list(
        AuditEvent.objects.filter(action=Action.CHANGE, object_type="fees.statement", object_id=str(statement.pk))
        .order_by("at", "pk")
        .values_list("detail__what", flat=True)
    )
    assert whats == [
        "statement drafted",
        "statement sent for review",
        "statement accepted by the partner",
        "statement approved",
        "statement issued",
    ]


def test_each_step_is_refused_out_of_turn(acme):
    world = acme
    a = placed(world)[0]
    line = pay(a, "400.00", day(M4, 9), "FEE-T1")
    statement = draft(world)
    who, partner = finance(world), partner_user(world)
    refused("not_in_review", lambda: services.approve(statement=statement, approved_by=who))
    refused("not_in_review", lambda: services.partner_accept(statement=statement, accepted_by=partner))
    refused("not_in_review", lambda: services.open_dispute(statement=statement, line_id=line.pk, reason="x", opened_by=partner))
    refused("not_approved", lambda: services.issue(statement=statement, issued_by=who, render=lambda s: b"%PDF"))
    refused("not_payable", lambda: services.pay(statement=statement, paid_by=who))
    statement = services.send_for_review(statement=statement, sent_by=who)
    refused("not_draft", lambda: services.send_for_review(statement=statement, sent_by=who))
    refused("not_draft", lambda: services.discard_draft(statement=statement, discarded_by=who))
    refused("not_draft", lambda: draft(world))  # the month's statement is out of draft: nothing is added any more
    refused("not_approved", lambda: services.issue(statement=statement, issued_by=who, render=lambda s: b"%PDF"))
    # The database refuses deleting anything but a draft, whoever asks.
    with pytest.raises(Exception, match="fees_statement"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM fees_statement WHERE id = %s", [statement.pk])


def test_a_month_not_over_cannot_be_sent_nor_approved_and_an_empty_one_neither(acme):
    world = acme
    current = world.statements["acme_x"]  # this month's draft (tests/matrix_statements.py)
    refused("month_open", lambda: services.send_for_review(statement=current, sent_by=finance(world)))
    empty = draft(world, M4, agency="yagency")
    refused("empty", lambda: services.send_for_review(statement=empty, sent_by=finance(world)))
    assert Statement.objects.get(pk=empty.pk).status == StatementStatus.DRAFT


def test_a_statement_for_the_wrong_kind_of_partner_is_refused(acme):
    world = acme
    refused("wrong_partner", lambda: services.draft(kind="commission", partner=world.orgs["lfirm"], period=M4))


# ----------------------------------------------------------------- line disputes


def test_an_upheld_dispute_takes_the_line_off_and_the_totals_still_equal_the_lines(acme):
    world = acme
    a, b = placed(world, 2)
    keep = pay(a, "1000.00", day(M4, 5), "FEE-D1")
    wrong = pay(b, "333.33", day(M4, 6), "FEE-D2")
    statement = in_review(world)
    dispute = services.open_dispute(statement=statement, line_id=wrong.pk, reason="不是我们催回的", opened_by=partner_user(world))
    error = refused("disputed", lambda: services.approve(statement=statement, approved_by=finance(world)))
    assert "1 line is under an open dispute" in error.messages[0]
    refused("disputed", lambda: services.partner_accept(statement=statement, accepted_by=partner_user(world)))
    refused(
        "already_disputed",
        lambda: services.open_dispute(statement=statement, line_id=wrong.pk, reason="again", opened_by=partner_user(world)),
    )
    refused(
        "resolution_required", lambda: services.resolve_dispute(dispute=dispute, upheld=True, resolution=" ", resolved_by=finance(world))
    )
    services.resolve_dispute(dispute=dispute, upheld=True, resolution="核实为借款人直接还款，非委外期间", resolved_by=finance(world))
    dispute.refresh_from_db()
    assert (dispute.status, dispute.resolved_by, dispute.resolution) == (
        DisputeStatus.UPHELD,
        finance(world),
        "核实为借款人直接还款，非委外期间",
    )
    wrong.refresh_from_db()
    assert wrong.statement_id is None  # back in the pool: the next statement takes it
    assert stored(statement) == sums(statement) == (1, keep.recovered, keep.commission)
    approved = services.approve(statement=statement, approved_by=finance(world))
    assert approved.status == StatementStatus.APPROVED
    later = draft(world, M3)
    assert list(CommissionLine.objects.filter(statement=later)) == [wrong]
    refused("decided", lambda: services.resolve_dispute(dispute=dispute, upheld=False, resolution="x", resolved_by=finance(world)))
    # A decided dispute is final in the database.
    with pytest.raises(Exception, match="fees_linedispute"), transaction.atomic():
        LineDispute.objects.filter(pk=dispute.pk).update(resolution="rewritten")


def test_a_dismissed_dispute_keeps_the_line_with_the_reasons(acme):
    world = acme
    a = placed(world)[0]
    line = pay(a, "800.00", day(M4, 12), "FEE-DS1")
    statement = in_review(world)
    before = stored(statement)
    dispute = services.open_dispute(statement=statement, line_id=line.pk, reason="费率应为 10%", opened_by=partner_user(world))
    services.resolve_dispute(dispute=dispute, upheld=False, resolution="协议第 1 版约定 15%", resolved_by=finance(world))
    dispute.refresh_from_db()
    line.refresh_from_db()
    assert dispute.status == DisputeStatus.DISMISSED and dispute.resolution == "协议第 1 版约定 15%"
    assert line.statement_id == statement.pk and stored(statement) == before == sums(statement)
    assert services.approve(statement=statement, approved_by=finance(world)).status == StatementStatus.APPROVED


def test_only_a_line_of_the_statement_can_be_disputed_and_a_reason_is_required(acme):
    world = acme
    a = placed(world)[0]
    pay(a, "100.00", day(M4, 2), "FEE-DX1")
    statement = in_review(world)
    elsewhere = world.fees["acme_x_line"]  # X's line on another statement (tests/matrix_fees.py)
    refused(
        "not_on_statement",
        lambda: services.open_dispute(statement=statement, line_id=elsewhere.pk, reason="x", opened_by=partner_user(world)),
    )
    line = CommissionLine.objects.filter(statement=statement).get()
    refused(
        "reason_required", lambda: services.open_dispute(statement=statement, line_id=line.pk, reason="  ", opened_by=partner_user(world))
    )


def test_a_dispute_withdraws_an_earlier_acceptance(acme):
    world = acme
    a = placed(world)[0]
    line = pay(a, "120.00", day(M4, 2), "FEE-AC1")
    statement = services.partner_accept(statement=in_review(world), accepted_by=partner_user(world))
    assert statement.accepted_at
    services.open_dispute(statement=statement, line_id=line.pk, reason="金额有误", opened_by=partner_user(world))
    assert Statement.objects.get(pk=statement.pk).accepted_at is None
