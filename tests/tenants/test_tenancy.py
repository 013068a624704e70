"""Tenant-awareness: cache keys, media paths, search_path hygiene, provisioning (reliability §2)."""

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from portal.middleware import ResetSchemaMiddleware
from tenants import services
from tenants.models import Domain, Lender


def current_schema():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_cache_keys_are_per_tenant(world):
    with tenant_context(world.lenders["acme"]):
        cache.set("dashboard", "acme's numbers")
    with tenant_context(world.lenders["beta"]):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta's numbers")
    with tenant_context(world.lenders["acme"]):
        assert cache.get("dashboard") == "acme's numbers"
        cache.delete("dashboard")
    with tenant_context(world.lenders["beta"]):
        cache.delete("dashboard")


@pytest.mark.django_db
def test_uploaded_files_live_under_the_tenants_own_folder(world, settings):
    with tenant_context(world.lenders["acme"]):
        name = default_storage.save("evidence/note.txt", ContentFile(b"acme only"))
        path = default_storage.path(name)
    try:
        assert path.startswith(str(settings.MEDIA_ROOT / "l_acme"))
        with tenant_context(world.lenders["beta"]):
            assert not default_storage.exists(name)
    finally:
        with tenant_context(world.lenders["acme"]):
            default_storage.delete(name)


@pytest.mark.django_db
def test_search_path_is_public_after_every_request(world, client_for):
    client = client_for("acme_manager", host="acme")
    assert client.get("/cases/").status_code == 200
    assert connection.schema_name == "public" and current_schema() == "public"
    assert client.get("/cases/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert connection.schema_name == "public" and current_schema() == "public"


@pytest.mark.django_db
def test_search_path_is_reset_even_when_a_view_raises(world):
    def view_that_fails(request):
        connection.set_tenant(world.lenders["acme"])
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ResetSchemaMiddleware(view_that_fails)(object())
    assert connection.schema_name == "public" and current_schema() == "public"


@pytest.mark.django_db
def test_savepoint_rollback_does_not_leave_a_stale_search_path(world):
    """django-tenants#1262: after a rolled-back savepoint, queries must run where the connection says."""
    acme, beta = world.lenders["acme"], world.lenders["beta"]
    from portal.models import Case

    with tenant_context(acme):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    connection.set_tenant(beta)
                    Case.objects.count()
                    raise ValueError
            except ValueError:
                pass
            assert current_schema() == connection.schema_name
            contract_numbers = set(Case.objects.values_list("contract_no", flat=True))
            expected = "l_beta" if connection.schema_name == "l_beta" else "l_acme"
            assert all(no.startswith(expected[2:].upper()) for no in contract_numbers)


@pytest.mark.django_db
def test_create_lender_command_provisions_schema_and_domain(world):
    call_command("create_lender", "gamma", "--name", "伽马金融")
    lender = Lender.objects.get(schema_name="l_gamma")
    assert Domain.objects.get(tenant=lender).domain == "gamma.localhost"
    with schema_context("l_gamma"):
        from portal.models import Case

        assert Case.objects.count() == 0  # the template's tables, none of its (or anyone's) rows


@pytest.mark.django_db
def test_cloned_schema_matches_a_migrated_one(world):
    """The fast path (clone the template) must give exactly the tables, columns, constraints, indexes,
    triggers and migration records that replaying every migration gives."""
    services.create_lender(slug="cloned", name="Cloned")
    services.create_lender(slug="replayed", name="Replayed", clone=False)

    def shape(schema):
        def rows(sql):
            with connection.cursor() as cursor:
                cursor.execute(sql, [schema])
                return sorted(tuple(str(v).replace(schema + ".", "<schema>.") for v in row) for row in cursor.fetchall())

        return {
            "columns": rows("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema=%s"),
            "constraints": rows(
                "SELECT c.relname, con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con "
                "JOIN pg_class c ON c.oid=con.conrelid JOIN pg_namespace n ON n.oid=con.connamespace WHERE n.nspname=%s"
            ),
            "indexes": rows("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname=%s"),
            "triggers": rows(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid=t.tgrelid "
                "JOIN pg_namespace n ON n.oid=c.relnamespace WHERE n.nspname=%s AND NOT t.tgisinternal"
            ),
            "migrations": rows("SELECT app, name FROM django_migrations WHERE %s IS NOT NULL"),
        }

    with schema_context("l_cloned"):
        cloned = shape("l_cloned")
    with schema_context("l_replayed"):
        replayed = shape("l_replayed")
    for part in ("columns", "constraints", "indexes", "triggers", "migrations"):
        assert cloned[part] == replayed[part], part
    assert any("append_only" in name for _table, name in cloned["triggers"])
    assert any(name == "contact_position_unique" for _table, name, _definition in cloned["constraints"])


@pytest.mark.django_db
def test_lender_slugs_are_validated(world):
    from django.core.exceptions import ValidationError

    for bad in ["A", "acme", "1abc", "has space", "x" * 40, "public"]:
        with pytest.raises(ValidationError):
            services.create_lender(slug=bad, name="Bad")


@pytest.mark.django_db
def test_provisioning_claims_a_spare_schema_by_renaming_it(world):
    from tenants.models import Organisation

    assert services.ensure_spare_schemas(count=1) == 1
    spare = Lender.objects.get(is_spare=True)
    assert spare not in Lender.objects.serving()
    lender = services.create_lender(slug="fromspare", name="From a spare")
    assert not Lender.objects.filter(is_spare=True).exists()
    assert lender.pk == spare.pk and Organisation.objects.get(pk=spare.organisation_id).slug == "fromspare"
    assert Domain.objects.get(tenant=lender).domain == "fromspare.localhost"
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname IN (%s, %s)", [spare.schema_name, lender.schema_name])
        assert [row[0] for row in cursor.fetchall()] == ["l_fromspare"]
    with schema_context("l_fromspare"):
        from portal.models import Case

        assert Case.objects.count() == 0
    assert services.ensure_spare_schemas(count=1) == 1  # refilled
