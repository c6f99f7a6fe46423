"""People: accounts, real-name profiles, and the profile materials."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from certportal.pii import BlindIndexField, EncryptedTextField, mask_id_number, mask_name

from .uploads import MaterialKind

# The username of an account registered with its ID number (SPEC 4.1): a random name that
# tells nothing (the number is never a username: usernames are stored and shown in clear).
ID_LOGIN_PREFIX = "id-"


class User(AbstractUser):
    """Every account: applicants log in with a phone number or ID number, staff by username."""

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"

    @property
    def registered_by_id_number(self) -> bool:
        return self.get_username().startswith(ID_LOGIN_PREFIX)

    def __str__(self) -> str:
        # An ID-number account's username is random: named by its masked number wherever a
        # page or the log (an event's record name) prints the account.
        return self.masked_login() if self.registered_by_id_number else self.get_username()

    def staff_label(self) -> str:
        """How staff pages name an account (账号, 操作人, 创建人): a staff member's full name,
        else the login, an ID-number login masked (its username is a random ``id-…``, which
        alone would not tell whose the account is)."""
        return self.get_full_name() or str(self)

    def id_number(self) -> str:
        """The account's ID number: its profile's once saved, else the one it registered with
        (an ID-number login), else "". A list that select_related both reads no more rows;
        otherwise a query each, which leaves nothing cached on the user (a profile saved later
        in the request is seen)."""
        if self.pk is None:
            return ""
        for holder, model in (("profile", Profile), ("id_number_login", IdNumberLogin)):
            relation = self._meta.get_field(holder)
            if relation.is_cached(self):
                found = relation.get_cached_value(self)
                number = found.id_number if found else ""
            else:
                number = model.objects.filter(user=self).values_list("id_number", flat=True).first()
            if number:
                return number
        return ""

    def masked_login(self) -> str:
        """The login as a mail or page may name it: a mobile number as 138****0001, an ID
        number as 3505**********1234 (the owner knows it; a forwarded mail does not give it
        away), a staff login name as it is."""
        name = self.get_username()
        if len(name) == 11 and name.isdigit():
            return f"{name[:3]}****{name[-4:]}"
        if self.registered_by_id_number and (number := self.id_number()):
            return mask_id_number(number)
        return name


class EducationLevel(models.TextChoices):
    """学历, ordered from lowest to highest: the order is what eligibility compares."""

    PRIMARY = "primary", _("小学及以下")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中·中专·技校")
    COLLEGE = "college", _("大专")
    BACHELOR = "bachelor", _("本科及以上")

    @classmethod
    def rank(cls, value: str) -> int:
        return cls.values.index(value)


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Profile(models.Model):
    """实名信息: one per person in the whole system (unique blind index of the ID number).

    Birth date and sex are derived from the ID number, never typed in.
    """

    user = models.OneToOneField(
        User, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="profile"
    )
    name = models.CharField(_("姓名"), max_length=30)
    id_number = EncryptedTextField(_("公民身份号码"))
    id_number_index = BlindIndexField(source="id_number", unique=True)
    birth_date = models.DateField(_("出生日期"))
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    mobile = models.CharField(_("手机号码"), max_length=11, db_index=True)
    education = models.CharField(_("文化程度"), max_length=20, choices=EducationLevel.choices)
    employer_name = models.CharField(_("工作单位"), max_length=100, blank=True)
    employer_credit_code = models.CharField(_("单位统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("通讯地址"), max_length=200, blank=True)
    # Set by the exams app when the first application is made / while one is under review:
    # the applicant may then no longer change the ID number / replace materials.
    id_number_locked = models.BooleanField(_("身份证号已锁定"), default=False)
    materials_locked = models.BooleanField(_("材料已锁定（审核中）"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("实名信息")
        verbose_name_plural = _("实名信息")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("name",))]

    def __str__(self) -> str:
        return mask_name(self.name)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class IdNumberLogin(models.Model):
    """An account registered with its ID number as the login, before it has a real-name
    profile: the number it logs in with and that its profile form starts from. Saving the
    profile moves the number there (this row goes), so one ID number is held by one account:
    a number here is taken for every other account's profile, and a profile's number cannot
    be registered again.
    """

    user = models.OneToOneField(
        User, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="id_number_login"
    )
    id_number = EncryptedTextField(_("公民身份号码"))
    id_number_index = BlindIndexField(source="id_number", unique=True)
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("身份证号码注册")
        verbose_name_plural = _("身份证号码注册")

    def __str__(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


def id_number_holder(id_index: str) -> int | None:
    """The account holding an ID number (its blind index), by profile or by registration."""
    return (
        Profile.objects.filter(id_number_index=id_index).values_list("user_id", flat=True).first()
        or IdNumberLogin.objects.filter(id_number_index=id_index)
        .values_list("user_id", flat=True)
        .first()
    )


def material_path(instance: Material, filename: str) -> str:
    """Random names only: nothing of the person or the original file name on disk."""
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"materials/{uuid.uuid4().hex}.{extension}"


class Material(models.Model):
    """One uploaded file of an applicant, kept in private storage (never a public URL)."""

    PROFILE_KINDS = (MaterialKind.PHOTO, MaterialKind.ID_SCAN, MaterialKind.EDUCATION_PROOF)

    owner = models.ForeignKey(
        User, verbose_name=_("所有人"), on_delete=models.CASCADE, related_name="materials"
    )
    kind = models.CharField(_("材料类型"), max_length=20, choices=MaterialKind.choices)
    file = models.FileField(_("文件"), upload_to=material_path, max_length=200)
    thumbnail = models.FileField(_("缩略图"), upload_to=material_path, max_length=200, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    width = models.PositiveIntegerField(_("宽（像素）"), null=True, blank=True)
    height = models.PositiveIntegerField(_("高（像素）"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now=True)

    class Meta:
        verbose_name = _("材料")
        verbose_name_plural = _("材料")
        ordering = ("owner", "kind")
        constraints = [
            models.UniqueConstraint(
                fields=("owner", "kind"),
                condition=Q(kind__in=("photo", "id_scan", "education_proof")),
                name="material_one_profile_material_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
