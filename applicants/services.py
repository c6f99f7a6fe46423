"""Writes of the applicants app: accounts, real-name profiles, materials."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from certportal import roles
from certportal.audit import audit_record
from certportal.client import subscriber
from certportal.errors import DomainError
from certportal.models import AuditEvent
from certportal.pii import blind_index, contains_id_number, plain_reason
from certportal.storage import delete_stored_files

from .idcard import parse_id_number
from .models import (
    ID_LOGIN_PREFIX,
    EducationLevel,
    IdNumberLogin,
    Material,
    Profile,
    User,
    id_number_holder,
)
from .uploads import MaterialRules, make_thumbnail, validate_material
from .validators import (
    normalise_person_name,
    validate_credit_code,
    validate_mobile,
    validate_person_name,
    validate_plain_line,
)

logger = logging.getLogger(__name__)


# What other apps do when a profile is saved, inside its transaction (registered from their
# AppConfig.ready: this app knows nothing of them). certificates links the imported
# certificates issued under the profile's name and ID number.
ProfileSavedHook = Callable[[Profile], None]
_profile_saved_hooks: list[ProfileSavedHook] = []


def register_profile_saved_hook(hook: ProfileSavedHook) -> None:
    if hook not in _profile_saved_hooks:
        _profile_saved_hooks.append(hook)


def _duplicate_id_message() -> str:
    # Says nothing of the other account: not its phone, name, or whether it is active.
    return _(
        "该身份证号码已在本平台注册或登记实名信息，不能重复登记。如这是您本人的号码，"
        "请用原账号登录（可通过“忘记密码”找回）；如有疑问，请联系发证机关。"
    )


# Accounts registered from one client address (its keyed hash, as for refused ID numbers) in
# an hour and in a day: enough for a training institution registering a class from its office,
# few enough that a fresh account per question does not make the ID-number limit moot.
REGISTRATIONS_PER_ADDRESS_PER_HOUR = 60
REGISTRATIONS_PER_ADDRESS_PER_DAY = 200


def _registrations_limited(client_key: str) -> bool:
    now = timezone.now()
    recent = AuditEvent.objects.filter(
        action="applicants.user.registered",
        data__client=client_key,
        created_at__gte=now - timedelta(days=1),
    )
    return (
        recent.count() >= REGISTRATIONS_PER_ADDRESS_PER_DAY
        or recent.filter(created_at__gte=now - timedelta(hours=1)).count()
        >= REGISTRATIONS_PER_ADDRESS_PER_HOUR
    )


def account_register(
    *,
    password: str,
    mobile: str = "",
    id_number: str = "",
    email: str = "",
    client: str | None = None,
) -> User:
    """Create an applicant account whose login is the mobile number or the ID number (SPEC
    4.1): exactly one of ``mobile`` and ``id_number``.

    An account registered with its ID number gets a random username and holds the number in
    an ``IdNumberLogin`` (encrypted, blind-indexed) until its profile is saved; the number is
    refused when another account holds it, as a profile would be, and counted as such a
    refusal (the same limits per address).

    Raises ValidationError (keyed by field: ``mobile``, ``id_number``, ``password1``) for a
    bad or taken login or a weak password, and a form-wide one once ``client``'s address has
    registered its hourly allowance. Nothing is created unless everything is valid.
    """
    if bool(mobile) == bool(id_number):
        raise ValueError("account_register takes exactly one of mobile and id_number")
    client_key = _client_key(client)
    if client_key and _registrations_limited(client_key):
        raise ValidationError(
            _("您所在的网络近期注册的账号已达上限，请稍后再试；培训机构集中注册的，请分批进行。"),
            code="register_rate",
        )
    errors: dict[str, list] = {}
    parsed = None
    if id_number:
        try:
            parsed = parse_id_number(id_number)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
        # A password like the number is refused as one like a mobile login is.
        login = parsed.number if parsed else ""
    else:
        login = mobile = mobile.strip()
        try:
            validate_mobile(mobile)
        except ValidationError as exc:
            errors["mobile"] = exc.messages
        if "mobile" not in errors and User.objects.filter(username=mobile).exists():
            errors["mobile"] = [_("该手机号已注册，请直接登录；忘记密码可通过“忘记密码”找回。")]
    try:
        validate_password(password, user=User(username=login, email=email))
    except ValidationError as exc:
        # Django's "too similar to the 用户名" names a field the form does not have.
        similar = (
            _("密码与身份证号码太相似，请换一个。")
            if id_number
            else _("密码与手机号码太相似，请换一个。")
        )
        username_label = str(User._meta.get_field("username").verbose_name)
        codes = {error.code for error in exc.error_list}
        errors["password1"] = []
        for error in exc.error_list:
            if error.code == "password_too_similar" and (
                str((error.params or {}).get("verbose_name")) == username_label
            ):
                # Said once: the run of the ID number it holds is the more precise reason.
                if "password_contains_id_number" not in codes:
                    errors["password1"].append(similar)
            else:
                errors["password1"].append(error.messages[0])
    if errors and parsed is not None and "id_number" not in errors:
        # A refused password and a taken number are said together: the box is emptied after
        # any error (LoginNameInput), and the number should not have to be typed twice.
        refused = _id_number_refusal(blind_index(parsed.number), client_key)
        if refused:
            errors["id_number"] = [refused]
    if errors:
        raise ValidationError(errors)
    if parsed is not None:
        return _register_by_id_number(parsed, password=password, email=email, client_key=client_key)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=mobile, password=password, email=email)
            _registered(user, client_key)
    except IntegrityError as exc:  # the same number registered a moment ago
        raise ValidationError({"mobile": [_("该手机号已注册，请直接登录。")]}) from exc
    return user


def _registered(user: User, client_key: str | None) -> None:
    user.groups.add(Group.objects.get(name=roles.APPLICANT))
    audit_record(
        actor=user,
        action="applicants.user.registered",
        obj=user,
        data={"client": client_key} if client_key else None,
    )


def _register_by_id_number(parsed, *, password: str, email: str, client_key: str | None) -> User:
    id_index = blind_index(parsed.number)
    refused = _id_number_refusal(id_index, client_key)
    if refused is None:
        try:
            with transaction.atomic():
                lock_id_number(id_index)
                if id_number_holder(id_index) is None:
                    user = User.objects.create_user(
                        username=_random_login_name(), password=password, email=email
                    )
                    IdNumberLogin.objects.create(user=user, id_number=parsed.number)
                    _registered(user, client_key)
                    return user
        except IntegrityError:  # taken a moment ago where nothing locks (SQLite in development)
            pass
        refused = _id_number_refusal(id_index, client_key, held=True)
    raise ValidationError({"id_number": [refused]})


def account_id_number_refusal(*, id_number: str, client: str | None = None) -> str | None:
    """Why registering with this (valid, canonical) ID number would be refused, asked when
    the registration fails for another reason first (passwords that differ), so that both are
    said at once; counted against the address as a registration's refusal is. None, saying
    nothing of the number, once the address has used up its registrations (as a
    registration would be refused first for that)."""
    client_key = _client_key(client)
    if client_key and _registrations_limited(client_key):
        return None
    return _id_number_refusal(blind_index(id_number), client_key)


def _id_number_refusal(id_index: str, client_key: str | None, *, held: bool = False) -> str | None:
    """Why a registration by this number is refused, or None: the address has used up its
    answers about registered numbers, or the number is held (looked up unless ``held``: found
    so under the lock). A held number is recorded like a profile's refusal (the blind index
    only), so that it counts against the address."""
    # Asked before looking, as for a profile: the answer must not depend on the number typed.
    if client_key and _address_conflicts_exhausted(id_index, client_key):
        return _(
            "24 小时内从您所在的网络已多次填写了已在本平台登记的身份证号码，"
            "请改用手机号码注册，或稍后再试。"
        )
    if not held and id_number_holder(id_index) is None:
        return None
    data = {"id_index": id_index}
    if client_key:
        data["client"] = client_key
    audit_record(actor=None, action=ID_CONFLICT_ACTION, data=data)
    return _duplicate_id_message()


def lock_id_number(id_index: str) -> None:
    """Take, until the transaction ends, the lock every claim on one ID number takes before it
    asks who holds it: a registration, a profile save and a staff correction of the same
    number wait for each other (a profile and a registration are rows of two tables, which no
    unique index spans). A PostgreSQL advisory lock keyed by the blind index; SQLite, which
    lets one writer in at a time, needs none."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(id_index[:15], 16)])


