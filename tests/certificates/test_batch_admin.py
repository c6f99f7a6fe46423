"""The batch-issuance pages say what a batch leaves out and what is still to issue."""

import re

import pytest

from certificates import services
from exams.models import ExamSession

pytestmark = pytest.mark.django_db


def column(page: str, name: str) -> list[str]:
    return re.findall(rf'<td class="field-{name}[^"]*">([^<]*)</td>', page)


def test_the_list_counts_who_waits_and_the_batch_names_who_it_leaves_out(
    client, passed, authority_staff, django_capture_on_commit_callbacks
):
    client.force_login(authority_staff)
    page = client.get("/admin/certificates/issuablesession/").content.decode()
    assert column(page, "passed") == ["1"] and column(page, "waiting") == ["1"]

    request = services.certificate_request_submit(application=passed, actor=passed.applicant)
    services.certificate_request_reject(request=request, actor=authority_staff, reason="材料不实")
    page = client.get("/admin/certificates/issuablesession/").content.decode()
    assert column(page, "passed") == ["1"] and column(page, "waiting") == ["0"]

    with django_capture_on_commit_callbacks(execute=True):
        batch = services.batch_issue_start(session=passed.session, actor=authority_staff)
    page = client.get(f"/admin/certificates/batchissue/{batch.pk}/change/").content.decode()
    assert "0 / 0" in page
    assert "未纳入本批：已不予签发（材料不实）" in page and passed.ticket_number in page


def test_issued_candidates_no_longer_wait(
    client, passed, authority_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_issue_start(session=passed.session, actor=authority_staff)
    client.force_login(authority_staff)
    page = client.get("/admin/certificates/issuablesession/").content.decode()
    assert column(page, "passed") == ["1"] and column(page, "waiting") == ["0"]


def test_several_sessions_started_at_once_are_each_named(
    client, passed, authority_staff, django_capture_on_commit_callbacks
):
    first = passed.session
    second = ExamSession.objects.get(pk=first.pk)
    second.pk = None
    second.name = "第二场考试计划"
    second.save()
    client.force_login(authority_staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/certificates/issuablesession/",
            {"action": "batch_issue", "_selected_action": [first.pk, second.pk]},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == "/admin/certificates/batchissue/"
    page = response.content.decode()
    assert "已开始 2 个批量签发" in page
    assert str(first) in page and "第二场考试计划" in page
