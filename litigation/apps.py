from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LitigationConfig(AppConfig):
    name = "litigation"
    verbose_name = _("Litigation")

    def ready(self):
        from . import access, batch, case_panels, fee_lines, ledger_attribution  # noqa: F401  (batch registers the packet_batch job handler)

        access.register()
        case_panels.register()
        ledger_attribution.register()  # recoveries attributed to the firm, legal costs posted (portal.ledger)
        fee_lines.register()  # fixed and success fees (portal.payments.hooks), their ledger entries, the "legal_fee" statement kind
