from django.db import migrations

from certportal.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0001_initial"),
        ("certificates", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
