from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Create the public tenant, its domain and the migrated lender template schema (idempotent)."

    def handle(self, *args, **options):
        services.ensure_public_tenant()
        template = services.ensure_template()
        services.ensure_clone_function(refresh=True)  # pick up a newer django-tenants' clone_schema()
        self.stdout.write(f"platform ready; template schema {template.schema_name}")
