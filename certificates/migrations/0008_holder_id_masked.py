"""The masked ID number beside the encrypted one, for the public lookups to show without
decrypting (verification.selectors). Existing certificates are filled in here, in batches by
key: each number is decrypted once, its first four and last four characters kept."""

from django.db import migrations

import certportal.pii

BATCH = 2000


def fill_masked(apps, schema_editor):
    Certificate = apps.get_model("certificates", "Certificate")
    rows = Certificate.objects.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).only("pk", "holder_id_number")[:BATCH])
        if not batch:
            return
        for certificate in batch:
            certificate.holder_id_masked = certportal.pii.mask_id_number(
                certificate.holder_id_number
            )
        Certificate.objects.using(schema_editor.connection.alias).bulk_update(
            batch, ["holder_id_masked"]
        )
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0007_certificate_list_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificate",
            name="holder_id_masked",
            field=certportal.pii.MaskedIdField(
                source="holder_id_number", verbose_name="公民身份号码（脱敏）"
            ),
        ),
        migrations.RunPython(fill_masked, migrations.RunPython.noop, elidable=True),
    ]
