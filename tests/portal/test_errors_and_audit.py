"""Issue item 15: one error type translated one way; audit written by the services; the views' rules in plain functions.

* The apps' refusals (placement, workbench, conduct) are ``portal.errors.RuleError``s with a code; pages show them with
  ``errors.to_messages`` and the REST API answers an escaped one through ``errors.api_exception_handler``.
* A business change is audited by the service that makes it, whoever calls it: statement transitions (draft, refresh,
  approve, issue, discard), team changes (invite, remove a role, disable an account), engagements (engage, change
  status), licence and certificate decisions. Each test calls the service directly (no view) and finds one event.
* Rules that lived in views: the payments offered to match a report, who may decide/withdraw/comment on a dispute,
  a resent reversal (the same one answers with the recorded reversal; a different one is a conflict), the default
  scorecard comparison, the scorecard export rows.
"""

import datetime
import types
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import tenant_context

from outsourcing import scorecards, statements
from outsourcing.models import Statement, StatementStatus
from outsourcing.placement import PlacementRefused, refusal
from outsourcing.workbench.errors import ConductRefused, WorkbenchError
from portal import access, errors
from portal.audit.models import Action, AuditEvent
from portal.intake.errors import IntakeError
from portal.payments import services as payments
from portal.payments.models import Dispute, DisputeStatus, PaymentReversal
from portal.payments.visibility import dispute_rights
from tenants import services as tenants
from tenants.models import Engagement, EngagementStatus, Licence, Membership, Role
from tests.factories import CaseFactory, PaymentFactory, finance, place

pytestmark = pytest.mark.django_db


def in_acme(world):
    return tenant_context(world.lenders["acme"])


def events(**filters):
    return AuditEvent.objects.filter(**filters)


# ----------------------------------------------------------------- one error type
def test_the_apps_refusals_are_the_one_error_type_and_name_their_rule():
    assert issubclass(PlacementRefused, errors.RuleError)
    assert issubclass(WorkbenchError, errors.RuleError) and issubclass(ConductRefused, WorkbenchError)
    conduct = ConductRefused("No calls before 08:00.")
    assert conduct.message == "No calls before 08:00." and conduct.codes == ["conduct_refused"]
    assert WorkbenchError("Unknown number.", code="unknown_number").codes == ["unknown_number"]
    placement = PlacementRefused([refusal("placement_ended")])
    assert placement.codes == ["placement_ended"]
    # The import's file-level refusal too: one type, its reason shown the same way on a page and in str().
    assert issubclass(IntakeError, errors.RuleError)
    too_large = IntakeError("too_large", mb=20)
    assert too_large.codes == ["too_large"] and too_large.messages == [str(too_large)] == [too_large.message]
    assert "20" in too_large.message and IntakeError.from_dict(too_large.as_dict()).message == too_large.message


