"""One ID number, one account, under parallel claims on PostgreSQL: registrations with the
number and profile saves of it (rows of two tables, which no unique index spans) take turns on
the number's lock, so exactly one account ends up holding it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from applicants.models import IdNumberLogin, Profile
from applicants.services import account_register, profile_save
from conftest import need
from tests.applicants.conftest import ID_NUMBER
from tests.factories import user_factory
from tests.integration.test_concurrency import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_parallel_registrations_and_profile_saves_of_one_number_leave_one_holder(round_):
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    savers = [user_factory(username=f"1371111{round_}{n:03d}") for n in range(3)]

    def register():
        try:
            account_register(id_number=ID_NUMBER, password="Sicher-2026-pass")
        except ValidationError as exc:
            return exc.messages[0]
        return "held"

    def save(user):
        def run():
            try:
                profile_save(
                    user=user,
                    name="王小明",
                    id_number=ID_NUMBER,
                    mobile=user.username,
                    education="junior",
                )
            except ValidationError as exc:
                return exc.messages[0]
            return "held"

        return run

    jobs = [register, save(savers[0]), register, save(savers[1]), register, save(savers[2])]
    answers = run_together(jobs)

    assert answers.count("held") == 1, answers
    assert all("不能重复登记" in a for a in answers if a != "held"), answers
    holders = Profile.objects.count() + IdNumberLogin.objects.count()
    assert holders == 1
