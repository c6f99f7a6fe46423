from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from applicants.models import Profile
from certportal import pii

ID_NUMBER = "11010519491231002X"


def make_profile(user, id_number: str) -> Profile:
    return Profile.objects.create(
        user=user,
        name="王小明",
        id_number=id_number,
        birth_date=date(1949, 12, 31),
        sex="F",
        mobile="13900000001",
        education="junior",
    )


def test_mask_id_number_keeps_first_and_last_four():
    assert pii.mask_id_number("350521199001011234") == "3505**********1234"
    assert pii.mask_id_number("11010519491231002x") == "1101**********002X"
    assert pii.mask_id_number("") == ""


def test_mask_name_keeps_first_character():
    assert pii.mask_name("王小明") == "王**"
    assert pii.mask_name("阿依古丽·买买提") == "阿*******"
    assert pii.mask_name("王") == "王*"
    assert pii.mask_name("") == ""


def test_encrypt_round_trip_is_randomised():
    first, second = pii.encrypt(ID_NUMBER), pii.encrypt(ID_NUMBER)
    assert first != second
    assert ID_NUMBER not in first
    assert pii.decrypt(first) == pii.decrypt(second) == ID_NUMBER


def test_blind_index_is_keyed_and_normalised(settings):
    index = pii.blind_index(ID_NUMBER)
    assert index == pii.blind_index(" 11010519491231002x ")
    assert ID_NUMBER not in index and len(index) == 64
    settings.PII_INDEX_KEY = "another-index-key-of-sufficient-length"
    assert pii.blind_index(ID_NUMBER) != index


@pytest.mark.django_db
def test_profile_stores_no_id_number_in_clear_and_finds_by_blind_index(applicant):
    profile = make_profile(applicant, "11010519491231002x")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_index FROM applicants_profile WHERE id = %s", [profile.pk]
        )
        raw_value, raw_index = cursor.fetchone()
    assert ID_NUMBER not in raw_value and ID_NUMBER.lower() not in raw_value
    assert ID_NUMBER not in raw_index
    found = Profile.objects.get(id_number_index=pii.blind_index("11010519491231002x"))
    assert found.pk == profile.pk
    assert found.id_number == ID_NUMBER
    assert found.masked_id_number == "1101**********002X"


@pytest.mark.django_db
def test_encrypted_field_refuses_lookups_that_would_compare_ciphertext(applicant):
    with pytest.raises(TypeError, match="blind index"):
        Profile.objects.filter(id_number=ID_NUMBER).exists()


@pytest.mark.django_db
def test_key_rotation_reencrypts_with_new_key_and_old_key_can_go(applicant, settings):
    profile = make_profile(applicant, ID_NUMBER)
    new_key = Fernet.generate_key().decode()
    old_keys = list(settings.PII_ENCRYPTION_KEYS)
    settings.PII_ENCRYPTION_KEYS = [new_key, *old_keys]
    from django.core.management import call_command

    call_command("rotate_pii", verbosity=0)
    settings.PII_ENCRYPTION_KEYS = [new_key]
    assert Profile.objects.get(pk=profile.pk).id_number == ID_NUMBER


@pytest.mark.django_db
def test_blind_index_rebuild_after_index_key_change(applicant, settings):
    make_profile(applicant, ID_NUMBER)
    settings.PII_INDEX_KEY = "a-brand-new-index-key-for-this-test-run"
    assert not Profile.objects.filter(id_number_index=pii.blind_index(ID_NUMBER)).exists()
    from django.core.management import call_command

    call_command("rotate_pii", verbosity=0)
    assert Profile.objects.filter(id_number_index=pii.blind_index(ID_NUMBER)).exists()
