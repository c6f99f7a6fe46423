"""The staff application list at a province's scale: an authority's staff choose among the
institutions and sessions under their authorities, read from those tables, not from every
application in scope; an institution's staff keep the ones their applications name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from exams.models import Authority, ExamApplication, ExamSession, Institution
from tests.admin_lists import filter_choices
from tests.factories import PASSWORD, staff_factory

from .fixtures import make_session

pytestmark = pytest.mark.django_db

LIST = "/admin/exams/examapplication/"
FUJIAN = 350000


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


@pytest.fixture
def fuzhou_centre(db):
    """An assessment centre of the province itself, with no application yet."""
    return Institution.objects.create(
        name="福建示例建设工程考核中心", kind="assessment", authority_id=FUJIAN
    )


def test_a_provinces_staff_choose_among_its_institutions_and_sessions(
    client, submitted, session, fuzhou_centre, crane, ningbo
):
    centre = Institution.objects.get(name="泉州市住建行业中介服务中心")
    long_ago = make_session(staff_factory(institution=centre), crane, centre)
    ExamSession.objects.filter(pk=long_ago.pk).update(
        theory_at=timezone.now() - timedelta(days=200),
        practical_at=timezone.now() - timedelta(days=199),
    )
    ningbo_centre = Institution.objects.get(name="宁波示例建设工程考核中心")
    make_session(staff_factory(institution=ningbo_centre), crane, ningbo_centre)
    province = staff_factory(authority=Authority.objects.get(pk=FUJIAN))
    login(client, province)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(LIST)
    reads = [q["sql"] for q in queries.captured_queries if "exams_examapplication" in q["sql"]]
    assert reads and not [sql for sql in reads if "DISTINCT" in sql.upper()]
    assert page.context["cl"].result_count == 1
    # Every centre under Fujian, one with no application among them; none of Ningbo's.
    assert filter_choices(page, "assessment_institution") == [
        "全部",
        "福建示例建设工程考核中心",
        "泉州市住建行业中介服务中心",
    ]
    assert filter_choices(page, "training_institution") == [
        "全部",
        "泉州示例建筑职业培训学校",
        "未经培训机构",
    ]
    # The Quanzhou session though nobody is placed in it yet; not Ningbo's, nor one held
    # more than six months ago (still reachable by its id).
    assert filter_choices(page, "session") == ["全部", str(session), "未安排考试"]
    ExamApplication.objects.filter(pk=submitted.pk).update(session=long_ago)
    by_old_session = client.get(LIST, {"session__id__exact": long_ago.pk})
    assert [row.pk for row in by_old_session.context["cl"].result_list] == [submitted.pk]

    for institution, count in ((centre, 1), (fuzhou_centre, 0)):
        by_centre = client.get(LIST, {"assessment_institution__id__exact": institution.pk})
        assert by_centre.context["cl"].result_count == count


def test_a_citys_staff_choose_among_their_provinces_training_institutions(
    client, submitted, authority_staff
):
    """An application may name a training institution anywhere in its province."""
    fuzhou_school = Institution.objects.create(
        name="福州示例建筑职业培训学校", kind="training", authority_id=FUJIAN
    )
    ExamApplication.objects.filter(pk=submitted.pk).update(training_institution=fuzhou_school)
    login(client, authority_staff)
    page = client.get(LIST)
    assert filter_choices(page, "training_institution") == [
        "全部",
        "福州示例建筑职业培训学校",
        "泉州示例建筑职业培训学校",
        "未经培训机构",
    ]
    by_school = client.get(LIST, {"training_institution__id__exact": fuzhou_school.pk})
    assert [row.pk for row in by_school.context["cl"].result_list] == [submitted.pk]


def test_an_institutions_staff_choose_among_those_their_applications_name(
    client, submitted, trainer, fuzhou_centre
):
    login(client, trainer)
    page = client.get(LIST)
    assert page.context["cl"].result_count == 1
    # One centre named: nothing to choose; the province's other centre is not offered.
    assert filter_choices(page, "assessment_institution") == []
    assert "福建示例建设工程考核中心" not in page.content.decode()
