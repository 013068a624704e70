"""Walk every case's standing limitation evidence again under the corrected rule (portal.limitation.walk):
an event after the running expiry no longer revives the period (民法典 art. 195), and the debtor's agreement or
payment after expiry is flagged for legal review (SPC 诉讼时效规定 art. 19). Stores each event's effect, the date
and the flag; nothing is deleted."""
from django.db import migrations


def rewalk(apps, schema_editor):
    from portal.limitation import walk  # a pure function of (kind, date) pairs: safe with historical models

    Case = apps.get_model("portal", "Case")
    LimitationEvent = apps.get_model("portal", "LimitationEvent")
    by_case = {}
    for event in LimitationEvent.objects.filter(withdrawn_at__isnull=True).only("id", "case_id", "kind", "occurred_on", "effect").iterator():
        by_case.setdefault(event.case_id, []).append(event)
    for case_id, events in by_case.items():
        result = walk((event.kind, event.occurred_on) for event in events)
        effects = dict(result.steps)
        for event in events:
            effect = effects[(event.kind, event.occurred_on)]
            if event.effect != effect:
                LimitationEvent.objects.filter(pk=event.pk).update(effect=effect)
        Case.objects.filter(pk=case_id).exclude(limitation_expires_on=result.expiry, limitation_review=result.review).update(
            limitation_expires_on=result.expiry, limitation_review=result.review)


class Migration(migrations.Migration):

    dependencies = [("portal", "0006_limitation_walk_and_acceleration")]

    operations = [migrations.RunPython(rewalk, migrations.RunPython.noop)]
