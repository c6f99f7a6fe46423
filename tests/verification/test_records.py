"""Lookups recorded for the authority: time, address, kind, outcome, a keyed hash of the ID
number — never the number — and a read-only admin scoped to the authority."""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpRequest

from certportal.pii import blind_index
from tests.factories import PASSWORD
from tests.verification.helpers import UNKNOWN_ID, assert_no_full_id, import_holder
from verification.models import LookupKind, LookupOutcome, LookupRecord

pytestmark = pytest.mark.django_db


def make_every_kind_of_lookup(client, certificate):
    person = {"name": "王小明", "id_number": certificate.holder_id_number}
    client.post("/verify/", person)
    client.post("/verify/", {"name": "李四", "id_number": certificate.holder_id_number})
    client.post("/verify/", {"name": "王小明", "id_number": "123"})
    client.get("/verify/", {"cert_no": certificate.number, "name": "王小明"})
    client.get(certificate.verify_path)
    client.get("/v/unknown-token-0000000000/")
    client.post("/api/v1/verify", json.dumps(person), content_type="application/json")
    client.post("/api/v1/verify", {"name": "王小明", "id_number": UNKNOWN_ID})
    with certificate.pdf.open("rb") as handle:
        client.post(
            "/verify/upload/",
            {"file": SimpleUploadedFile("c.pdf", handle.read(), "application/pdf")},
        )


def test_every_kind_of_lookup_is_recorded(client, certificate):
    make_every_kind_of_lookup(client, certificate)
    rows = list(
        LookupRecord.objects.order_by("id").values_list("kind", "outcome", "client_address")
    )
    assert [(kind, outcome) for kind, outcome, _ in rows] == [
        (LookupKind.FORM, LookupOutcome.FOUND),
        (LookupKind.FORM, LookupOutcome.NOT_FOUND),
        (LookupKind.FORM, LookupOutcome.INVALID),
        (LookupKind.CERT_NO, LookupOutcome.FOUND),
        (LookupKind.QR, LookupOutcome.FOUND),
        (LookupKind.QR, LookupOutcome.NOT_FOUND),
        (LookupKind.API, LookupOutcome.FOUND),
        (LookupKind.API, LookupOutcome.NOT_FOUND),
        (LookupKind.UPLOAD, LookupOutcome.FOUND),
    ]
    assert {address for _, _, address in rows} == {"127.0.0.1"}
    found = LookupRecord.objects.filter(outcome=LookupOutcome.FOUND)
    assert all(list(r.certificates.all()) == [certificate] for r in found)


def test_records_hold_a_keyed_hash_and_never_the_id_number(client, certificate):
    make_every_kind_of_lookup(client, certificate)
    hashes = set(LookupRecord.objects.exclude(id_hash="").values_list("id_hash", flat=True))
    assert hashes == {blind_index(certificate.holder_id_number), blind_index(UNKNOWN_ID)}
    # Every column of every row, as the database holds it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM verification_lookuprecord")
        raw = repr(cursor.fetchall()).encode()
    assert_no_full_id(raw, "lookup records")
    assert certificate.holder_id_number[6:14].encode() not in raw  # not even the birth date


def test_no_log_line_carries_an_id_number(client, certificate, caplog):
    with caplog.at_level(logging.DEBUG):
        make_every_kind_of_lookup(client, certificate)
        client.get("/api/v1/verify", {"name": "王小明", "id_number": UNKNOWN_ID})
    assert_no_full_id(caplog.text.encode(), "logs")


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


@pytest.fixture
def may_view_lookups(authority_staff, other_authority_staff):
    """The authority-staff role's permission (granted to the group by certportal.roles)."""
    permission = Permission.objects.get(codename="view_lookuprecord")
    for user in (authority_staff, other_authority_staff):
        user.user_permissions.add(permission)


def test_authority_staff_see_lookups_of_their_certificates_only(
    client, certificate, authority_staff, other_authority_staff, superuser, may_view_lookups
):
    make_every_kind_of_lookup(client, certificate)
    client.logout()
    changelist = "/admin/verification/lookuprecord/"

    login(client, authority_staff)
    page = client.get(changelist)
    assert page.status_code == 200
    shown = page.context["cl"].result_count
    assert shown == LookupRecord.objects.filter(certificates=certificate).count() == 5
    assert certificate.number in page.content.decode()
    client.logout()

    login(client, other_authority_staff)
    page = client.get(changelist)
    assert page.status_code == 200 and page.context["cl"].result_count == 0
    client.logout()

    login(client, superuser)
    page = client.get(changelist)
    # Everything, including the lookups that found nothing.
    assert page.context["cl"].result_count == LookupRecord.objects.count()


