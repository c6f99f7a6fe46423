"""Imported certificate numbers stored as typed (闽c…, full-width, spaced) in the form the public
lookup reads, so that they can be found. A number now in the portal's own format raises its
serial counter (the import could not read it before), so that issuance never makes it again;
one that already has its e-certificate gets a new content version (its PDF prints the number).
A number whose normal form another certificate already has is left as it is and printed:
staff resolve that pair by hand."""

import re

from django.db import migrations
from django.db.models import F


def normalise_numbers(apps, schema_editor):
    from certificates.numbering import normalise_certificate_number

    Certificate = apps.get_model("certificates", "Certificate")
    SerialCounter = apps.get_model("certificates", "SerialCounter")
    changed = Certificate.objects.filter(is_legacy=True).select_related(
        "authority", "authority__parent"
    )
    for certificate in changed:
        normal = normalise_certificate_number(certificate.number)
        if normal == certificate.number:
            continue
        if Certificate.objects.filter(number=normal).exists():
            print(f"\n  certificate {certificate.pk}: the normal form of its number is taken; left")
            continue
        updates = {"number": normal}
        if certificate.content_version > 0:
            updates["content_version"] = F("content_version") + 1
        Certificate.objects.filter(pk=certificate.pk).update(**updates)
        authority = certificate.authority
        province = authority if authority.parent_id is None else authority.parent
        match = re.fullmatch(
            rf"({re.escape(province.abbreviation)}[A-Z]?)(\d{{2}})(\d{{4}})(\d{{6}})", normal
        )
        if province.abbreviation and match:
            prefix, trade_code, year, serial = match.groups()
            counter, _created = SerialCounter.objects.get_or_create(
                prefix=prefix, trade_code=trade_code, year=int(year), defaults={"last": 0}
            )
            if counter.last < int(serial):
                SerialCounter.objects.filter(pk=counter.pk).update(last=int(serial))


class Migration(migrations.Migration):
    dependencies = [("certificates", "0003_batch_lease")]

    operations = [migrations.RunPython(normalise_numbers, migrations.RunPython.noop)]
