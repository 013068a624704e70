from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "portal.ledger"
    label = "ledger"
    verbose_name = _("Fee ledger")

    def ready(self):
        from . import case_panels, sources

        sources.register()  # payments, reversals and corrections post their entries inside their own transaction
        case_panels.register()  # the net-recovery panel on the lender's case page
