from django.db import migrations

from certportal.roles import sync_roles


class Migration(migrations.Migration):
    """Authority staff enter and import the continuing-education records of the providers of
    their scope (certportal.roles)."""

    dependencies = [
        ("renewals", "0005_deadline_for_returned_renewals"),
        ("certificates", "0005_validity_reason_choices"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
