"""/api/v1/verify: the same lookups and answers as JSON, for employers' and inspectors' systems."""

from __future__ import annotations

import json

import pytest

from certificates.models import CertificateStatus
from certportal.pii import mask_id_number, mask_name
from tests.verification.helpers import UNKNOWN_ID, IdGuardClient, assert_no_full_id

pytestmark = pytest.mark.django_db
C = CertificateStatus
API = "/api/v1/verify"
LABELS = {
    C.VALID: "有效",
    C.SUSPENDED: "暂扣",
    C.REVOKED: "吊销",
    C.WITHDRAWN: "撤销",
    C.CANCELLED: "注销",
    C.EXPIRED: "过期失效",
}


def post_json(client, data):
    return client.post(API, json.dumps(data), content_type="application/json")


def only_certificate(response, certificate):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["found"] is True and len(data["certificates"]) == 1
    found = data["certificates"][0]
    assert found["number"] == certificate.number
    return found


def test_by_number_and_name_in_every_status(client, by_status):
    for status, certificate in by_status.items():
        found = only_certificate(
            client.get(API, {"cert_no": certificate.number, "name": certificate.holder_name}),
            certificate,
        )
        assert found["status"] == {"code": status, "label": LABELS[status]}
        assert found["valid"] is (status == C.VALID)
        assert found["holder_name"] == mask_name(certificate.holder_name)
        assert found["id_number"] == mask_id_number(certificate.holder_id_number)
        assert found["trade"]["name"] == certificate.trade.name
        assert found["authority"] == certificate.authority.name
        assert found["valid_until"] == certificate.valid_until.isoformat()
        assert found["ecert_identifier"] == certificate.ecert_identifier
        if status not in (C.VALID,):
            assert found["status_changed_on"] is not None, status


def test_by_name_and_id_number_in_every_status_as_json_and_as_a_form(client, by_status):
    for status, certificate in by_status.items():
        person = {"name": certificate.holder_name, "id_number": certificate.holder_id_number}
        for response in (post_json(client, person), client.post(API, person)):
            found = only_certificate(response, certificate)
            assert found["status"]["code"] == status


def test_the_page_and_the_api_give_the_same_facts(client, by_status):
    certificate = by_status[C.SUSPENDED]
    found = only_certificate(
        client.get(API, {"cert_no": certificate.number, "name": certificate.holder_name}),
        certificate,
    )
    page = client.get(
        "/verify/", {"cert_no": certificate.number, "name": certificate.holder_name}
    ).content.decode()
    for value in (
        found["number"],
        found["holder_name"],
        found["id_number"],
        found["status"]["label"],
        found["authority"],
    ):
        assert value in page


def test_wrong_name_and_unknown_id_number_answer_alike(client, certificate):
    wrong_name = post_json(client, {"name": "李四", "id_number": certificate.holder_id_number})
    unknown = post_json(client, {"name": "王小明", "id_number": UNKNOWN_ID})
    assert wrong_name.status_code == unknown.status_code == 200
    assert wrong_name.content == unknown.content
    assert wrong_name.json() == {"found": False, "certificates": []}


def test_wrong_name_and_unknown_number_answer_alike(client, certificate):
    wrong_name = client.get(API, {"cert_no": certificate.number, "name": "李四"})
    unknown = client.get(API, {"cert_no": "闽C059999999999", "name": "王小明"})
    assert wrong_name.status_code == unknown.status_code == 200
    assert wrong_name.content == unknown.content == b'{"found": false, "certificates": []}'


def error_of(response, status: int) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), "message not in Chinese"
    return error


def test_missing_fields_are_a_400(client, certificate):
    assert error_of(client.get(API), 400)["code"] == "missing_fields"
    assert error_of(client.get(API, {"cert_no": certificate.number}), 400)["code"] == (
        "missing_fields"
    )
    error = error_of(post_json(client, {"id_number": certificate.holder_id_number}), 400)
    assert error["code"] == "missing_fields" and "name" in error["message"]
    assert error_of(post_json(client, {}), 400)["code"] == "missing_fields"


