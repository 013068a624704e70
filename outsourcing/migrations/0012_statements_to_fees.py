"""Commission statements move to the core's one lifecycle (portal.fees, issue 10 item 3).

Every outsourcing.Statement row becomes a fees.Statement with the same id, number, status, totals, document and
audit fields (kind = commission); its pghistory events are copied with it, so the history reads on. Then the
commission lines' ``statement`` foreign key points to fees.Statement (the ids are the same, so every line keeps
its statement) and the old model, its event model and its triggers are dropped.

The triggers go first: the old table's protection of issued statements and its history triggers must not see
the move (DROP TABLE fires no row trigger, but the operations are explicit so that pgtrigger's state agrees).
The new table's own insert-history trigger records an "insert" event stamped with the moment of the move; those
are removed and the original history is copied instead.
"""

import django.db.models.deletion
import pgtrigger.migrations
from django.db import migrations, models

COPY_STATEMENTS = """
INSERT INTO fees_statement (
    id, kind, number, partner_id, period, period_end, status, line_count, base_total, amount_total,
    document, document_sha256, created_by_id, created_at, approved_by_id, approved_at, issued_by_id, issued_at,
    charge_reference, payment_failure, refund_count
)
SELECT id, 'commission', number, partner_id, period, period_end, status, line_count, recovered_total, commission_total,
       document, document_sha256, created_by_id, created_at, approved_by_id, approved_at, issued_by_id, issued_at,
       '', '', 0
  FROM outsourcing_statement;
DELETE FROM fees_statementevent WHERE pgh_obj_id IN (SELECT id FROM outsourcing_statement);
INSERT INTO fees_statementevent (
    pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id,
    id, kind, number, partner_id, period, period_end, status, line_count, base_total, amount_total,
    document, document_sha256, created_by_id, created_at, approved_by_id, approved_at, issued_by_id, issued_at,
    charge_reference, payment_failure, refund_count
)
SELECT pgh_created_at, pgh_label, pgh_obj_id, pgh_context_id,
       id, 'commission', number, partner_id, period, period_end, status, line_count, recovered_total, commission_total,
       document, document_sha256, created_by_id, created_at, approved_by_id, approved_at, issued_by_id, issued_at,
       '', '', 0
  FROM outsourcing_statementevent
 ORDER BY pgh_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("fees", "0001_initial"),
        ("outsourcing", "0011_commission_applied"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="statement", name="statement_issued_is_final"),
        pgtrigger.migrations.RemoveTrigger(model_name="statement", name="insert_insert"),
        pgtrigger.migrations.RemoveTrigger(model_name="statement", name="update_update"),
        migrations.RunSQL(COPY_STATEMENTS, reverse_sql=migrations.RunSQL.noop, elidable=False),
        migrations.AlterField(
            model_name="commissionline",
            name="statement",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="commission_lines", to="fees.statement"
            ),
        ),
        migrations.RemoveField(model_name="statementevent", name="pgh_obj"),
        migrations.RemoveField(model_name="statementevent", name="approved_by"),
        migrations.RemoveField(model_name="statementevent", name="created_by"),
        migrations.RemoveField(model_name="statementevent", name="issued_by"),
        migrations.RemoveField(model_name="statementevent", name="partner"),
        migrations.RemoveField(model_name="statementevent", name="pgh_context"),
        migrations.DeleteModel(name="Statement"),
        migrations.DeleteModel(name="StatementEvent"),
    ]