def _random_login_name() -> str:
    while True:
        name = ID_LOGIN_PREFIX + secrets.token_hex(8)
        if not User.objects.filter(username=name).exists():
            return name


def may_release_id_number_login(actor) -> bool:
    """Whether ``actor`` may release an ID number held by a registration: a superuser, or
    staff of an issuing authority (who check ID cards at the window)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return actor.is_superuser or (
        actor.is_staff and actor.groups.filter(name=roles.AUTHORITY_STAFF).exists()
    )


def id_number_login_release(*, login: IdNumberLogin, actor, reason: str) -> None:
    """Release an ID number that an account registered with and holds without a profile:
    someone registered with another person's number, and its owner, having shown their ID
    card at the authority, could register neither account nor profile with it.

    The account is deactivated: its only login was that number, and without a profile it has
    no application, certificate or material. One audit event (the reason; the number's blind
    index, never the number). Refused for a reason that is missing or holds an ID number, by
    anyone but a superuser or authority staff, and once the account has a profile (it then
    holds the number as a person, corrected through the profile); a number already released
    changes nothing.
    """
    if not may_release_id_number_login(actor):
        raise DomainError(_("您无权释放身份证号码注册。"), code="forbidden")
    reason = plain_reason(reason, missing=_("请填写释放的原因（如已核验的证件）。"))
    with transaction.atomic():
        lock_id_number(login.id_number_index)
        row = IdNumberLogin.objects.select_for_update().filter(pk=login.pk).first()
        if row is None:
            raise DomainError(_("该号码已被释放，无需再次办理。"), code="unchanged")
        if Profile.objects.filter(user_id=row.user_id).exists():
            raise DomainError(
                _("该账号已填写实名信息，号码由实名信息持有，请通过实名信息更正办理。"),
                code="has_profile",
            )
        user = User.objects.select_for_update().get(pk=row.user_id)
        id_index = row.id_number_index
        row.delete()
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="applicants.id_number_login.released",
            obj=user,
            reason=reason,
            data={"id_index": id_index},
        )


def profile_save(
    *,
    user: User,
    name: str,
    id_number: str,
    mobile: str,
    education: str,
    employer_name: str = "",
    employer_credit_code: str = "",
    address: str = "",
    client: str | None = None,
) -> Profile:
    """Create or update the real-name profile of ``user``.

    Birth date and sex come from the ID number. One profile per ID number in the whole system;
    the number cannot change once the exams app has locked it. Raises ValidationError keyed by
    field; nothing is saved unless every field is valid. ``client``: the request's address
    (``certportal.client.client_ip``), for the limit on refused numbers per address.
    """
    errors: dict[str, list] = {}

    def check(field, fn, *args):
        try:
            return fn(*args)
        except ValidationError as exc:
            errors[field] = exc.messages
            return None

    name = normalise_person_name(name or "")
    check("name", validate_person_name, name)
    parsed = check("id_number", parse_id_number, id_number or "")
    mobile = (mobile or "").strip()
    check("mobile", validate_mobile, mobile)
    if education not in EducationLevel.values:
        errors["education"] = [_("请选择文化程度。")]
    employer_name = (employer_name or "").strip()
    check("employer_name", validate_plain_line, employer_name)
    address = (address or "").strip()
    check("address", validate_plain_line, address)
    # The ID number has its own field, encrypted; in free text it would be stored in clear.
    for field, text in (("employer_name", employer_name), ("address", address)):
        if field not in errors and contains_id_number(text):
            errors[field] = [_("这里不要填写身份证号码：身份证号码请只填在“公民身份号码”一栏。")]
    employer_credit_code = (employer_credit_code or "").strip().upper()
    if employer_credit_code:
        check("employer_credit_code", validate_credit_code, employer_credit_code)
        if not employer_name:
            errors["employer_name"] = [_("填写了统一社会信用代码时，请同时填写工作单位名称。")]
    if errors:
        raise ValidationError(errors)

    # The account's row is locked for the whole save, so that its saves take turns: the limit
    # below counts refusals that earlier saves wrote, never a figure read beside them.
    # FOR NO KEY UPDATE: a plain FOR UPDATE would also block every insert of a row pointing at
    # the user (an audit event, a material, a notice), which other services make while holding
    # the profile's lock, and the two would deadlock.
    with transaction.atomic():
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        try:
            # _profile_write's own transaction is a savepoint here: rolled back on refusal.
            return _profile_write(
                user=user,
                client_key=_client_key(client),
                name=name,
                parsed=parsed,
                mobile=mobile,
                education=education,
                employer_name=employer_name,
                employer_credit_code=employer_credit_code,
                address=address,
            )
        except _IdNumberTaken:
            # The write is rolled back; the refusal is recorded and kept, so that it counts.
            data = {"id_index": blind_index(parsed.number)}
            if client_key := _client_key(client):
                data["client"] = client_key
            audit_record(actor=user, action=ID_CONFLICT_ACTION, obj=user, data=data)
    raise ValidationError({"id_number": [_duplicate_id_message()]})


# "Is this ID number registered?" is what a refused profile answers. A person who mistyped, or
# whose number someone else registered, asks about one or two numbers, and may ask again; an
# account trying number after number is looking for registered people. Once an account has
# been refused this many different numbers within 24 hours, it may not try another new one
# until the oldest of those refusals is 24 hours old. Asking again about a number already
# refused tells nothing new and is answered as before; saving the number the profile already
# has is never counted or refused. Each refusal is an audit event holding the number's blind
# index only (never the number). Callers must not wrap ``profile_save`` in a transaction of
# their own: the refusal's record would be rolled back with it.
#
# Registering is free, so a new account buys new tries: the refusals are also counted per
# client address (a keyed hash of it in the event, never the address; IPv6 by its /64),
# across accounts, with a larger allowance, since a training institution registers many
# workers from one office. Past it, an account from that address that has been refused once
# may not try another new number: each fresh account gets one answer about a registered
# number, not five (and an address registers REGISTRATIONS_PER_ADDRESS_PER_HOUR accounts at
# most), and nobody saving their own free number is stopped. That count is not
# serialised between accounts (each save locks its own account only), so parallel saves from
# one address may pass it by a few.
ID_CONFLICT_ACTION = "applicants.profile.id_conflict"
ID_CONFLICTS_PER_DAY = 5
ID_CONFLICTS_PER_ADDRESS_PER_DAY = 20


class _IdNumberTaken(Exception):
    pass


def _client_key(client: str | None) -> str | None:
    """A keyed hash of the address; an IPv6 address by its /64, which one subscriber holds
    whole (rotating through it must not buy new tries)."""
    if not client:
        return None
    return blind_index(f"client:{subscriber(client)}")


def _id_conflict_limit(user: User, id_index: str, client_key: str | None) -> str | None:
    """The refusal's message when this new number may not be tried now, else None."""
    recent = AuditEvent.objects.filter(
        action=ID_CONFLICT_ACTION, created_at__gte=timezone.now() - timedelta(days=1)
    )
    refused = set(recent.filter(actor=user).values_list("data__id_index", flat=True))
    if id_index in refused:
        return None
    if len(refused) >= ID_CONFLICTS_PER_DAY:
        return _(
            "24 小时内已多次填写了已在本平台登记的身份证号码，请稍后再试；"
            "如您的号码被他人占用，请携带身份证到发证机关办理。"
        )
    # Only an account already refused a number is held to its address's allowance: a person
    # registering their own, free number at a shared address (an office, a mobile network)
    # is never stopped by what others there did.
    if client_key and refused and _address_conflicts_exhausted(id_index, client_key):
        return _(
            "24 小时内从您所在的网络已多次填写了已在本平台登记的身份证号码，请稍后再试；"
            "如您的号码被他人占用，请携带身份证到发证机关办理。"
        )
    return None


