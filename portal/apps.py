from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _, gettext_noop

# Django's forms end every label with _(":") and its own zh_Hans catalogue leaves that half-width ("邮箱:").
# Marked here so makemessages keeps ":" in our catalogue (LOCALE_PATHS wins over Django's), translated "：".
LABEL_SUFFIX = gettext_noop(":")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Lender core")

    def ready(self):
        from tenants import hooks as tenant_hooks

        from . import checks, signals  # noqa: F401
        from .audit.log import record

        # The public schema's services (people, engagements) audit through the core's log (tenants may not import it).
        tenant_hooks.on_audit(record)
