"""Certificates: issuance records, validity history, PDF versions, numbering counters."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from certportal.pii import BlindIndexField, EncryptedTextField, mask_id_number, mask_name
from exams.models import Authority, ExamApplication, ExamSession, Trade


class CertificateStatus(models.TextChoices):
    """The national status codes."""

    VALID = "01", _("有效")
    SUSPENDED = "02", _("暂扣")
    REVOKED = "03", _("吊销")
    WITHDRAWN = "04", _("撤销")
    CANCELLED = "05", _("注销")
    EXPIRED = "06", _("过期失效")


def new_qr_token() -> str:
    """Random and unguessable; no personal data and not the certificate number."""
    return secrets.token_urlsafe(18)


def _random_name(prefix: str, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"{prefix}/{uuid.uuid4().hex}.{extension}"


def photo_path(instance, filename: str) -> str:
    return _random_name("certificates/photos", filename)


def pdf_path(instance, filename: str) -> str:
    return _random_name("certificates/pdf", filename)


# A certificate still held: valid or suspended (暂扣), within its validity or kept so by a
# renewal submitted in time. Past its date, a suspended certificate ends like a valid one.
HELD_STATES = (CertificateStatus.VALID, CertificateStatus.SUSPENDED)


def running_period_end(valid_from: date) -> date | None:
    """The last day of the period running today, when a renewal approved ahead of the expiry
    put the certificate's recorded period in the future (new valid-from = old valid-until + 1
    day): shown beside that period, so nobody reads it as "not valid yet". None otherwise."""
    if valid_from > timezone.localdate():
        return valid_from - timedelta(days=1)
    return None


def effective_status(status: str, valid_until, renewal_pending: bool) -> str:
    """What pages and verification show: past its date a valid or suspended certificate is
    expired at once, whatever the nightly sweep has stored yet (unless a renewal is pending)."""
    if status in HELD_STATES and valid_until < timezone.localdate() and not renewal_pending:
        return CertificateStatus.EXPIRED
    return status


def held_q(today=None) -> Q:
    """The rows ``effective_status`` shows as valid or suspended: those that block a new exam
    or a second certificate of the trade."""
    today = today or timezone.localdate()
    return Q(status__in=HELD_STATES) & (Q(valid_until__gte=today) | Q(renewal_pending=True))


class SerialCounter(models.Model):
    """The last serial used per (authority prefix, trade code, year): a locked row."""

    prefix = models.CharField(max_length=4)
    trade_code = models.CharField(max_length=2)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("证书流水号")
        verbose_name_plural = _("证书流水号")
        constraints = [
            models.UniqueConstraint(
                fields=("prefix", "trade_code", "year"), name="serial_counter_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}{self.trade_code}{self.year}: {self.last}"


class Certificate(models.Model):
    """建筑施工特种作业操作资格证书. Holder data is copied at issuance."""

    number = models.CharField(_("证书编号"), max_length=20, unique=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("持证人账号"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    holder_name = models.CharField(_("姓名"), max_length=30, db_index=True)
    holder_sex = models.CharField(_("性别"), max_length=1, choices=[("M", _("男")), ("F", _("女"))])
    holder_id_number = EncryptedTextField(_("公民身份号码"))
    holder_id_index = BlindIndexField(source="holder_id_number", db_index=True)
    holder_birth_date = models.DateField(_("出生日期"))
    holder_photo = models.FileField(_("照片"), upload_to=photo_path, blank=True, max_length=200)
    trade = models.ForeignKey(Trade, verbose_name=_("操作类别"), on_delete=models.PROTECT)
    authority = models.ForeignKey(
        Authority, verbose_name=_("发证机关"), on_delete=models.PROTECT, related_name="certificates"
    )
    application = models.OneToOneField(
        ExamApplication,
        verbose_name=_("考试报名"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificate",
    )
    first_issued_on = models.DateField(_("初次领证日期"))
    issued_on = models.DateField(_("发证日期"))
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期至"), db_index=True)
    status = models.CharField(
        _("状态"),
        max_length=2,
        choices=CertificateStatus.choices,
        default=CertificateStatus.VALID,
        db_index=True,
    )
    status_reason = models.TextField(_("状态变更原因"), blank=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    renewal_pending = models.BooleanField(
        _("延续审查中"),
        default=False,
        help_text=_("有效期届满前已提交延续申请：决定作出前证书保持有效"),
    )
    is_legacy = models.BooleanField(_("历史证书（导入）"), default=False)
    qr_token = models.CharField(
        _("查验令牌"), max_length=32, unique=True, default=new_qr_token, editable=False
    )
    content_version = models.PositiveIntegerField(
        _("内容版本"), default=1, help_text=_("每次需要重新生成电子证照的变更加一")
    )
    pdf = models.FileField(_("电子证照 PDF"), upload_to=pdf_path, blank=True, max_length=200)
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    pdf_version = models.PositiveIntegerField(_("已生成的内容版本"), default=0)
    ecert_version = models.PositiveIntegerField(_("电子证照版本"), default=0)
    ecert_identifier = models.CharField(_("电子证照标识"), max_length=120, blank=True)
    render_error = models.TextField(_("生成失败原因"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("证书")
        verbose_name_plural = _("证书")
        ordering = ("-issued_on", "-id")
        indexes = [
            models.Index(fields=("authority", "trade", "status")),
            # The staff list's order (Meta.ordering): its first page without sorting the scope.
            models.Index(fields=("-issued_on", "-id"), name="certificate_list_order"),
            models.Index(
                fields=("pdf_version",),
                name="certificate_render_pending",
                condition=Q(pdf_version__lt=models.F("content_version")),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["01", "02", "03", "04", "05", "06"]),
                name="certificate_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="certificate_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def staff_label(self) -> str:
        """Whose certificate, for staff acting on it (suspension, revocation: who is hit)."""
        return f"{self.number} · {self.holder_name} · {self.trade.name}"

    @property
    def effective_status(self) -> str:
        return effective_status(self.status, self.valid_until, self.renewal_pending)

    @property
    def effective_status_label(self) -> str:
        return str(CertificateStatus(self.effective_status).label)

    @property
    def awaits_ecert(self) -> bool:
        """Imported, and its new-version e-certificate never asked for (content version 0):
        it has no PDF to bring up to date, and none is made until asked."""
        return self.is_legacy and self.content_version == 0

    @property
    def is_valid(self) -> bool:
        return self.effective_status == CertificateStatus.VALID

    @property
    def running_until(self) -> date | None:
        return running_period_end(self.valid_from)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.holder_id_number)

    @property
    def masked_name(self) -> str:
        return mask_name(self.holder_name)

    @property
    def verify_path(self) -> str:
        return f"/v/{self.qr_token}/"

    @property
    def verify_url(self) -> str:
        return f"{settings.SITE_URL}{self.verify_path}"


class ValidityPeriod(models.Model):
    class Reason(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("validity reason", "签发")
        RENEWED = "renewed", pgettext_lazy("validity reason", "延续")
        IMPORTED = "imported", pgettext_lazy("validity reason", "历史证书导入")

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="periods")
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期至"))
    reason = models.CharField(_("原因"), max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("有效期记录")
        verbose_name_plural = _("有效期记录")
        ordering = ("certificate", "valid_from")

    def __str__(self) -> str:
        return f"{self.valid_from} – {self.valid_until}"


class CertificatePdf(models.Model):
    """Every PDF ever issued for a certificate (upload-to-verify matches any version)."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="pdfs")
    version = models.PositiveIntegerField(_("版本"))
    file = models.FileField(_("文件"), upload_to=pdf_path, max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    ecert_identifier = models.CharField(_("电子证照标识"), max_length=120)
    status = models.CharField(_("生成时状态"), max_length=2, choices=CertificateStatus.choices)
    valid_until = models.DateField(_("生成时有效期至"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("电子证照版本")
        verbose_name_plural = _("电子证照版本")
        ordering = ("certificate", "-version")
        constraints = [
            models.UniqueConstraint(
                fields=("certificate", "version"), name="certificate_pdf_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate} v{self.version:03d}"


class CertificateRequest(models.Model):
    """新增申请: an applicant who passed asks for the certificate; the authority decides."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("已提交")
        APPROVED = "approved", _("已签发")
        REJECTED = "rejected", _("不予签发")

    application = models.OneToOneField(
        ExamApplication,
        verbose_name=_("考试报名"),
        on_delete=models.PROTECT,
        related_name="certificate_request",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    reason = models.TextField(_("不予签发原因"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("证书申请")
        verbose_name_plural = _("证书申请")
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["submitted", "approved", "rejected"]),
                name="certificate_request_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}"


class BatchIssue(models.Model):
    """批量签发 of a session's passed candidates, run by a task; progress for the admin page."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("签发中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    session = models.ForeignKey(ExamSession, verbose_name=_("考试计划"), on_delete=models.PROTECT)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total = models.PositiveIntegerField(_("总数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    results = models.JSONField(_("结果"), default=list, blank=True)
    error = models.TextField(_("失败原因"), blank=True)
    created_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # The run that holds the batch, until when: a copy of its message (redelivered, or sent
    # again by the sweep) runs it only once the holder's lease has lapsed, which the holder
    # renews after each group. So one run at a time writes the progress and the report.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("批量签发")
        verbose_name_plural = _("批量签发")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.session} @ {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class ReminderSent(models.Model):
    """Expiry reminders are sent once per certificate, period end and lead time."""

    certificate = models.ForeignKey(
        Certificate, verbose_name=_("证书"), on_delete=models.CASCADE, related_name="+"
    )
    valid_until = models.DateField(_("有效期至"))
    days_before = models.PositiveSmallIntegerField(_("提前天数"))
    sent_at = models.DateTimeField(_("发送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("到期提醒记录")
        verbose_name_plural = _("到期提醒记录")
        constraints = [
            models.UniqueConstraint(
                fields=("certificate", "valid_until", "days_before"), name="reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} −{self.days_before}d"


class IssuableSession(ExamSession):
    """Exam sessions seen from issuance: the admin page where 批量签发 starts."""

    class Meta:
        proxy = True
        verbose_name = _("批量签发（按考试计划）")
        verbose_name_plural = _("批量签发（按考试计划）")