def test_a_bad_id_number_is_a_400_that_does_not_repeat_it(client, certificate):
    typo = certificate.holder_id_number[:-1] + (
        "0" if certificate.holder_id_number[-1] != "0" else "1"
    )
    error = error_of(post_json(client, {"name": "王小明", "id_number": typo}), 400)
    assert error["code"] == "invalid_id_number" and "校验码" in error["message"]
    error = error_of(post_json(client, {"name": "王小明", "id_number": "12345"}), 400)
    assert error["code"] == "invalid_id_number"
    assert typo not in error["message"]


def test_an_id_number_in_the_url_is_refused(client, certificate):
    response = client.get(API, {"name": "王小明", "id_number": certificate.holder_id_number})
    error = error_of(response, 400)
    assert error["code"] == "id_number_in_url" and "POST" in error["message"]


def test_malformed_json_is_a_400(client, db):
    response = client.post(API, "{not json", content_type="application/json")
    assert error_of(response, 400)["code"] == "invalid_json"
    response = client.post(API, "[1, 2]", content_type="application/json")
    assert error_of(response, 400)["code"] == "invalid_json"


def test_other_methods_are_a_405(client, db):
    for method in ("put", "patch", "delete", "options"):
        response = getattr(client, method)(API)
        assert error_of(response, 405)["code"] == "method_not_allowed", method
        assert response["Allow"] == "GET, POST"


def test_post_needs_no_csrf_token(certificate):
    """Other systems post without a session or token: the endpoint changes nothing."""
    strict = IdGuardClient(enforce_csrf_checks=True)
    response = post_json(strict, {"name": "王小明", "id_number": certificate.holder_id_number})
    assert response.status_code == 200 and response.json()["found"] is True


def test_answers_are_not_cached(client, certificate):
    response = client.get(API, {"cert_no": certificate.number, "name": "王小明"})
    assert "no-store" in response["Cache-Control"]


def test_the_id_number_guard_catches_a_leak(certificate):
    """Every response in these tests passes IdGuardClient; the guard must actually bite."""
    with pytest.raises(AssertionError):
        assert_no_full_id(f"<p>{certificate.holder_id_number}</p>".encode())


# --- by QR token and by file digest --------------------------------------------------------


def test_by_qr_token_as_the_qr_page_answers(client, by_status):
    """An inspector's system that scans the QR code gets the QR page's answer as JSON, by the
    token or by the scanned address as it stands."""
    from verification.models import LookupKind, LookupRecord

    for status, certificate in by_status.items():
        for token in (certificate.qr_token, f"https://example.invalid/v/{certificate.qr_token}/"):
            found = only_certificate(client.get(API, {"token": token}), certificate)
            assert found["status"]["code"] == status
            assert found["holder_name"] == mask_name(certificate.holder_name)
    unknown = client.get(API, {"token": "A" * 24})
    assert unknown.json() == {"found": False, "certificates": []}
    assert set(LookupRecord.objects.values_list("kind", flat=True)) == {LookupKind.API}


