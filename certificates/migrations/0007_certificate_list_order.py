from django.db import migrations, models

from certportal.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("certificates", "0006_reminder_names"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="certificate",
            index=models.Index(fields=["-issued_on", "-id"], name="certificate_list_order"),
        ),
    ]
