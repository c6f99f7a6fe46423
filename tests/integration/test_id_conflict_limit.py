"""The limit on refused ID numbers under parallel saves of one account, on PostgreSQL: the
account's saves take turns, so no more than the limit are answered however many run at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from applicants.services import ID_CONFLICT_ACTION, ID_CONFLICTS_PER_DAY, profile_save
from certportal.models import AuditEvent
from conftest import need
from tests.applicants.conftest import registered_numbers
from tests.factories import user_factory
from tests.integration.test_concurrency import run_together

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PARALLEL = ID_CONFLICTS_PER_DAY * 2


def test_parallel_tries_of_registered_numbers_are_answered_no_more_than_the_limit():
    need(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    numbers = registered_numbers(PARALLEL)
    prober = user_factory(username="13711110000")

    def attempt(number):
        def run():
            try:
                profile_save(
                    user=prober,
                    name="张三",
                    id_number=number,
                    mobile="13711110000",
                    education="junior",
                )
            except ValidationError as exc:
                return exc.messages[0]
            return "saved"

        return run

    answers = run_together([attempt(number) for number in numbers])

    registered = [a for a in answers if "不能重复登记" in a]
    limited = [a for a in answers if "请稍后再试" in a]
    assert len(registered) == ID_CONFLICTS_PER_DAY, answers
    assert len(limited) == PARALLEL - ID_CONFLICTS_PER_DAY, answers
    assert AuditEvent.objects.filter(actor=prober, action=ID_CONFLICT_ACTION).count() == (
        ID_CONFLICTS_PER_DAY
    )
