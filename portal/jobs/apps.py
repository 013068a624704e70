from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "portal.jobs"
    label = "jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("job_handlers")
