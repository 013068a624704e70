from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutsourcingConfig(AppConfig):
    name = "outsourcing"
    verbose_name = _("Outsourced collection")

    def ready(self):
        from . import access, case_panels, ledger_attribution, payments, statements

        access.register()
        payments.register()
        case_panels.register()
        statements.register()  # the "commission" kind of the core's statements (portal.fees)
        ledger_attribution.register()  # recoveries attributed to the agency, commission lines posted (portal.ledger)
