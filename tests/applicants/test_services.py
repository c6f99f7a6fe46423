import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from applicants.models import Material, Profile, User
from applicants.services import account_register, material_upload, profile_save
from certportal.errors import DomainError
from certportal.models import AuditEvent
from tests.applicants.conftest import ID_NUMBER, OTHER_ID_NUMBER, registered_numbers
from tests.applicants.corpus import bad_uploads, good_id_scan, good_pdf, good_photo

pytestmark = pytest.mark.django_db


def media_files(media_root):
    return sorted(p.relative_to(media_root) for p in media_root.rglob("*") if p.is_file())


def test_account_register_creates_applicant_with_mobile_login():
    user = account_register(mobile="13912345678", password="Strong-pass-2026")
    assert user.username == "13912345678"
    assert user.groups.filter(name="申报人").exists()
    assert AuditEvent.objects.filter(
        action="applicants.user.registered", object_id=user.pk
    ).exists()


@pytest.mark.parametrize(
    ("mobile", "password", "field"),
    [
        ("1391234567", "Strong-pass-2026", "mobile"),
        ("23912345678", "Strong-pass-2026", "mobile"),
        ("13912345678", "12345678", "password1"),
        ("13912345678", "short", "password1"),
    ],
)
def test_account_register_refuses_bad_input_and_creates_nothing(mobile, password, field):
    with pytest.raises(ValidationError) as exc:
        account_register(mobile=mobile, password=password)
    assert field in exc.value.message_dict
    assert not User.objects.filter(username=mobile).exists()


def test_account_register_refuses_a_taken_mobile(applicant):
    with pytest.raises(ValidationError, match="已注册"):
        account_register(mobile=applicant.username, password="Strong-pass-2026")


def test_profile_save_derives_birth_date_and_sex_and_encrypts(profile):
    assert profile.birth_date.isoformat() == "1985-06-12"
    assert profile.sex == "M"
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM applicants_profile WHERE id = %s", [profile.pk])
        (raw,) = cursor.fetchone()
    assert ID_NUMBER not in raw
    event = AuditEvent.objects.get(action="applicants.profile.created")
    assert ID_NUMBER not in str(event.data) and "id_number" in event.data["fields"]


def test_profile_save_reports_every_bad_field_and_saves_nothing(applicant):
    with pytest.raises(ValidationError) as exc:
        profile_save(
            user=applicant,
            name="Wang",
            id_number="350503198506121230",
            mobile="12345",
            education="phd",
            employer_credit_code="91350100M000100Y44",
        )
    assert set(exc.value.message_dict) >= {
        "name",
        "id_number",
        "mobile",
        "education",
        "employer_credit_code",
    }
    assert not Profile.objects.exists()


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_an_id_number_in_the_address_or_employer_is_refused(applicant):
    """Free text is stored as typed: an ID number there would be in clear in the database."""
    with pytest.raises(ValidationError) as exc:
        profile_save(
            user=applicant,
            name="王小明",
            id_number=ID_NUMBER,
            mobile="13900000001",
            education="senior",
            employer_name=f"个人{ID_NUMBER}",
            # As a Chinese input method types it: full-width digits.
            address="泉州市丰泽区 身份证" + ID_NUMBER.translate(FULL_WIDTH),
        )
    assert set(exc.value.message_dict) == {"employer_name", "address"}
    assert "不要填写身份证号码" in exc.value.message_dict["address"][0]
    assert not Profile.objects.exists()


def test_second_profile_with_the_same_id_number_is_refused_without_details(
    profile, other_applicant
):
    with pytest.raises(ValidationError) as exc:
        profile_save(
            user=other_applicant,
            name="王小明",
            id_number=ID_NUMBER.lower(),
            mobile="13900000002",
            education="junior",
        )
    message = " ".join(exc.value.message_dict["id_number"])
    assert "不能重复登记" in message
    assert profile.mobile not in message and "王" not in message
    assert Profile.objects.count() == 1


def _try_number(user, id_number, mobile="13900000002", client=None):
    return profile_save(
        user=user,
        name="张三丰",
        id_number=id_number,
        mobile=mobile,
        education="junior",
        client=client,
    )


def test_trying_registered_numbers_one_after_another_is_stopped_for_a_day(other_applicant):
    from datetime import timedelta

    from django.utils import timezone

    from applicants.demo import demo_id_number
    from applicants.services import ID_CONFLICT_ACTION, ID_CONFLICTS_PER_DAY

    *tried, untried = registered_numbers(ID_CONFLICTS_PER_DAY + 1)
    for number in tried:
        with pytest.raises(ValidationError, match="不能重复登记"):
            _try_number(other_applicant, number)
    conflicts = AuditEvent.objects.filter(actor=other_applicant, action=ID_CONFLICT_ACTION)
    assert conflicts.count() == ID_CONFLICTS_PER_DAY
    assert not [n for n in tried if any(n in str(event.data) for event in conflicts)]

    # A number already refused is answered as before: asking again tells nothing new.
    with pytest.raises(ValidationError, match="不能重复登记"):
        _try_number(other_applicant, tried[0])

    # A new number, registered or free, gets the same answer, and nothing is saved.
    free = demo_id_number("11010519791231002")
    answers = []
    for number in (untried, free):
        with pytest.raises(ValidationError) as exc:
            _try_number(other_applicant, number)
        answers.append(exc.value.message_dict)
    assert answers[0] == answers[1]
    assert "请稍后再试" in answers[0]["id_number"][0]
    assert not Profile.objects.filter(user=other_applicant).exists()

    # 24 hours after the refusals, the account may try again.
    conflicts.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    assert _try_number(other_applicant, free).id_number == free


