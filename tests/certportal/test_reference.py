"""manage.py load_reference: the reference data on every deployment, staff's edits kept."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from exams.models import Authority, Institution, Policy, Trade

FIXTURE_ROWS = sum(
    len(json.loads((settings.FIXTURE_DIRS[0] / f"{label}.json").read_text(encoding="utf-8")))
    for label in settings.REFERENCE_FIXTURES
)


def load() -> str:
    out = StringIO()
    call_command("load_reference", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_second_load_keeps_what_staff_changed():
    policy = Policy.objects.order_by("pk").first()
    policy.theory_pass_mark, policy.uses_training_institution = 50, False
    policy.save()
    authority = Authority.objects.get(pk=policy.authority_id)
    authority.credit_code = "11350500MB0000000X"
    authority.save()
    institution = Institution.objects.order_by("pk").first()
    institution.is_active = False
    institution.save()

    assert f"新增 0 条，保留已有 {FIXTURE_ROWS} 条" in load()

    policy.refresh_from_db()
    authority.refresh_from_db()
    institution.refresh_from_db()
    assert (policy.theory_pass_mark, policy.uses_training_institution) == (50, False)
    assert authority.credit_code == "11350500MB0000000X"
    assert institution.is_active is False


@pytest.mark.django_db
def test_rows_the_database_lacks_are_added_and_staff_can_add_more_after():
    trade = Trade.objects.order_by("-pk").first()
    code, name = trade.code, trade.name
    Policy.objects.filter(pk=Policy.objects.order_by("pk").first().pk).delete()
    trade.delete()

    assert f"新增 2 条，保留已有 {FIXTURE_ROWS - 2} 条" in load()
    assert Trade.objects.filter(code=code, name=name).exists()
    # The sequence was moved past the fixture's own keys (PostgreSQL would collide otherwise).
    added = Trade.objects.create(code="99", name="测试新增工种", authority=trade.authority)
    assert added.pk > Trade.objects.exclude(pk=added.pk).order_by("-pk").first().pk


@pytest.mark.django_db
def test_an_unknown_fixture_is_refused_by_name():
    with pytest.raises(CommandError, match=r"找不到参考数据文件 nothing\.json"):
        call_command("load_reference", "nothing")
