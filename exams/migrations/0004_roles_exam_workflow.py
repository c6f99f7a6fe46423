from django.db import migrations

from certportal.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("exams", "0003_examsession_examapplication_and_more"),
        ("certportal", "0002_notice"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
