from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LitigationConfig(AppConfig):
    name = "litigation"
    verbose_name = _("Litigation")

    def ready(self):
        from . import access, batch, case_panels  # noqa: F401  (batch registers the packet_batch job handler)

        access.register()
        case_panels.register()
