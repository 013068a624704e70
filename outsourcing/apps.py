from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutsourcingConfig(AppConfig):
    name = "outsourcing"
    verbose_name = _("Outsourced collection")

    def ready(self):
        from . import access, case_panels, field_visit_fees, ledger_attribution, payments, statements

        access.register()
        payments.register()
        case_panels.register()
        statements.register()  # the "commission" kind of the core's statements (portal.fees)
        field_visit_fees.register()  # the "field_visit" kind, and its charges as ledger sources
        ledger_attribution.register()  # recoveries attributed to the agency, commission lines posted (portal.ledger)