def test_new_accounts_from_one_address_do_not_buy_new_tries(db):
    """An account is limited to 5 refused numbers a day. Past 20 refused numbers from one
    address, an account there that has been refused once may not try another: registering
    account after account gets one answer each, not five. Someone there saving their own
    free number is never stopped."""
    from applicants.demo import demo_id_number
    from applicants.services import (
        ID_CONFLICT_ACTION,
        ID_CONFLICTS_PER_ADDRESS_PER_DAY,
        ID_CONFLICTS_PER_DAY,
        _client_key,
    )
    from certportal.pii import blind_index
    from tests.factories import user_factory

    office, elsewhere = "203.0.113.7", "198.51.100.4"
    *tried, untried, another = registered_numbers(ID_CONFLICTS_PER_ADDRESS_PER_DAY + 2)
    accounts = []
    for start in range(0, len(tried), ID_CONFLICTS_PER_DAY - 1):
        account = user_factory(username=f"1360000{len(accounts):04d}")
        accounts.append(account)
        for number in tried[start : start + ID_CONFLICTS_PER_DAY - 1]:
            with pytest.raises(ValidationError, match="不能重复登记"):
                _try_number(account, number, client=office)
    events = AuditEvent.objects.filter(action=ID_CONFLICT_ACTION)
    assert events.count() == ID_CONFLICTS_PER_ADDRESS_PER_DAY
    assert {e.data["client"] for e in events} == {blind_index(f"client:{office}")}
    assert not [e for e in events if office in str(e.data)]

    # A fresh account gets one answer...
    newcomer = user_factory(username="13600009999")
    with pytest.raises(ValidationError, match="不能重复登记"):
        _try_number(newcomer, untried, client=office)
    # ...and then, for a registered and a free number alike, the same refusal.
    free = demo_id_number("11010519791231002")
    answers = []
    for number in (another, free):
        with pytest.raises(ValidationError) as exc:
            _try_number(newcomer, number, client=office)
        answers.append(exc.value.message_dict)
    assert answers[0] == answers[1]
    assert "从您所在的网络已多次填写" in answers[0]["id_number"][0]
    assert not Profile.objects.filter(user=newcomer).exists()

    # A number already refused from there tells nothing new; from elsewhere the account asks.
    with pytest.raises(ValidationError, match="不能重复登记"):
        _try_number(newcomer, tried[0], client=office)
    assert _try_number(newcomer, free, client=elsewhere).id_number == free

    # A colleague at the same office saving their own free number is not stopped.
    colleague = user_factory(username="13600008888")
    own = demo_id_number("11010519791231010")
    assert _try_number(colleague, own, client=office).id_number == own

    # IPv6: one subscriber's /64 is one address.
    assert _client_key("2001:db8:1:2::1") == _client_key("2001:db8:1:2:ffff::9")
    assert _client_key("2001:db8:1:2::1") != _client_key("2001:db8:1:3::1")
    assert _client_key("::ffff:203.0.113.7") == _client_key("203.0.113.7")
    assert _client_key("::ffff:203.0.113.7") != _client_key("::ffff:203.0.113.8")


