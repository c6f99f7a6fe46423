"""Continuing education, violation and accident records, and renewal applications (SPEC 4.6)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certificates.models import Certificate
from certportal.pii import BlindIndexField, EncryptedTextField, mask_id_number, mask_name
from exams.models import Institution


class VoidableQuerySet(models.QuerySet):
    def in_force(self):
        """The records that count: not voided."""
        return self.filter(voided_at__isnull=True)


class Voidable(models.Model):
    """A record entered in error is voided (作废), with who, when and why, never deleted: a
    renewal refused on it stays explicable, and it no longer counts from then on."""

    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True, editable=False)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作废人"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    void_reason = models.TextField(_("作废原因"), blank=True, editable=False)

    objects = VoidableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class ContinuingEducation(Voidable):
    """继续教育记录: matched to holders by ID number (providers know no accounts)."""

    class Mode(models.TextChoices):
        ONLINE = "online", _("线上")
        OFFLINE = "offline", _("线下")

    holder_name = models.CharField(_("姓名"), max_length=30)
    holder_id_number = EncryptedTextField(_("公民身份号码"))
    holder_id_index = BlindIndexField(source="holder_id_number", db_index=True)
    provider = models.ForeignKey(
        Institution,
        verbose_name=_("继续教育机构"),
        on_delete=models.PROTECT,
        related_name="ce_records",
    )
    mode = models.CharField(_("方式"), max_length=10, choices=Mode.choices)
    hours = models.DecimalField(
        _("学时"),
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(0.1), MaxValueValidator(200)],
    )
    completed_on = models.DateField(_("完成日期"), db_index=True)
    course = models.CharField(_("课程"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("继续教育记录")
        verbose_name_plural = _("继续教育记录")
        ordering = ("-completed_on", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0, hours__lte=200), name="ce_hours_range"),
        ]

    def __str__(self) -> str:
        return f"{mask_name(self.holder_name)} {self.hours} {self.completed_on}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.holder_id_number)


class ConductRecord(Voidable):
    """违章操作记录 or 事故责任记录 of a certificate, entered by authority staff."""

    class Kind(models.TextChoices):
        VIOLATION = "violation", _("违章操作")
        ACCIDENT = "accident", _("生产安全事故责任")

    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("证书"),
        on_delete=models.PROTECT,
        related_name="conduct_records",
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, db_index=True)
    occurred_on = models.DateField(_("发生日期"), db_index=True)
    description = models.TextField(_("情况说明"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("违章与事故记录")
        verbose_name_plural = _("违章与事故记录")
        ordering = ("-occurred_on", "-id")

    def __str__(self) -> str:
        return f"{self.certificate.number} {self.get_kind_display()} {self.occurred_on}"


class RenewalApplication(models.Model):
    """延续申请, following the Zhejiang walk-through (在线填表 → 取件方式 → 信息确认)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        APPROVED = "approved", _("准予延续")
        RETURNED = "returned", _("退回补正")
        REJECTED = "rejected", _("不予延续")
        WITHDRAWN = "withdrawn", _("已撤回")

    class Delivery(models.TextChoices):
        ELECTRONIC = "electronic", _("电子证照")
        MAIL = "mail", _("邮寄（费用由申请人承担）")

    certificate = models.ForeignKey(
        Certificate, verbose_name=_("证书"), on_delete=models.PROTECT, related_name="renewals"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="renewals",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    ce_city = models.CharField(_("参加继续教育所在市"), max_length=30, blank=True)
    ce_district = models.CharField(_("区县"), max_length=30, blank=True)
    declare_health = models.BooleanField(_("承诺：体检合格，身体条件适应岗位"), default=False)
    declare_no_accident = models.BooleanField(_("承诺：对生产安全事故不负有责任"), default=False)
    declare_violations = models.BooleanField(_("承诺：2 年内违章操作记录少于 3 次"), default=False)
    declare_training = models.BooleanField(
        _("承诺：已按规定参加安全教育培训和继续教育"), default=False
    )
    delivery = models.CharField(_("取件方式"), max_length=12, choices=Delivery.choices, blank=True)
    mail_address = models.CharField(_("邮寄地址"), max_length=200, blank=True)
    signature_name = models.CharField(_("电子签名"), max_length=30, blank=True)
    signed_at = models.DateTimeField(_("签名时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True, db_index=True)
    first_submitted_at = models.DateTimeField(
        _("首次提交时间"),
        null=True,
        blank=True,
        help_text=_("在受理期内首次提交的延续申请，退回补正后重新提交时不再受受理期限制"),
    )
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    correct_by = models.DateField(
        _("补正期限"),
        null=True,
        blank=True,
        help_text=_("退回补正后须在此日（含）前重新提交，逾期未补正的视为撤回"),
    )
    reason = models.TextField(_("退回或不予延续原因"), blank=True)
    new_valid_until = models.DateField(_("延续后有效期至"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("延续申请")
        verbose_name_plural = _("延续申请")
        ordering = ("-submitted_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "approved",
                        "returned",
                        "rejected",
                        "withdrawn",
                    ]
                ),
                name="renewal_status_valid",
            ),
            models.UniqueConstraint(
                fields=("certificate",),
                condition=Q(status__in=["draft", "submitted", "returned"]),
                name="renewal_one_open_per_certificate",
                violation_error_message=_("该证书已有办理中的延续申请。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certificate.number} 延续 #{self.pk}"

    def staff_label(self) -> str:
        return f"{self.certificate.number} · {self.certificate.holder_name} · 延续 #{self.pk}"

    @property
    def first_submitted_on(self):
        """The local day of the first submission, or None for a draft never submitted."""
        return timezone.localdate(self.first_submitted_at) if self.first_submitted_at else None

    @property
    def declarations_complete(self) -> bool:
        return all(
            (
                self.declare_health,
                self.declare_no_accident,
                self.declare_violations,
                self.declare_training,
            )
        )
