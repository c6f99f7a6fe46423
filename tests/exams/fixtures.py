from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from applicants.demo import demo_id_number
from applicants.models import Profile
from applicants.services import material_upload, profile_save
from certportal import roles
from exams import services
from exams.models import ExamApplication, ExamSession, Institution, Trade
from tests.applicants.corpus import good_id_scan, good_pdf, good_photo
from tests.factories import staff_factory, user_factory

CENTRE = "泉州市住建行业中介服务中心"
SCHOOL = "泉州示例建筑职业培训学校"


@pytest.fixture
def centre(db):
    return Institution.objects.get(name=CENTRE)


@pytest.fixture
def school(db):
    return Institution.objects.get(name=SCHOOL)


@pytest.fixture
def crane(db):
    return Trade.objects.get(code="05")


@pytest.fixture
def trainer(school):
    return staff_factory(institution=school)


@pytest.fixture
def assessor(centre):
    return staff_factory(institution=centre)


_numbers = iter(range(100, 999))


def make_candidate(*, username=None, id17=None, materials=True, education="senior"):
    user = user_factory(role=roles.APPLICANT, username=username)
    id17 = id17 or f"35050319880101{next(_numbers):03d}"
    profile_save(
        user=user,
        name="王小明",
        id_number=demo_id_number(id17),
        mobile="13900000001",
        education=education,
    )
    if materials:
        for kind, data in (
            ("photo", good_photo()),
            ("id_scan", good_id_scan()),
            ("education_proof", good_pdf()),
        ):
            material_upload(user=user, kind=kind, data=data)
    return user


@pytest.fixture
def candidate(db):
    return make_candidate(username="13911110000")


def medical(application, days_ago=10):
    return services.application_attach_medical(
        application=application,
        actor=application.applicant,
        data=good_pdf(),
        exam_date=timezone.localdate() - timedelta(days=days_ago),
    )


@pytest.fixture
def draft(candidate, crane, centre, school):
    application = services.application_create(
        applicant=candidate, trade=crane, assessment_institution=centre, training_institution=school
    )
    return medical(application)


@pytest.fixture
def submitted(draft):
    return services.application_submit(application=draft, actor=draft.applicant)


@pytest.fixture
def institution_approved(submitted, trainer):
    return services.application_institution_approve(application=submitted, actor=trainer)


@pytest.fixture
def approved(institution_approved, authority_staff):
    return services.application_approve(application=institution_approved, actor=authority_staff)


def make_session(actor, trade, centre, *, capacity=30, approve_with=None, days=14):
    now = timezone.now()
    session = services.session_create(
        actor=actor,
        name="测试考试计划",
        trade=trade,
        assessment_institution=centre,
        theory_at=now + timedelta(days=days),
        practical_at=now + timedelta(days=days + 1),
        venue="泉州市测试考点",
        capacity=capacity,
    )
    if approve_with is not None:
        services.session_submit(session=session, actor=actor)
        session = services.session_approve(session=session, actor=approve_with)
    return session


@pytest.fixture
def session(assessor, authority_staff, crane, centre):
    return make_session(assessor, crane, centre, approve_with=authority_staff)


@pytest.fixture
def scheduled(approved, session, assessor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.session_assign(session=session, actor=assessor, applications=[approved])
    approved.refresh_from_db()
    return approved


def hold(session, *, theory_days_ago=2, practical_days_ago=1):
    """The session's exams took place: its times moved into the past, as time passing would
    (ORM setup; a session cannot be created in the past). Returns the session, refreshed."""
    now = timezone.now()
    ExamSession.objects.filter(pk=session.pk).update(
        theory_at=now - timedelta(days=theory_days_ago),
        practical_at=now - timedelta(days=practical_days_ago),
    )
    session.refresh_from_db()
    return session


def bulk_scheduled(session, count):
    """``count`` scheduled candidates in ``session`` (ORM setup, not the behaviour tested)."""
    from applicants.models import User

    users = User.objects.bulk_create([User(username=f"bulk{n:04d}") for n in range(count)])
    numbers = [demo_id_number(f"35050319900101{n:03d}") for n in range(count)]
    Profile.objects.bulk_create(
        [
            Profile(
                user=u,
                name="测试考生",
                id_number=number,
                birth_date=timezone.localdate().replace(year=1990),
                sex="M",
                mobile="13900000000",
                education="senior",
            )
            for u, number in zip(users, numbers, strict=True)
        ]
    )
    applications = ExamApplication.objects.bulk_create(
        [
            ExamApplication(
                applicant=u,
                trade=session.trade,
                authority=session.authority,
                assessment_institution=session.assessment_institution,
                status="scheduled",
                session=session,
                ticket_number=f"T{session.pk:05d}{n:04d}",
            )
            for n, u in enumerate(users)
        ]
    )
    return list(zip(applications, numbers, strict=True))


__all__ = ["Decimal", "ExamSession", "bulk_scheduled", "make_candidate", "make_session", "medical"]
