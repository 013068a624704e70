"""The audit log: what is written, and that the database refuses to rewrite it."""

import pytest
from django.db import ProgrammingError, connection, transaction
from django_tenants.utils import tenant_context

from portal.audit.log import record
from portal.audit.models import Action, AuditEvent


@pytest.mark.django_db
def test_viewing_a_debtor_is_audited_in_the_lenders_schema(world, client_for):
    client = client_for("x_collector", host="acme")
    case = world.cases["acme_placed"]
    assert client.get(f"/cases/{case.pk}/", REMOTE_ADDR="10.3.3.3").status_code == 200
    with tenant_context(world.lenders["acme"]):
        event = AuditEvent.objects.filter(action=Action.VIEW_PERSONAL_DATA, case_id=str(case.pk)).latest("at")
    assert event.actor_id == world.people["x_collector"].user.pk
    assert event.organisation_name == world.orgs["xagency"].name
    assert event.tenant == "l_acme" and event.ip == "10.3.3.3" and event.path == f"/cases/{case.pk}/"
    assert not AuditEvent.objects.filter(action=Action.VIEW_PERSONAL_DATA, case_id=str(case.pk)).exists()  # not in public


@pytest.mark.django_db
def test_masked_by_default_and_revealing_is_audited(world, client_for):
    case = world.cases["acme_placed"]
    full = case.debtor.id_number
    manager = client_for("acme_manager", host="acme")
    page = manager.get(f"/cases/{case.pk}/").content.decode()
    assert full not in page and case.debtor.id_number_masked in page
    revealed = manager.post(f"/cases/{case.pk}/reveal-id/").content.decode()
    assert full in revealed
    with tenant_context(world.lenders["acme"]):
        assert AuditEvent.objects.filter(action=Action.REVEAL, case_id=str(case.pk), actor_id=world.people["acme_manager"].user.pk).exists()
    # A collector verifies identity with the last four digits; the full number is not theirs to see.
    collector = client_for("x_collector", host="acme")
    assert full not in collector.get(f"/cases/{case.pk}/").content.decode()
    assert collector.post(f"/cases/{case.pk}/reveal-id/").status_code == 403


@pytest.mark.django_db
def test_refusals_are_audited(world, client_for):
    case = world.cases["acme_unplaced"]
    client_for("y_admin", host="acme").get(f"/cases/{case.pk}/")
    client_for("beta_manager", host="acme").get("/cases/")
    with tenant_context(world.lenders["acme"]):
        denied = AuditEvent.objects.filter(action=Action.ACCESS_DENIED)
        assert denied.filter(actor_id=world.people["y_admin"].user.pk, case_id=str(case.pk)).exists()
        assert denied.filter(actor_id=world.people["beta_manager"].user.pk, object_type="workspace").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("schema", ["public", "acme"])
def test_the_database_refuses_to_change_or_delete_audit_rows(schema, world):
    def attempt():
        event = record(Action.CHANGE, object_type="test", object_id="1")
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action=Action.LOGIN)
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_email = 'rewritten' WHERE id = %s", [event.pk])
        assert AuditEvent.objects.get(pk=event.pk).action == Action.CHANGE

    if schema == "public":
        attempt()
    else:
        with tenant_context(world.lenders[schema]):  # a schema cloned from the template keeps the trigger
            attempt()


@pytest.mark.django_db
def test_model_history_records_bulk_updates_in_the_tenant(world):
    from portal.models import Case

    with tenant_context(world.lenders["acme"]):
        case = world.cases["acme_unplaced"]
        Case.objects.filter(pk=case.pk).update(product="新产品")
        events = Case.pgh_event_model.objects.filter(pgh_obj_id=case.pk, pgh_label="update")
        assert events.filter(product="新产品").exists()
