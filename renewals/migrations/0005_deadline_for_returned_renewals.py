"""Renewals returned before correction deadlines existed get one, counted from the day this
runs, so that none keeps its certificate valid for ever and every holder has the full time."""

from django.db import migrations
from django.utils import timezone

DEFAULT_DAYS = 15


def give_deadlines(apps, schema_editor):
    from renewals.rules import add_working_days

    RenewalApplication = apps.get_model("renewals", "RenewalApplication")
    Policy = apps.get_model("exams", "Policy")
    days_of = dict(Policy.objects.values_list("authority_id", "renewal_correction_working_days"))
    today = timezone.localdate()
    returned = RenewalApplication.objects.filter(status="returned", correct_by__isnull=True)
    for renewal in returned.select_related("certificate__authority"):
        authority = renewal.certificate.authority
        days = days_of.get(authority.pk) or days_of.get(authority.parent_id) or DEFAULT_DAYS
        renewal.correct_by = add_working_days(today, days)
        renewal.save(update_fields=["correct_by"])


class Migration(migrations.Migration):
    dependencies = [
        ("renewals", "0004_renewal_correction_deadline"),
        ("exams", "0007_renewal_correction_deadline"),
    ]

    operations = [migrations.RunPython(give_deadlines, migrations.RunPython.noop)]
