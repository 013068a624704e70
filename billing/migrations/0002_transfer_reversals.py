"""Transfer reversals (a refunded payment takes its payout back): new statuses, the reversal's own idempotency key
(a distinct key per existing row, written before the column becomes unique), its Stripe id and time."""

from django.db import migrations, models

import billing.models


def give_each_transfer_its_own_key(apps, schema_editor):
    Transfer = apps.get_model("billing", "Transfer")
    for transfer in Transfer.objects.filter(reversal_idempotency_key__isnull=True).only("pk"):
        Transfer.objects.filter(pk=transfer.pk).update(reversal_idempotency_key=billing.models.new_key())


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.AddField(model_name="transfer", name="reversal_idempotency_key", field=models.CharField(max_length=64, null=True)),
        migrations.RunPython(give_each_transfer_its_own_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="transfer",
            name="reversal_idempotency_key",
            field=models.CharField(default=billing.models.new_key, editable=False, max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="transfer",
            name="stripe_reversal_id",
            field=models.CharField(blank=True, max_length=255, null=True, unique=True),
        ),
        migrations.AddField(model_name="transfer", name="reversed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AlterField(
            model_name="transfer",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled: the payment was refunded first"),
                    ("reversing", "Being taken back: the payment was refunded"),
                    ("reversed", "Taken back"),
                ],
                default="pending",
                max_length=12,
            ),
        ),
    ]
