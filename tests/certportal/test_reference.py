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


@pytest.mark.django_db
def test_a_row_staff_deleted_after_it_was_loaded_stays_deleted():
    load()
    policy = Policy.objects.order_by("pk").first()
    authority = policy.authority_id
    policy.delete()  # the city follows its province's policy from now on

    assert f"新增 0 条，保留已有 {FIXTURE_ROWS} 条" in load()
    assert not Policy.objects.filter(authority_id=authority).exists()


@pytest.mark.django_db
def test_a_new_row_colliding_with_one_staff_made_is_reported_not_fatal():
    """A release's new institution whose name staff already gave to one of their own: the
    start goes on (web, worker and beat wait for it), the collision is named."""
    institution = Institution.objects.order_by("-pk").first()
    fields = {
        "name": institution.name,
        "kind": institution.kind,
        "authority_id": institution.authority_id,
    }
    fixture_key = institution.pk
    institution.delete()
    Institution.objects.create(**fields)  # the same name, staff's own key

    out, err = StringIO(), StringIO()
    call_command("load_reference", stdout=out, stderr=err)
    assert "新增 0 条" in out.getvalue()
    assert f"exams.Institution {fixture_key}" in err.getvalue() and "冲突" in err.getvalue()
    assert Institution.objects.filter(name=fields["name"]).count() == 1
