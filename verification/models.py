"""The record of public lookups, kept for the issuing authority."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certificates.models import Certificate


class LookupKind(models.TextChoices):
    FORM = "form", _("姓名和身份证号查验")
    CERT_NO = "cert_no", _("证书编号查验")
    QR = "qr", _("扫码查验")
    API = "api", _("接口查验")
    UPLOAD = "upload", _("上传文件查验")


class LookupOutcome(models.TextChoices):
    FOUND = "found", _("查到证书")
    NOT_FOUND = "not_found", _("未查到")
    RATE_LIMITED = "rate_limited", _("查询过于频繁")
    INVALID = "invalid", _("输入无效")


class LookupRecord(models.Model):
    """One public lookup: when, from which address, how, and what it found.

    Never the ID number itself: ``id_hash`` is its blind index (the keyed HMAC the certificates
    are indexed by), so staff can ask "was this person looked up?" and nobody can read the
    number back. The name typed is not kept either. A lookup that found several certificates
    of one person links them all, so each issuing authority sees it.
    """

    created_at = models.DateTimeField(_("查验时间"), default=timezone.now, db_index=True)
    client_address = models.GenericIPAddressField(_("来访地址"), null=True, blank=True)
    kind = models.CharField(_("查验方式"), max_length=10, choices=LookupKind.choices)
    outcome = models.CharField(_("结果"), max_length=12, choices=LookupOutcome.choices)
    certificates = models.ManyToManyField(
        Certificate, verbose_name=_("查到的证书"), blank=True, related_name="lookups"
    )
    id_hash = models.CharField(
        _("身份证号摘要"),
        max_length=64,
        blank=True,
        db_index=True,
        help_text=_("身份证号的带密钥哈希（与证书的盲索引相同），不可还原为号码"),
    )

    class Meta:
        verbose_name = _("查验记录")
        verbose_name_plural = _("查验记录")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("client_address", "created_at"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=LookupKind.values), name="lookup_record_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=LookupOutcome.values), name="lookup_record_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        when = timezone.localtime(self.created_at)
        return f"{when:%Y-%m-%d %H:%M:%S} {self.get_kind_display()} {self.get_outcome_display()}"
