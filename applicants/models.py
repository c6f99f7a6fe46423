"""People: accounts (and, in the applicants issue, real-name profiles and materials)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from certportal.pii import BlindIndexField, EncryptedTextField, mask_id_number, mask_name


class User(AbstractUser):
    """Every account: applicants log in with a phone number or ID number, staff by username."""

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        swappable = "AUTH_USER_MODEL"


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


class Profile(models.Model):
    """实名信息: one per person in the whole system (unique blind index of the ID number)."""

    user = models.OneToOneField(
        User, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="profile"
    )
    name = models.CharField(_("姓名"), max_length=30)
    id_number = EncryptedTextField(_("公民身份号码"))
    id_number_index = BlindIndexField(source="id_number", unique=True)

    class Meta:
        verbose_name = _("实名信息")
        verbose_name_plural = _("实名信息")

    def __str__(self) -> str:
        return mask_name(self.name)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)
