"""Seed the four tiers, priced by active cases (在催案件数): 起步 ≤1,000 · 成长 ≤10,000 · 规模 ≤100,000 · 企业 unlimited."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    ("starter", "起步 Starter", Decimal("1980.00"), 1_000),
    ("growth", "成长 Growth", Decimal("9800.00"), 10_000),
    ("scale", "规模 Scale", Decimal("39800.00"), 100_000),
    ("enterprise", "企业 Enterprise", Decimal("98000.00"), None),
]


def seed(apps, schema_editor):
    if schema_editor.connection.schema_name != "public":
        return
    Plan = apps.get_model("subscriptions", "Plan")
    for code, name, price, limit in PLANS:
        Plan.objects.get_or_create(code=code, defaults={"name": name, "monthly_price": price, "max_active_cases": limit})


class Migration(migrations.Migration):
    dependencies = [("subscriptions", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
