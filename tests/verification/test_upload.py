"""Upload to verify: is a PDF byte for byte an e-certificate the portal issued?"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from certificates import services
from certificates.models import CertificatePdf
from tests.applicants.corpus import good_photo
from verification.forms import MAX_UPLOAD_BYTES

pytestmark = pytest.mark.django_db
UPLOAD = "/verify/upload/"


def upload(client, data: bytes, name: str = "certificate.pdf"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, "application/pdf")})


def answer(response) -> str:
    assert response.status_code == 200
    match = re.search(r'<section class="v-answer".*?</section>', response.content.decode(), re.S)
    assert match, "no answer on the page"
    return match.group(0)


def form_error(response) -> str:
    assert response.status_code == 200
    body = response.content.decode()
    assert "v-answer" not in body
    return " ".join(re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', body, re.S))


def stored_files(media_root) -> set[str]:
    return {str(p) for p in media_root.rglob("*") if p.is_file()} if media_root.exists() else set()


def pdf_bytes(certificate_pdf) -> bytes:
    with certificate_pdf.file.open("rb") as handle:
        return handle.read()


def test_the_current_pdf_is_recognised(client, certificate, private_media_root):
    before = stored_files(private_media_root)
    with certificate.pdf.open("rb") as handle:
        data = handle.read()
    text = answer(upload(client, data))
    assert "是本平台签发的电子证照原件" in text
    assert certificate.number in text and "王**" in text
    assert "第 1 版" in text and "是，当前版本" in text
    assert "✓ 有效" in text
    assert stored_files(private_media_root) == before  # nothing kept


def test_an_older_version_is_recognised_as_superseded(
    client, certificate, authority_staff, django_capture_on_commit_callbacks
):
    first = CertificatePdf.objects.get(certificate=certificate, version=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_revoke(
            certificate=certificate, actor=authority_staff, reason="违章操作造成生产安全事故"
        )
    services.certificate_render(certificate_pk=certificate.pk)  # idempotent: already done
    second = CertificatePdf.objects.get(certificate=certificate, version=2)

    old = answer(upload(client, pdf_bytes(first)))
    assert "是本平台签发的电子证照原件" in old and "第 1 版" in old
    assert "否：证书已有更新的第 2 版" in old
    assert "✕ 吊销" in old  # the status now, not the status printed on the file

    new = answer(upload(client, pdf_bytes(second)))
    assert "第 2 版" in new and "是，当前版本" in new and "✕ 吊销" in new


def test_one_changed_byte_is_not_recognised(client, certificate):
    with certificate.pdf.open("rb") as handle:
        data = bytearray(handle.read())
    data[len(data) // 2] ^= 0x01
    text = answer(upload(client, bytes(data)))
    assert "不是本平台签发的电子证照原件" in text
    assert certificate.number not in text


def test_a_file_that_is_not_a_pdf_is_refused_clearly(client, db):
    message = form_error(upload(client, good_photo(), name="photo.pdf"))
    assert "这不是 PDF 文件" in message


def test_an_oversized_file_is_refused_clearly(client, db):
    message = form_error(upload(client, b"%PDF-1.4\n" + b"0" * MAX_UPLOAD_BYTES))
    assert "文件过大" in message and "2 MB" in message


def test_a_huge_body_is_refused_before_it_is_read(client, db, private_media_root):
    message = form_error(upload(client, b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024)))
    assert "文件过大" in message
    assert stored_files(private_media_root) == set()


def test_an_empty_upload_is_refused(client, db):
    response = client.post(UPLOAD, {})
    assert form_error(response)


def test_the_upload_address_alone_leads_back_to_the_page(client, db):
    response = client.get(UPLOAD)
    assert response.status_code == 302 and response["Location"] == "/verify/"