def test_the_admin_is_read_only_and_filters(client, certificate, authority_staff, may_view_lookups):
    make_every_kind_of_lookup(client, certificate)
    client.logout()
    login(client, authority_staff)
    record = LookupRecord.objects.filter(certificates=certificate).first()
    assert client.get("/admin/verification/lookuprecord/add/").status_code == 403
    detail = client.get(f"/admin/verification/lookuprecord/{record.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(f"/admin/verification/lookuprecord/{record.pk}/delete/").status_code == 403
    filtered = client.get("/admin/verification/lookuprecord/", {"kind__exact": "qr"})
    assert filtered.context["cl"].result_count == 1
    by_number = client.get("/admin/verification/lookuprecord/", {"q": certificate.number})
    assert by_number.context["cl"].result_count == 5


def test_a_lookup_finding_two_authorities_certificates_shows_each_only_its_own(
    client,
    certificate,
    authority_staff,
    superuser,
    other_authority_staff,
    ningbo,
    may_view_lookups,
    django_capture_on_commit_callbacks,
):
    """One person, a Quanzhou and a Ningbo certificate: each authority sees its own number."""
    from certificates.models import Certificate

    with django_capture_on_commit_callbacks(execute=True):
        ningbo_cert = import_holder(
            actor=superuser,
            name="王小明",
            id17=certificate.holder_id_number[:17],
            serial=601,
            trade="01",
        )
    Certificate.objects.filter(pk=ningbo_cert.pk).update(authority=ningbo, number="浙B012024000601")
    client.post("/verify/", {"name": "王小明", "id_number": certificate.holder_id_number})
    client.logout()
    login(client, other_authority_staff)
    body = client.get("/admin/verification/lookuprecord/").content.decode()
    assert "浙B012024000601" in body and certificate.number not in body


def test_a_lookup_finding_two_of_an_authoritys_certificates_is_one_row(
    client, certificate, authority_staff, may_view_lookups, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        second = import_holder(
            actor=authority_staff,
            name="王小明",
            id17=certificate.holder_id_number[:17],
            serial=602,
            trade="01",
        )
    client.post("/verify/", {"name": "王小明", "id_number": certificate.holder_id_number})
    record = LookupRecord.objects.get(kind=LookupKind.FORM, outcome=LookupOutcome.FOUND)
    assert set(record.certificates.all()) == {certificate, second}
    client.logout()
    login(client, authority_staff)
    page = client.get("/admin/verification/lookuprecord/")
    assert page.context["cl"].result_count == 1
    assert [row.pk for row in page.context["cl"].result_list] == [record.pk]


def test_the_count_stops_at_the_cap_and_says_so(client, superuser, monkeypatch):
    from django.contrib import admin

    from certportal.admin_lists import CappedCountPaginator

    for _ in range(3):
        LookupRecord.objects.create(kind=LookupKind.QR, outcome=LookupOutcome.NOT_FOUND)
    login(client, superuser)
    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    monkeypatch.setattr(admin.site._registry[LookupRecord], "list_per_page", 1)
    capped = client.get("/admin/verification/lookuprecord/")
    assert capped.context["cl"].result_count == 2
    assert "查验记录超过 2 条" in capped.content.decode()
    # Two pages offered, the newest two records; the third only through a filter.
    assert capped.context["cl"].paginator.num_pages == 2
    newest = list(LookupRecord.objects.values_list("pk", flat=True)[:2])
    second = client.get("/admin/verification/lookuprecord/", {"p": "2"})
    assert [row.pk for row in second.context["cl"].result_list] == newest[1:]
    monkeypatch.setattr(admin.site._registry[LookupRecord], "list_per_page", 50)
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    exact = client.get("/admin/verification/lookuprecord/").content.decode()
    assert "3 查验记录" in exact and "超过" not in exact


def test_the_search_bar_counts_only_a_narrowed_list_and_says_when_capped(
    client, superuser, monkeypatch
):
    from certportal.admin_lists import CappedCountPaginator

    for kind in (LookupKind.QR, LookupKind.QR, LookupKind.API):
        LookupRecord.objects.create(kind=kind, outcome=LookupOutcome.NOT_FOUND)
    login(client, superuser)
    changelist = "/admin/verification/lookuprecord/"
    # Nothing narrows the list: no count beside the search box (nor a "show all" of the same).
    toolbar = client.get(changelist).content.decode().split('id="toolbar"')[1].split("</form>")[0]
    assert "条结果" not in toolbar and "显示全部" not in toolbar
    narrowed = client.get(changelist, {"kind__exact": "qr"}).content.decode()
    assert "2 条结果" in narrowed.split('id="toolbar"')[1].split("</form>")[0]
    monkeypatch.setattr(CappedCountPaginator, "cap", 1)
    capped = client.get(changelist, {"kind__exact": "qr"}).content.decode()
    assert "超过 1 条结果" in capped.split('id="toolbar"')[1].split("</form>")[0]
