"""Safe defaults: manage.py starts production unless told otherwise, and `check --deploy` names every
setting production must choose on purpose (proxy count, broker, object storage)."""

import os
import subprocess
import sys

from django.conf import settings
from django.test import override_settings

from portal import checks

ROOT = settings.BASE_DIR


def ids(messages):
    return {message.id for message in messages}


def test_manage_py_defaults_to_production_settings_and_refuses_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_", "BLIND_"))}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_an_unset_proxy_count_is_flagged_with_the_lockout_it_would_cause():
    with override_settings(PROXY_COUNT=None):
        messages = checks.proxy_count(None)
    assert ids(messages) == {"caseport.W005"}
    assert "lock" in messages[0].hint  # the operator is told what goes wrong


def test_a_proxy_count_set_explicitly_passes_even_when_zero():
    for value in ("0", "1"):
        with override_settings(PROXY_COUNT=value):
            assert checks.proxy_count(None) == []


def test_the_filesystem_broker_is_refused_in_production():
    with override_settings(CELERY_BROKER_URL="filesystem://"):
        assert ids(checks.shared_broker(None)) == {"caseport.E006"}
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0"):
        assert checks.shared_broker(None) == []


def test_s3_bucket_is_refused_because_files_are_only_stored_on_disk():
    with override_settings(S3_BUCKET="caseport-files"):
        assert ids(checks.object_storage(None)) == {"caseport.E007"}
    with override_settings(S3_BUCKET=""):
        assert checks.object_storage(None) == []


def test_stripe_needs_its_own_keys_and_no_local_fake_in_production():
    test_keys = {"STRIPE_SECRET_KEY": "sk_test_caseport", "STRIPE_WEBHOOK_SECRET": "whsec_caseport_test", "STRIPE_API_BASE": None}
    with override_settings(**test_keys):
        assert ids(checks.stripe_keys(None)) == {"caseport.E008", "caseport.E009"}
    with override_settings(STRIPE_SECRET_KEY="sk_live_x", STRIPE_WEBHOOK_SECRET="whsec_live", STRIPE_API_BASE="http://127.0.0.1:8420"):
        assert ids(checks.stripe_keys(None)) == {"caseport.E010"}
    with override_settings(STRIPE_SECRET_KEY="sk_live_x", STRIPE_WEBHOOK_SECRET="whsec_live", STRIPE_API_BASE=None):
        assert checks.stripe_keys(None) == []


def test_each_new_check_is_registered_for_check_deploy():
    from django.core.checks import registry

    deploy = registry.registry.get_checks(include_deployment_checks=True)
    for check in (checks.proxy_count, checks.shared_broker, checks.object_storage, checks.stripe_keys):
        assert check in deploy


def test_email_and_password_reset_settings_exist():
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"  # tests read mail.outbox
    assert settings.DEFAULT_FROM_EMAIL and settings.PASSWORD_RESET_TIMEOUT > 0