def test_the_profile_page_counts_refusals_by_the_requests_address(client, profile, other_applicant):
    from applicants.services import ID_CONFLICT_ACTION
    from certportal.pii import blind_index

    client.force_login(other_applicant)
    response = client.post(
        "/me/profile/",
        {
            "name": "张三丰",
            "id_number": ID_NUMBER,
            "mobile": "13900000002",
            "education": "junior",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    assert "不能重复登记" in response.content.decode()
    event = AuditEvent.objects.get(action=ID_CONFLICT_ACTION, actor=other_applicant)
    assert event.data["client"] == blind_index("client:203.0.113.9")


def test_asking_again_about_ones_own_taken_number_is_never_limited(profile, other_applicant):
    from applicants.services import ID_CONFLICTS_PER_DAY

    for _ in range(ID_CONFLICTS_PER_DAY * 2):
        with pytest.raises(ValidationError, match="不能重复登记"):
            _try_number(other_applicant, ID_NUMBER)


def test_the_limit_never_stops_saving_the_number_the_profile_already_has(other_profile):
    from applicants.services import ID_CONFLICTS_PER_DAY

    for number in registered_numbers(ID_CONFLICTS_PER_DAY + 1):
        with pytest.raises(ValidationError, match=r"不能重复登记|请稍后再试"):
            _try_number(other_profile.user, number)

    saved = _try_number(other_profile.user, OTHER_ID_NUMBER, mobile="13900000088")

    assert saved.mobile == "13900000088" and saved.id_number == OTHER_ID_NUMBER


def test_id_number_cannot_change_once_locked_but_other_fields_can(profile):
    Profile.objects.filter(pk=profile.pk).update(id_number_locked=True)
    with pytest.raises(ValidationError, match="不能再修改"):
        profile_save(
            user=profile.user,
            name="王小明",
            id_number=OTHER_ID_NUMBER,
            mobile="13900000001",
            education="senior",
        )
    updated = profile_save(
        user=profile.user,
        name="王小明",
        id_number=ID_NUMBER,
        mobile="13900000009",
        education="college",
    )
    assert updated.mobile == "13900000009" and updated.id_number == ID_NUMBER


def test_material_upload_stores_under_random_name_with_audit(applicant, private_media_root):
    material = material_upload(user=applicant, kind="photo", data=good_photo())
    assert material.content_type == "image/jpeg" and material.thumbnail
    assert applicant.username not in material.file.name and "photo" not in material.file.name
    assert (private_media_root / material.file.name).is_file()
    assert AuditEvent.objects.filter(action="applicants.material.uploaded").count() == 1


def test_material_replacement_deletes_the_old_file_after_commit(
    applicant, private_media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = material_upload(user=applicant, kind="education_proof", data=good_pdf())
    old_name = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        second = material_upload(user=applicant, kind="education_proof", data=good_id_scan())
    assert second.pk == first.pk and second.file.name != old_name
    assert not (private_media_root / old_name).exists()
    assert Material.objects.filter(owner=applicant).count() == 1
    assert AuditEvent.objects.filter(action="applicants.material.replaced").count() == 1


CORPUS = [bad for bad in bad_uploads() if bad.kind in Material.PROFILE_KINDS]


@pytest.mark.parametrize("bad", CORPUS, ids=[b.name for b in CORPUS])
def test_hostile_upload_is_refused_nothing_stored_previous_kept(
    bad, applicant, private_media_root, django_capture_on_commit_callbacks
):
    good = {"photo": good_photo, "id_scan": good_id_scan, "education_proof": good_pdf}
    with django_capture_on_commit_callbacks(execute=True):
        previous = material_upload(user=applicant, kind=bad.kind, data=good[bad.kind]())
    before = media_files(private_media_root)
    with pytest.raises(ValidationError) as exc:
        material_upload(user=applicant, kind=bad.kind, data=bad.data)
    assert bad.message in " ".join(exc.value.messages)
    assert media_files(private_media_root) == before
    kept = Material.objects.get(owner=applicant, kind=bad.kind)
    assert (kept.file.name, kept.sha256) == (previous.file.name, previous.sha256)


def test_corpus_holds_at_least_25_bad_uploads():
    assert len(CORPUS) >= 25


def test_materials_locked_for_review_refuse_replacement(profile):
    Profile.objects.filter(pk=profile.pk).update(materials_locked=True)
    with pytest.raises(DomainError, match="审核中"):
        material_upload(user=profile.user, kind="photo", data=good_photo())
    assert not Material.objects.exists()


def test_medical_certificate_is_not_a_profile_material(applicant):
    with pytest.raises(DomainError):
        material_upload(user=applicant, kind="medical", data=good_pdf())


def test_registrations_from_one_address_are_limited_per_hour(monkeypatch, client):
    """A fresh account per question would make the ID-number limit moot: accounts registered
    from one address are counted (60 an hour; 2 here), a class at a training office fits."""
    from datetime import timedelta

    from django.utils import timezone

    from applicants import services

    monkeypatch.setattr(services, "REGISTRATIONS_PER_ADDRESS_PER_HOUR", 2)
    office = "203.0.113.20"
    for n in range(2):
        account_register(mobile=f"1350000000{n}", password="Sicher-2026-pass", client=office)
    with pytest.raises(ValidationError) as exc:
        account_register(mobile="13500000009", password="Sicher-2026-pass", client=office)
    assert "近期注册的账号已达上限" in exc.value.messages[0]
    assert not User.objects.filter(username="13500000009").exists()
    account_register(mobile="13500000008", password="Sicher-2026-pass", client="198.51.100.9")

    # The page counts by the request's address, and says so on the form.
    response = client.post(
        "/accounts/register/",
        {"login": "13500000007", "password1": "Sicher-2026-pass", "password2": "Sicher-2026-pass"},
        REMOTE_ADDR=office,
    )
    assert "近期注册的账号已达上限" in response.content.decode()
    assert not User.objects.filter(username="13500000007").exists()

    # An hour on, the office registers again.
    AuditEvent.objects.filter(action="applicants.user.registered").update(
        created_at=timezone.now() - timedelta(hours=1, minutes=1)
    )
    account_register(mobile="13500000007", password="Sicher-2026-pass", client=office)

    # And a day's allowance beyond the hours'.
    monkeypatch.setattr(services, "REGISTRATIONS_PER_ADDRESS_PER_DAY", 3)
    with pytest.raises(ValidationError):
        account_register(mobile="13500000006", password="Sicher-2026-pass", client=office)
