"""python manage.py import_cases --tenant SLUG FILE [--commit] [--json] [--mapping NAME]

Checks every row of FILE for the lender SLUG and, with --commit, imports the
valid ones in one transaction: the same functions as the import page and the
API. With --json it prints {"rows", "valid", "created", "updated",
"rejected": [{"row", "column", "message"}]} (row numbers count the header as
row 1). Exits 1 when the file as a whole cannot be read.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from portal.intake import services
from portal.intake.errors import IntakeError
from portal.intake.models import BatchSource
from tenants.models import Lender


class Command(BaseCommand):
    help = "Check a CSV/XLSX file of cases for a lender and, with --commit, import its valid rows."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, UTF-8 with BOM, GB18030) or XLSX")
        parser.add_argument("--tenant", required=True, help="the lender's short name (its host is <slug>.<base domain>)")
        parser.add_argument("--commit", action="store_true", help="import the valid rows (otherwise only check)")
        parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
        parser.add_argument("--mapping", default="", help="name of a column mapping saved on the import page")

    def handle(self, *args, **options):
        lender = Lender.objects.filter(organisation__slug=options["tenant"], is_template=False).exclude(schema_name="public").first()
        if lender is None:
            raise CommandError(f"no lender with the short name {options['tenant']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with tenant_context(lender):
            try:
                batch, verdict = services.import_now(
                    content=path.read_bytes(),
                    original_name=path.name,
                    commit=options["commit"],
                    source=BatchSource.COMMAND,
                    mapping_name=options["mapping"],
                )
            except IntakeError as error:
                raise CommandError(error.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(verdict.as_json(), ensure_ascii=False))
            return
        self.stdout.write(f"{path.name}: {verdict.rows} rows, {verdict.valid} valid, {verdict.rejected_rows} with problems")
        for error in verdict.errors[:50]:
            self.stdout.write(f"  row {error.row}, {error.column}: {error.message}")
        if len(verdict.errors) > 50:
            self.stdout.write(f"  … and {len(verdict.errors) - 50} more (see the import {batch.pk} on the import page)")
        if options["commit"]:
            self.stdout.write(
                self.style.SUCCESS(f"imported: {verdict.created} created, {verdict.updated} updated, {verdict.unchanged} unchanged")
            )
        else:
            self.stdout.write("nothing was imported (add --commit to import the valid rows)")
