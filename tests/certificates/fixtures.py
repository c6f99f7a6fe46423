from decimal import Decimal

import pytest

from certificates.services import certificate_issue
from exams import services as exam_services
from exams.models import Authority
from tests.exams.fixtures import hold

DEMO_CREDIT_CODE = "91350100M000100Y43"  # GB 32100's own example, for tests only


@pytest.fixture
def issuer_credit_code(db):
    Authority.objects.filter(pk=350000).update(credit_code=DEMO_CREDIT_CODE)


@pytest.fixture
def passed(issuer_credit_code, scheduled, assessor, authority_staff):
    hold(scheduled.session)
    exam_services.score_record(
        application=scheduled, actor=assessor, theory=Decimal(90), practical=Decimal(88)
    )
    exam_services.session_publish_scores(session=scheduled.session, actor=authority_staff)
    scheduled.refresh_from_db()
    return scheduled


@pytest.fixture
def certificate(passed, authority_staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = certificate_issue(application=passed, actor=authority_staff)
    issued.refresh_from_db()
    return issued
