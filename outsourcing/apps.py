from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutsourcingConfig(AppConfig):
    name = "outsourcing"
    verbose_name = _("Outsourced collection")

    def ready(self):
        from . import access, case_panels, payments

        access.register()
        payments.register()
        case_panels.register()
