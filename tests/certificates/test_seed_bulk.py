import pytest
from django.core.management import call_command
from django.db import connection

from certificates.models import Certificate
from certportal.pii import blind_index


@pytest.mark.django_db
def test_seed_bulk_creates_findable_encrypted_certificates():
    call_command("seed_bulk", certificates=120, batch=50, verbosity=0)
    assert Certificate.objects.count() == 120
    assert Certificate.objects.values("number").distinct().count() == 120
    sample = Certificate.objects.order_by("?").first()
    assert Certificate.objects.filter(holder_id_index=blind_index(sample.holder_id_number)).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT holder_id_number FROM certificates_certificate WHERE id = %s", [sample.pk]
        )
        (raw,) = cursor.fetchone()
    assert sample.holder_id_number not in raw
    call_command("seed_bulk", certificates=10, batch=50, verbosity=0)
    assert Certificate.objects.values("number").distinct().count() == 130