def _address_conflicts_exhausted(id_index: str, client_key: str) -> bool:
    """Whether the address has used up its allowance of refused numbers for a new number:
    asking again about a number already refused there tells nothing new."""
    nearby = set(
        AuditEvent.objects.filter(
            action=ID_CONFLICT_ACTION,
            created_at__gte=timezone.now() - timedelta(days=1),
            data__client=client_key,
        ).values_list("data__id_index", flat=True)
    )
    return id_index not in nearby and len(nearby) >= ID_CONFLICTS_PER_ADDRESS_PER_DAY


def _profile_write(
    *,
    user: User,
    client_key: str | None,
    name: str,
    parsed,
    mobile: str,
    education: str,
    employer_name: str,
    employer_credit_code: str,
    address: str,
) -> Profile:
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(user=user).first()
        if profile and profile.id_number_locked and profile.id_number != parsed.number:
            raise ValidationError(
                {
                    "id_number": [
                        _(
                            "您的身份证号码已用于考试报名或证书，不能再修改；如确有错误，"
                            "请携带身份证到发证机关办理更正。"
                        )
                    ]
                }
            )
        if profile and profile.materials_locked:
            # Under review: the reviewers judge the name and education the application was
            # submitted with (the ID number is locked for good, above).
            message = _(
                "您有报名正在审核中或等待考试，姓名和文化程度暂不能修改；"
                "待审核退回、撤回报名或考核成绩发布后可以修改。"
            )
            changed = {"name": name, "education": education}
            refused = {f: [message] for f, v in changed.items() if getattr(profile, f) != v}
            if refused:
                raise ValidationError(refused)
        # The number the account holds already (its profile's, or the one it registered
        # with) is never counted or refused by the limit.
        held = profile.id_number if profile else None
        if held is None:
            held = (
                IdNumberLogin.objects.filter(user=user).values_list("id_number", flat=True).first()
            )
        id_index = blind_index(parsed.number)
        limited = held != parsed.number and _id_conflict_limit(user, id_index, client_key)
        if limited:
            # Refused before looking: the answer must not depend on the number typed.
            raise ValidationError({"id_number": [limited]})
        lock_id_number(id_index)
        holder = id_number_holder(id_index)
        if holder is not None and holder != user.pk:
            raise _IdNumberTaken

        created = profile is None
        profile = profile or Profile(user=user)
        before = {f: getattr(profile, f) for f in _PROFILE_FIELDS} if not created else {}
        profile.name = name
        profile.id_number = parsed.number
        profile.birth_date = parsed.birth_date
        profile.sex = parsed.sex
        profile.mobile = mobile
        profile.education = education
        profile.employer_name = employer_name
        profile.employer_credit_code = employer_credit_code
        profile.address = address
        try:
            with transaction.atomic():
                profile.save()
        except IntegrityError as exc:  # a profile of the number saved a moment ago
            raise _IdNumberTaken from exc
        # The profile holds the number now, as the login too: an account registered with its
        # ID number logs in with the profile's (the one it registered, or a corrected one).
        IdNumberLogin.objects.filter(user=user).delete()
        for hook in _profile_saved_hooks:
            hook(profile)
        changed = [f for f in _PROFILE_FIELDS if created or before[f] != getattr(profile, f)]
        audit_record(
            actor=user,
            action="applicants.profile.created" if created else "applicants.profile.updated",
            obj=profile,
            data={"fields": changed},  # names only: never the values
        )
    return profile


