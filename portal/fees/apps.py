from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeesConfig(AppConfig):
    name = "portal.fees"
    label = "fees"
    verbose_name = _("Statements and invoices")

    def ready(self):
        from billing import hooks

        from . import services

        # Statement charges' outcomes and payouts come back through billing's hooks (billing never imports us).
        hooks.register_charge_handler(services.PURPOSE, services.on_charge)
        hooks.register_payout(services.PURPOSE, services.payout)
