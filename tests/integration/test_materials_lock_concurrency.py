"""The materials lock under concurrent changes, on PostgreSQL (READ COMMITTED).

Two applications of one person moving at once, and an upload racing a submission: the
materials end up locked exactly while an application is under review, and the photo kept for
the certificate is the photo the profile holds. The race is made to happen, not hoped for: the
submission is held open inside its transaction, after it has copied the photo, while the other
change runs.
"""

from __future__ import annotations

from functools import partial

import pytest
from django.db import connection

from applicants.models import Material, Profile
from applicants.services import material_upload
from certportal.errors import DomainError
from conftest import need
from exams import services
from exams.models import ExamApplication, Trade
from tests.applicants.corpus import good_photo
from tests.exams.fixtures import make_candidate, medical
from tests.integration.test_concurrency import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROUNDS = 3
HOLD_S = 0.4


@pytest.fixture
def submission_held_open(monkeypatch):
    """An event set once a submission has kept its photo; the submission then waits HOLD_S
    seconds before it commits."""
    import threading
    import time

    from exams.services import applications

    copied = threading.Event()
    keep = applications._keep_submitted_identity

    def keep_then_hold(row, written):
        keep(row, written)
        copied.set()
        time.sleep(HOLD_S)

    monkeypatch.setattr(applications, "_keep_submitted_identity", keep_then_hold)
    return copied


def _after(event, job):
    def run():
        assert event.wait(10), "the submission never reached its copy"
        event.clear()
        return job()

    return run


def _draft(user, trade_code, centre, school):
    application = services.application_create(
        applicant=user,
        trade=Trade.objects.get(code=trade_code),
        assessment_institution=centre,
        training_institution=school,
    )
    return medical(application)


def test_a_withdrawal_and_a_submission_at_once_leave_the_materials_locked(
    centre, school, submission_held_open
):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    for round_ in range(ROUNDS):
        user = make_candidate(username=f"1393333{round_:04d}", id17=f"350503199001013{round_:02d}")
        first = _draft(user, "05", centre, school)
        first = services.application_submit(application=first, actor=user)
        second = _draft(user, "01", centre, school)

        outcomes = run_together(
            [
                _after(
                    submission_held_open,
                    partial(services.application_withdraw, application=first, actor=user),
                ),
                partial(services.application_submit, application=second, actor=user),
            ]
        )
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        assert ExamApplication.objects.get(pk=second.pk).status == "submitted"
        assert Profile.objects.get(user=user).materials_locked, f"round {round_}"


def test_an_upload_racing_a_submission_never_changes_the_photo_under_review(
    centre, school, submission_held_open
):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    for round_ in range(ROUNDS):
        user = make_candidate(username=f"1394444{round_:04d}", id17=f"350503199101014{round_:02d}")
        draft = _draft(user, "05", centre, school)
        new_photo = good_photo(55 + round_)

        outcomes = run_together(
            [
                partial(services.application_submit, application=draft, actor=user),
                _after(
                    submission_held_open,
                    partial(material_upload, user=user, kind="photo", data=new_photo),
                ),
            ]
        )
        submitted, uploaded = outcomes
        assert not isinstance(submitted, BaseException), submitted
        # It waited for the submission to commit, and was refused with the lock's message.
        assert isinstance(uploaded, DomainError) and "审核中" in uploaded.message, uploaded
        application = ExamApplication.objects.get(pk=draft.pk)
        current = Material.objects.get(owner=user, kind="photo").file
        with current.open("rb") as now, application.submitted_photo.open("rb") as kept:
            assert kept.read() == now.read(), f"round {round_}"
