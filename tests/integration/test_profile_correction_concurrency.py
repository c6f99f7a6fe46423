"""A correction of a person's name and ID number racing the issuance of their certificate and
the resubmission of their application, on PostgreSQL (READ COMMITTED): the certificate and the
application end with the corrected data, and nothing deadlocks. The race is made to happen: the
correction is held open inside its transaction, right after it has locked the person's rows,
while the other change runs."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from applicants.demo import demo_id_number
from applicants.models import Profile
from certificates.models import Certificate
from certificates.services import certificate_issue, holders, profile_correct
from conftest import need
from exams import services as exam_services
from exams.models import ExamApplication
from tests.integration.conftest import tasks_sent_to
from tests.integration.test_concurrency import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NEW_NUMBER = demo_id_number("35050319860712123")
HOLD_S = 0.5


@pytest.fixture(autouse=True)
def _tasks_to_a_redis_of_its_own(private_redis, settings):
    with tasks_sent_to(private_redis.url, settings):
        yield


@pytest.fixture
def correction_held_open(monkeypatch):
    """An event set once a correction holds its locks; it then waits HOLD_S seconds."""
    locked = threading.Event()
    scope = holders.authorities_in_scope

    def scope_then_hold(actor):
        if connection.in_atomic_block:  # inside the correction's transaction, locks taken
            locked.set()
            time.sleep(HOLD_S)
        return scope(actor)

    monkeypatch.setattr(holders, "authorities_in_scope", scope_then_hold)
    return locked


def _correct(profile, actor):
    return lambda: profile_correct(
        profile=profile,
        actor=actor,
        name="王晓明",
        id_number=NEW_NUMBER,
        reason="本人持身份证原件到窗口核验",
    )


def _after(event, job):
    def run():
        assert event.wait(10), "the correction never reached its hold"
        return job()

    return run


def test_an_issuance_during_a_correction_copies_the_corrected_data(
    passed, authority_staff, correction_held_open
):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    profile = Profile.objects.get(user=passed.applicant)

    corrected, issued = run_together(
        [
            _correct(profile, authority_staff),
            _after(
                correction_held_open,
                lambda: certificate_issue(application=passed, actor=authority_staff),
            ),
        ]
    )

    assert isinstance(corrected, Profile), corrected
    assert isinstance(issued, Certificate), issued
    certificate = Certificate.objects.get(pk=issued.pk)
    assert (certificate.holder_name, certificate.holder_id_number) == ("王晓明", NEW_NUMBER)
    assert str(certificate.holder_birth_date) == "1986-07-12"
    # Issued after the correction committed, from its data: not issued stale and mended after.
    assert certificate.content_version == 1


def test_a_resubmission_during_a_correction_neither_deadlocks_nor_keeps_the_old_name(
    submitted, trainer, authority_staff, correction_held_open
):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    returned = exam_services.application_return(
        application=submitted, actor=trainer, reason="照片不清晰"
    )
    profile = Profile.objects.get(user=submitted.applicant)

    corrected, resubmitted = run_together(
        [
            _correct(profile, authority_staff),
            _after(
                correction_held_open,
                lambda: exam_services.application_submit(
                    application=returned, actor=submitted.applicant
                ),
            ),
        ]
    )

    assert isinstance(corrected, Profile), corrected
    assert isinstance(resubmitted, ExamApplication), resubmitted
    assert ExamApplication.objects.get(pk=submitted.pk).submitted_name == "王晓明"
