"""/verify/: name + ID number (POST) and certificate number + name (GET)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates.models import CertificateStatus
from certportal.pii import mask_id_number
from tests.verification.helpers import UNKNOWN_ID, import_holder
from verification import views

pytestmark = pytest.mark.django_db
C = CertificateStatus

LABELS = {
    C.VALID: "有效",
    C.SUSPENDED: "暂扣",
    C.REVOKED: "吊销",
    C.WITHDRAWN: "撤销",
    C.CANCELLED: "注销",
    C.EXPIRED: "过期失效",
}
NOT_FOUND = "未查询到相关证书"


def answer_section(body: str) -> str:
    match = re.search(r'<section class="v-answer".*?</section>', body, re.S)
    assert match, "the page shows no answer"
    return match.group(0)


def lookup_person(client, name: str, id_number: str):
    return client.post("/verify/", {"name": name, "id_number": id_number})


def test_person_lookup_finds_a_certificate_in_every_status(client, by_status):
    for status, certificate in by_status.items():
        response = lookup_person(client, certificate.holder_name, certificate.holder_id_number)
        assert response.status_code == 200
        answer = answer_section(response.content.decode())
        assert certificate.number in answer, status
        assert LABELS[status] in answer
        assert certificate.trade.name in answer and certificate.authority.name in answer
        assert mask_id_number(certificate.holder_id_number) in answer
        colour = "v-pill-valid" if status == C.VALID else "v-pill-invalid"
        assert colour in answer, status
        # Only the person's own certificate: no other holder's number on the page.
        others = [c.number for s, c in by_status.items() if s != status]
        assert not any(number in answer for number in others)


def test_person_lookup_lists_every_certificate_of_the_person(
    client, certificate, authority_staff, django_capture_on_commit_callbacks
):
    """Two certificates under one ID number (an old imported one of another trade): both."""
    with django_capture_on_commit_callbacks(execute=True):
        second = import_holder(
            actor=authority_staff,
            name=certificate.holder_name,
            id17=certificate.holder_id_number[:17],
            serial=201,
            trade="01",
        )
    body = lookup_person(client, "王小明", certificate.holder_id_number).content.decode()
    answer = answer_section(body)
    assert certificate.number in answer and second.number in answer
    assert "查到 2 本证书" in answer


def test_person_lookup_accepts_a_lower_case_x_and_spaces(
    client, authority_staff, django_capture_on_commit_callbacks
):
    """People type the final X in lower case, and names with stray spaces."""
    with django_capture_on_commit_callbacks(execute=True):
        certificate = import_holder(
            actor=authority_staff, name="欧阳晓东", id17="35050319860707101", serial=301
        )
    assert certificate.holder_id_number.endswith("X")
    response = lookup_person(client, " 欧阳 晓东", f" {certificate.holder_id_number.lower()} ")
    assert certificate.number in answer_section(response.content.decode())


def test_number_lookup_finds_a_certificate_in_every_status(client, by_status):
    for status, certificate in by_status.items():
        response = client.get(
            "/verify/", {"cert_no": certificate.number, "name": certificate.holder_name}
        )
        assert response.status_code == 200
        answer = answer_section(response.content.decode())
        assert certificate.number in answer and LABELS[status] in answer, status
        assert mask_id_number(certificate.holder_id_number) in answer


def test_number_lookup_accepts_a_lower_case_city_letter(client, certificate):
    response = client.get("/verify/", {"cert_no": certificate.number.lower(), "name": "王小明"})
    assert "有效" in answer_section(response.content.decode())


def test_wrong_name_and_unknown_id_number_give_the_same_page(client, certificate, monkeypatch):
    # The page states the minute of the lookup: pin it, or the two could straddle a minute.
    moment = timezone.localtime()
    monkeypatch.setattr(views, "checked_at", lambda: moment)
    client.get("/verify/")  # the first page of a process renders the blank forms it then keeps
    wrong_name = lookup_person(client, "李四", certificate.holder_id_number)
    unknown_id = lookup_person(client, "王小明", UNKNOWN_ID)
    for response in (wrong_name, unknown_id):
        assert response.status_code == 200
        assert NOT_FOUND in response.content.decode()
    assert wrong_name.templates[0].name == "verification/verify.html"
    assert [t.name for t in wrong_name.templates] == [t.name for t in unknown_id.templates]
    assert wrong_name.content == unknown_id.content


def test_wrong_name_and_unknown_number_give_the_same_answer(client, certificate, monkeypatch):
    moment = timezone.localtime()
    monkeypatch.setattr(views, "checked_at", lambda: moment)
    client.get("/verify/")  # as above
    wrong_name = client.get("/verify/", {"cert_no": certificate.number, "name": "李四"})
    unknown = client.get("/verify/", {"cert_no": "闽C059999999999", "name": "李四"})
    assert wrong_name.status_code == unknown.status_code == 200
    assert wrong_name.templates[0].name == "verification/verify.html"
    assert [t.name for t in wrong_name.templates] == [t.name for t in unknown.templates]
    assert answer_section(wrong_name.content.decode()) == answer_section(unknown.content.decode())
    assert NOT_FOUND in answer_section(unknown.content.decode())


def test_mismatch_and_absence_run_the_same_queries(client, certificate):
    """The same statements in both cases, not merely the same page."""

    def statements(name, id_number):
        with CaptureQueriesContext(connection) as queries:
            lookup_person(client, name, id_number)
        # The values differ (the hash, the name, the time); the statements must not.
        return [re.sub(r"'[^']*'|\d+", "?", q["sql"]) for q in queries.captured_queries]

    assert statements("李四", certificate.holder_id_number) == statements("王小明", UNKNOWN_ID)


def test_a_bad_id_number_is_refused_without_echoing_it(client, certificate):
    typo = certificate.holder_id_number[:-1] + (
        "0" if certificate.holder_id_number[-1] != "0" else "1"
    )
    response = lookup_person(client, "王小明", typo)
    body = response.content.decode()
    assert response.status_code == 200
    assert "校验码错误" in body
    assert typo not in body and 'value="王小明"' not in body


def test_the_answer_page_redisplays_neither_name_nor_id_number(client, certificate):
    body = lookup_person(client, "王小明", certificate.holder_id_number).content.decode()
    assert certificate.number in body
    assert 'value="王小明"' not in body
    assert 'name="id_number"' in body  # the empty form, ready for the next lookup


def test_an_id_number_in_the_url_is_never_used(client, certificate):
    """The ID lookup is POST only: a crafted GET does not look anybody up by ID number."""
    response = client.get(
        "/verify/", {"name": "王小明", "id_number": certificate.holder_id_number}, follow=True
    )
    assert response.redirect_chain == [("/verify/", 302)]
    body = response.content.decode()
    assert certificate.number not in body and "v-answer" not in body
    assert "身份证号不能放在网址中" in body


def test_the_forms_keep_the_id_number_out_of_urls(client):
    body = client.get("/verify/").content.decode()
    person_form = re.search(r'<form method="(\w+)"[^>]*>(?:(?!</form>).)*id_number', body, re.S)
    assert person_form and person_form.group(1) == "post"
    assert 'autocomplete="off"' in body


def test_the_bare_page_offers_the_three_ways(client):
    response = client.get("/verify/")
    body = response.content.decode()
    assert response.status_code == 200
    for heading in ("按姓名和身份证号查验", "按证书编号查验", "上传电子证照文件核对"):
        assert heading in body
    assert "v-answer" not in body
