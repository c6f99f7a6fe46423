"""Imported certificate numbers stored as typed (闽c…, full-width, spaced) in the form the public
lookup reads, so that they can be found. A number whose normal form another certificate
already has is left as it is and logged: staff resolve that pair by hand."""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)


def normalise_numbers(apps, schema_editor):
    from certificates.numbering import normalise_certificate_number

    Certificate = apps.get_model("certificates", "Certificate")
    for pk, number in Certificate.objects.filter(is_legacy=True).values_list("pk", "number"):
        normal = normalise_certificate_number(number)
        if normal == number:
            continue
        if Certificate.objects.filter(number=normal).exists():
            logger.warning("certificate %s: its number's normal form is taken; left as it is", pk)
            continue
        Certificate.objects.filter(pk=pk).update(number=normal)


class Migration(migrations.Migration):
    dependencies = [("certificates", "0003_batch_lease")]

    operations = [migrations.RunPython(normalise_numbers, migrations.RunPython.noop)]
