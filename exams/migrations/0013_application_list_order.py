from django.db import migrations, models

from certportal.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("exams", "0012_trade_name_per_province"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="examapplication",
            index=models.Index(fields=["-created_at", "-id"], name="application_list_order"),
        ),
    ]
