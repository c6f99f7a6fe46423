from django.db import migrations

from certportal.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("certificates", "0001_initial"),
        ("exams", "0004_roles_exam_workflow"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
