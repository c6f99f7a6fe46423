import pytest

from applicants.demo import demo_id_number
from applicants.services import profile_save

ID_NUMBER = demo_id_number("35050319850612123")
OTHER_ID_NUMBER = demo_id_number("33020319900101002")


@pytest.fixture
def profile(applicant):
    return profile_save(
        user=applicant,
        name="王小明",
        id_number=ID_NUMBER,
        mobile="13900000001",
        education="senior",
    )


@pytest.fixture
def other_profile(other_applicant):
    return profile_save(
        user=other_applicant,
        name="张三丰",
        id_number=OTHER_ID_NUMBER,
        mobile="13900000002",
        education="junior",
    )


def registered_numbers(count):
    """``count`` ID numbers, each registered by an account of its own."""
    from applicants.demo import demo_id_number
    from tests.factories import user_factory

    numbers = []
    for i in range(count):
        number = demo_id_number(f"11010519791230{i:03d}")
        profile_save(
            user=user_factory(username=f"1370000{i:04d}"),
            name="赵六",
            id_number=number,
            mobile=f"1370000{i:04d}",
            education="junior",
        )
        numbers.append(number)
    return numbers