_PROFILE_FIELDS = (
    "name",
    "id_number",
    "mobile",
    "education",
    "employer_name",
    "employer_credit_code",
    "address",
)


def material_upload(
    *, user: User, kind: str, data: bytes, rules: MaterialRules | None = None
) -> Material:
    """Check ``data`` by its content and store it as ``user``'s material of ``kind``.

    A refused file raises ValidationError naming the broken rule; nothing is written and the
    previous file stays. The new file is stored under a random name; the replaced one is
    deleted after commit. Raises DomainError while materials are locked for review.
    """
    if kind not in Material.PROFILE_KINDS:
        raise DomainError(_("不支持的材料类型。"), code="kind")
    _require_materials_unlocked(user)
    clean = validate_material(kind, data, rules or MaterialRules())
    thumbnail = make_thumbnail(clean)

    written: list[str] = []
    try:
        with transaction.atomic():
            # Checked again under the profile's row lock, which a submission takes to lock
            # the materials: an upload and a submission at once are one after the other.
            _require_materials_unlocked(user, for_update=True)
            material = Material.objects.select_for_update().filter(owner=user, kind=kind).first()
            old_files = (
                [n for n in (material.file.name, material.thumbnail.name) if n] if material else []
            )
            created = material is None
            material = material or Material(owner=user, kind=kind)
            material.file.save(f"m.{clean.extension}", ContentFile(clean.content), save=False)
            written.append(material.file.name)
            if thumbnail:
                material.thumbnail.save("t.jpg", ContentFile(thumbnail), save=False)
                written.append(material.thumbnail.name)
            else:
                material.thumbnail = ""
            material.content_type = clean.content_type
            material.size = len(clean.content)
            material.width, material.height = clean.width, clean.height
            material.sha256 = hashlib.sha256(clean.content).hexdigest()
            material.save()
            audit_record(
                actor=user,
                action="applicants.material.uploaded"
                if created
                else "applicants.material.replaced",
                obj=material,
                data={"kind": kind, "size": material.size, "sha256": material.sha256},
            )
            transaction.on_commit(lambda: delete_stored_files(old_files))
    except BaseException:
        delete_stored_files(written)
        raise
    return material


def _require_materials_unlocked(user: User, *, for_update: bool = False) -> None:
    profiles = Profile.objects.filter(user=user)
    if for_update:
        profiles = profiles.select_for_update()
    if profiles.values_list("materials_locked", flat=True).first():
        raise DomainError(
            _(
                "您有报名正在审核中或等待考试，材料暂不能更换；"
                "待审核退回、撤回报名或考核成绩发布后可以更换。"
            ),
            code="locked",
        )