def test_a_scanned_address_off_the_portal_is_flagged(client, certificate, settings):
    """A counterfeit certificate may carry a genuine token under a look-alike site: the
    inspector's system that passes the scanned address is told whether it is the portal's."""
    settings.SITE_URL = "https://cert.example.gov.cn"
    token = certificate.qr_token
    for official in (
        f"https://cert.example.gov.cn/v/{token}/",
        f"HTTPS://Cert.Example.gov.cn:443/v/{token}",
        f"cert.example.gov.cn/v/{token}/",
    ):
        data = client.get(API, {"token": official}).json()
        assert data["found"] is True, official
        assert data["address"] == {"official": True, "site": "cert.example.gov.cn", "message": ""}
    for counterfeit in (
        f"https://cert-example.gov.cn.example.net/v/{token}/",
        f"https://cert.example.gov.cn@evil.example/v/{token}",
        f"https://cert.example.gov.cn.evil.example/v/{token}",
        # What a browser opens at evil.example, though a naive split finds the portal's host.
        f"https://evil.example?@cert.example.gov.cn/v/{token}",
        f"https://evil.example#@cert.example.gov.cn/v/{token}",
        f"https://evil.example\\@cert.example.gov.cn/v/{token}",
        f"evil.example?@cert.example.gov.cn/v/{token}",
        # Not an address a browser opens as the portal's page, or not the one it prints.
        f"javascript://cert.example.gov.cn/v/{token}",
        f"ftp://cert.example.gov.cn/v/{token}",
        f"https://cert.example.gov.cn:8443/v/{token}",
        f"https://cert.example.gov.cn/evil/v/{token}",
    ):
        data = post_json(client, {"token": counterfeit}).json()
        assert data["found"] is True  # the token itself is genuine: its certificate is shown
        assert data["address"]["official"] is False, counterfeit
        assert "可能是仿冒证书的二维码" in data["address"]["message"]
        assert "cert.example.gov.cn" in data["address"]["message"]
    # SITE_URL written with its default port names the same portal.
    settings.SITE_URL = "https://cert.example.gov.cn:443"
    data = client.get(API, {"token": f"https://cert.example.gov.cn/v/{token}/"}).json()
    assert data["address"] == {"official": True, "site": "cert.example.gov.cn", "message": ""}
    settings.SITE_URL = "https://cert.example.gov.cn"
    # Unknown token at a foreign address: nothing found, and the address still judged.
    data = client.get(API, {"token": f"https://evil.example/v/{'A' * 24}"}).json()
    assert data["found"] is False and data["address"]["official"] is False
    # A bare token carries no address to judge.
    assert "address" not in client.get(API, {"token": token}).json()


def test_by_the_sha256_of_an_issued_pdf(
    client, certificate, authority_staff, django_capture_on_commit_callbacks
):
    import hashlib

    from certificates import services
    from certificates.models import CertificatePdf

    first = CertificatePdf.objects.get(certificate=certificate, version=1)
    with first.file.open("rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    data = client.get(API, {"sha256": digest.upper()}).json()
    assert data["found"] is True and data["certificates"][0]["number"] == certificate.number
    assert data["pdf"] == {"version": 1, "latest_version": 1, "is_current": True}

    with django_capture_on_commit_callbacks(execute=True):
        services.certificate_revoke(
            certificate=certificate, actor=authority_staff, reason="违章操作造成生产安全事故"
        )
    data = post_json(client, {"sha256": digest}).json()
    assert data["pdf"] == {"version": 1, "latest_version": 2, "is_current": False}
    assert data["certificates"][0]["status"]["code"] == C.REVOKED  # the status now

    other = hashlib.sha256(b"not a certificate").hexdigest()
    assert client.get(API, {"sha256": other}).json() == {
        "found": False,
        "certificates": [],
        "pdf": None,
    }


def test_a_malformed_token_or_digest_is_a_400(client, certificate):
    assert error_of(client.get(API, {"token": "../../etc"}), 400)["code"] == "invalid_token"
    assert error_of(client.get(API, {"token": ""}), 400)["code"] == "invalid_token"
    assert error_of(client.get(API, {"sha256": "abc"}), 400)["code"] == "invalid_sha256"
    assert error_of(post_json(client, {"sha256": "g" * 64}), 400)["code"] == "invalid_sha256"


def test_one_way_per_request(client, certificate):
    both = client.get(API, {"token": certificate.qr_token, "sha256": "a" * 64})
    assert error_of(both, 400)["code"] == "conflicting_fields"
    with_name = client.get(API, {"token": certificate.qr_token, "name": certificate.holder_name})
    assert error_of(with_name, 400)["code"] == "conflicting_fields"
    person = {"sha256": "a" * 64, "name": "王小明", "id_number": certificate.holder_id_number}
    error = error_of(post_json(client, person), 400)
    assert error["code"] == "conflicting_fields"
    assert certificate.holder_id_number not in error["message"]