def _request_with_messages():
    request = RequestFactory().post("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_pages_show_every_reason_up_to_the_limit_and_say_how_many_more():
    request = _request_with_messages()
    errors.to_messages(request, errors.RuleError([errors.RuleError(f"Row {n} is refused.", code="row") for n in range(25)]))
    shown = [str(message) for message in get_messages(request)]
    assert shown[:2] == ["Row 0 is refused.", "Row 1 is refused."]
    assert len(shown) == errors.MAX_MESSAGES + 1 and "5" in shown[-1]
    request = _request_with_messages()
    errors.to_messages(request, ConductRefused("Over the daily cap."))
    assert [str(message) for message in get_messages(request)] == ["Over the daily cap."]


def test_the_api_answers_an_escaped_refusal_with_400_and_its_codes():
    from rest_framework.settings import api_settings

    assert api_settings.EXCEPTION_HANDLER is errors.api_exception_handler  # wired in REST_FRAMEWORK
    response = errors.api_exception_handler(WorkbenchError("Unknown number.", code="unknown_number"), {})
    assert response.status_code == 400
    assert response.data == {"errors": [{"code": "unknown_number", "detail": "Unknown number."}]}


# ----------------------------------------------------------------- audit in the services: statements
M2 = (timezone.localdate().replace(day=1) - datetime.timedelta(days=40)).replace(day=1)  # a month two back, over


def _statement_events(statement_id):
    return list(
        events(action=Action.CHANGE, object_type="fees.statement", object_id=str(statement_id))
        .order_by("at", "pk")
        .values_list("detail__what", flat=True)
    )


def test_each_statement_transition_is_audited_once_by_the_service(world):
    who = finance(world)
    with in_acme(world):
        cases = CaseFactory.create_batch(1, prefix="AUD-STM", dpd=150, principal_due="1000.00")
        place(world, cases, now=datetime.datetime.combine(M2, datetime.time(8), tzinfo=timezone.get_current_timezone()))
        PaymentFactory(case=cases[0], amount=Decimal("100.00"), paid_on=M2.replace(day=10), reference="AUD-STM-1")
        statement = statements.draft_statement(partner=world.orgs["xagency"], period=M2, created_by=who)
        assert _statement_events(statement.pk) == ["statement drafted"]
        statements.draft_statement(partner=world.orgs["xagency"], period=M2, created_by=who)
        assert _statement_events(statement.pk) == ["statement drafted", "statement refreshed"]
        statements.approve(statement=statement, approved_by=who)
        statements.issue(statement=statement, issued_by=who, render=lambda locked: b"%PDF-1.4 audit test")
        assert _statement_events(statement.pk) == [
            "statement drafted",
            "statement refreshed",
            "statement sent for review",  # statements.approve sends a draft for the partner's review, then approves
            "statement approved",
            "statement issued",
        ]
        assert set(events(object_type="fees.statement", object_id=str(statement.pk)).values_list("actor_id", flat=True)) == {who.pk}
        assert Statement.objects.get(pk=statement.pk).status == StatementStatus.ISSUED


def test_discarding_a_draft_is_audited_by_the_service(world):
    who = finance(world)
    with in_acme(world):
        first_of_last_month = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        draft = statements.draft_statement(partner=world.orgs["yagency"], period=first_of_last_month, created_by=who)
        statements.discard_draft(statement=draft, discarded_by=who)
        assert _statement_events(draft.pk) == ["statement drafted", "statement discarded"]


# ----------------------------------------------------------------- audit in the services: people and partners
def _public_events(obj):
    connection.set_schema_to_public()
    return events(object_type=obj._meta.label_lower, object_id=str(obj.pk))


def test_team_changes_are_audited_by_the_services(world):
    connection.set_schema_to_public()
    admin = world.people["x_admin"].user
    invitation, _token = tenants.invite_member(
        organisation=world.orgs["xagency"], email="new.collector@x.test", role=Role.COLLECTOR, invited_by=admin
    )
    assert list(_public_events(invitation).values_list("action", "actor_id")) == [(Action.CREATE, admin.pk)]
    membership = tenants.add_member(organisation=world.orgs["xagency"], email="leaving@x.test", full_name="离职", role=Role.COLLECTOR)
    tenants.deactivate_membership(membership=membership, actor=admin)
    assert list(_public_events(membership).values_list("action", "actor_id")) == [(Action.CHANGE, admin.pk)]
    assert not Membership.objects.get(pk=membership.pk).is_active
    platform = world.people["platform"].user
    tenants.disable_user(user=membership.user, actor=platform)
    assert list(_public_events(membership.user).values_list("action", "detail")) == [(Action.CHANGE, {"is_active": False})]


def test_engagement_changes_are_audited_by_the_services(world):
    connection.set_schema_to_public()
    admin = world.people["acme_admin"].user
    engagement = tenants.engage_partner(lender=world.lenders["acme"], partner=world.orgs["zagency"], actor=admin)
    tenants.set_engagement_status(engagement=engagement, status=EngagementStatus.ACTIVE, actor=admin)
    tenants.set_engagement_status(engagement=engagement, status=EngagementStatus.SUSPENDED, actor=admin)
    recorded = list(_public_events(engagement).order_by("at", "pk").values_list("action", "detail__new"))
    assert recorded == [(Action.CREATE, None), (Action.CHANGE, EngagementStatus.ACTIVE), (Action.CHANGE, EngagementStatus.SUSPENDED)]
    # Engaging a partner already engaged changes nothing, and records nothing.
    assert tenants.engage_partner(lender=world.lenders["acme"], partner=world.orgs["zagency"], actor=admin) == engagement
    assert _public_events(engagement).count() == 3
    assert Engagement.objects.get(pk=engagement.pk).status == EngagementStatus.SUSPENDED


def test_a_licence_decision_is_audited_by_the_service(world):
    connection.set_schema_to_public()
    licence = Licence.objects.get(pk=world.orgs["zagency_licence"].pk)
    seen = set(_public_events(licence).values_list("pk", flat=True))  # the world's own verification, when it was built
    tenants.verify_licence(licence=licence, by=world.people["platform"].user, approve=False)
    assert list(_public_events(licence).exclude(pk__in=seen).values_list("action", "detail")) == [(Action.CHANGE, {"status": "rejected"})]


def test_creating_a_partner_organisation_is_audited_by_the_service(world):
    connection.set_schema_to_public()
    platform = world.people["platform"].user
    org = tenants.create_organisation(slug="audit-agency", name="审计催收", kind="agency", actor=platform)
    assert list(_public_events(org).values_list("action", "actor_id")) == [(Action.CREATE, platform.pk)]


# ----------------------------------------------------------------- rules out of the views: payments
def test_a_resent_reversal_answers_with_the_one_recorded_and_a_different_one_is_a_conflict(world):
    with in_acme(world):
        payment = PaymentFactory(
            case=CaseFactory(prefix="AUD-REV"), amount=Decimal("50.00"), paid_on=timezone.localdate(), reference="AUD-REV-1"
        )
        reversal, created = payments.reverse_payment_idempotent(payment=payment, reason="returned", note="退票", reversed_by=finance(world))
        assert created
        again, created = payments.reverse_payment_idempotent(payment=payment, reason="returned", note="退票 (resent)")
        assert (again.pk, created) == (reversal.pk, False)
        same_day, created = payments.reverse_payment_idempotent(
            payment=payment, reason="returned", note="退票", reversed_on=reversal.reversed_on
        )
        assert (same_day.pk, created) == (reversal.pk, False)
        with pytest.raises(errors.RuleError) as refused:
            payments.reverse_payment_idempotent(payment=payment, reason="error", note="误录")
        assert refused.value.codes == ["conflict"]
        with pytest.raises(errors.RuleError):
            payments.reverse_payment_idempotent(
                payment=payment, reason="returned", note="退票", reversed_on=reversal.reversed_on - datetime.timedelta(days=1)
            )
        assert PaymentReversal.objects.filter(payment=payment).count() == 1
        assert events(action=Action.CREATE, object_type="payments.paymentreversal").filter(object_id=str(reversal.pk)).count() == 1


def test_a_report_is_offered_the_standing_payments_of_its_case_within_a_month(world):
    with in_acme(world):
        case, other_case = CaseFactory(prefix="AUD-MATCH"), CaseFactory(prefix="AUD-MATCH")
        today = timezone.localdate()
        near = PaymentFactory(case=case, amount=Decimal("10.00"), paid_on=today - datetime.timedelta(days=3), reference="AUD-M-1")
        PaymentFactory(case=case, amount=Decimal("10.00"), paid_on=today - datetime.timedelta(days=45), reference="AUD-M-2")  # too far
        reversed_ = PaymentFactory(case=case, amount=Decimal("10.00"), paid_on=today - datetime.timedelta(days=1), reference="AUD-M-3")
        payments.reverse_payment(payment=reversed_, reason="error", note="误录")
        PaymentFactory(case=other_case, amount=Decimal("10.00"), paid_on=today, reference="AUD-M-4")  # another case
        report = types.SimpleNamespace(pk=1, case_id=case.pk, paid_on=today)
        assert payments.match_candidates([report]) == {1: [near]}
        assert payments.match_candidates([]) == {}


def test_dispute_rights_the_lender_decides_the_raiser_withdraws_both_comment(world):
    acme = world.lenders["acme"]
    dispute = Dispute(raised_by_org_id=world.orgs["xagency"].pk, status=DisputeStatus.OPEN)
    connection.set_schema_to_public()
    lender_finance = dispute_rights(
        access.principal_for(world.people["acme_finance"].user, acme), dispute, lender_organisation_id=acme.organisation_id
    )
    agency_admin = dispute_rights(
        access.principal_for(world.people["x_admin"].user, acme), dispute, lender_organisation_id=acme.organisation_id
    )
    manager = dispute_rights(
        access.principal_for(world.people["acme_manager"].user, acme), dispute, lender_organisation_id=acme.organisation_id
    )
    assert (lender_finance.decide, lender_finance.withdraw, lender_finance.comment) == (True, False, True)
    assert (agency_admin.decide, agency_admin.withdraw, agency_admin.comment) == (False, True, True)
    assert (manager.decide, manager.withdraw, manager.comment) == (False, False, False)
    assert lender_finance.may_close(DisputeStatus.UPHELD) and not lender_finance.may_close(DisputeStatus.WITHDRAWN)
    assert agency_admin.may_close(DisputeStatus.WITHDRAWN) and not agency_admin.may_close(DisputeStatus.DISMISSED)
    assert dispute_rights(None, dispute, lender_organisation_id=acme.organisation_id).may_close(DisputeStatus.WITHDRAWN) is False


# ----------------------------------------------------------------- rules out of the views: scorecards
def _cohorts(cells, bucket=None, month_to=datetime.date(2025, 6, 1)):
    return scorecards.Cohorts(
        month_from=datetime.date(2025, 1, 1), month_to=month_to, bucket=bucket, partner_id=None, cells=cells, names={1: "甲", 2: "乙"}
    )


def _tally(placed):
    tally = scorecards.Tally()
    tally.placed = placed
    return tally


def test_the_default_comparison_is_the_latest_month_with_placements_and_its_largest_bucket():
    cells = {
        (1, datetime.date(2025, 3, 1), "M1"): _tally(5),
        (1, datetime.date(2025, 4, 1), "M1"): _tally(2),
        (2, datetime.date(2025, 4, 1), "M2"): _tally(3),
    }
    assert _cohorts(cells).compared_cohort() == (datetime.date(2025, 4, 1), "M2")
    assert _cohorts(cells).compared_cohort(None, "M1") == (datetime.date(2025, 4, 1), "M1")  # what is asked for is kept
    assert _cohorts(cells).compared_cohort(datetime.date(2025, 3, 1), "M1") == (datetime.date(2025, 3, 1), "M1")
    # With the range limited to one bucket: the latest month that bucket had placements.
    only_m1 = {key: tally for key, tally in cells.items() if key[2] == "M1"}
    assert _cohorts(only_m1, bucket="M1").compared_cohort() == (datetime.date(2025, 4, 1), "M1")
    # Nothing placed: the range's last month and the first bucket.
    assert _cohorts({}).compared_cohort() == (datetime.date(2025, 6, 1), "M1")


def test_the_scorecard_export_rows_have_a_header_and_leave_a_rate_without_base_empty():
    row = scorecards.ScorecardRow(partner_id=1, partner_name="=甲催收", month=datetime.date(2025, 4, 1), bucket="")
    table = scorecards.agency_export_rows([row])
    assert len(table) == 2 and len(table[0]) == len(table[1]) == 13
    assert table[1][:3] == ["=甲催收", "2025-04", "Every bucket"]  # the CSV writer neutralises formulas, not the rows
    assert table[1][6] == ""  # no placed balance: no recovery rate, not 0
    collectors = scorecards.collector_export_rows([scorecards.CollectorRow(collector_id=None)])
    assert collectors[1][0] == "Not assigned" and len(collectors[0]) == len(collectors[1]) == 9
