from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self):
        # pgtrigger teaches Django's makemigrations/migrate about triggers by
        # patching their autodetector; django-tenants replaces `migrate` with
        # its own command, which must use the same one (Django 5.2 check E001).
        from django.core.management.commands import makemigrations
        from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

        from . import signals  # noqa: F401

        MigrateSchemasCommand.autodetector = makemigrations.Command.autodetector
