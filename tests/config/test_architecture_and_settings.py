"""Project-wide promises: import direction, production settings, security headers."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

ROOT = settings.BASE_DIR


def test_imports_point_one_way():
    """tenants <- portal core <- outsourcing <- litigation (contracts in .importlinter)."""
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def production_env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_", "BLIND_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="prod-check-" + "k" * 60,
        DJANGO_ALLOWED_HOSTS="caseport.example,.caseport.example",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        BLIND_INDEX_KEY="blind-index-key-for-check",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        REDIS_URL="redis://127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        AXES_PROXY_COUNT="1",
        STRIPE_SECRET_KEY="sk_live_check",
        STRIPE_WEBHOOK_SECRET="whsec_live_check",
    )
    env.pop("S3_BUCKET", None)
    env.pop("STRIPE_API_BASE", None)
    env.update(overrides)
    return env


def run_deploy_check(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_production_settings_pass_the_deploy_check():
    result = run_deploy_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_without_the_encryption_keys():
    result = run_deploy_check(production_env(FIELD_ENCRYPTION_KEYS="", BLIND_INDEX_KEY=""))
    assert result.returncode != 0 and "caseport.E001" in result.stderr + result.stdout


def test_deploy_check_fails_without_a_shared_cache():
    env = production_env()
    del env["REDIS_URL"]
    result = run_deploy_check(env)
    assert result.returncode != 0 and "caseport.E004" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_celery_is_configured_to_survive_worker_loss():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    if "visibility_timeout" in settings.CELERY_BROKER_TRANSPORT_OPTIONS:
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT


def test_cache_keys_are_tenant_aware_by_configuration():
    assert settings.CACHES["default"]["KEY_FUNCTION"] == "django_tenants.cache.make_key"
    assert (
        settings.STORAGES["default"]["BACKEND"].endswith("TenantFileSystemStorage") or "Tenant" in settings.STORAGES["default"]["BACKEND"]
    )


@pytest.mark.django_db
def test_security_headers_and_no_store_on_signed_in_pages(world, client_for):
    response = client_for("acme_manager", host="acme").get("/cases/")
    csp = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_oversized_multipart_is_refused(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for("platform")
    files = {f"f{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)}
    response = client.post(f"/platform/organisations/{world.orgs['xagency'].pk}/", files)
    assert response.status_code == 400
