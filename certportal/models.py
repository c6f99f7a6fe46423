"""Cross-cutting models: the audit trail."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One row per state change or sensitive action: who, what, from, to, why, when."""

    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=100, db_index=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("对象类型"), null=True, blank=True, on_delete=models.PROTECT
    )
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    from_state = models.CharField(_("原状态"), max_length=40, blank=True)
    to_state = models.CharField(_("新状态"), max_length=40, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    data = models.JSONField(_("附加数据"), default=dict, blank=True)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("content_type", "object_id")),
            # The limits that count recent events of one kind (refused ID numbers, registrations
            # per address) read a day of one action, not every event of the day or every one
            # of the action.
            models.Index(fields=("action", "created_at"), name="audit_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"


class Notice(models.Model):
    """A message to one user, shown in the portal (and mailed when they have an address)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("user", "-created_at"))]

    def __str__(self) -> str:
        return self.title


class ReferenceRow(models.Model):
    """A reference-data fixture row that ``load_reference`` has seen in the database: loaded
    once, it is never loaded again, so a row staff deleted on purpose (a city's own policy
    removed so that the province's applies) stays deleted."""

    model = models.CharField(_("模型"), max_length=100)
    key = models.CharField(_("主键"), max_length=64)
    loaded_at = models.DateTimeField(_("载入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("已载入的参考数据")
        verbose_name_plural = _("已载入的参考数据")
        constraints = [
            models.UniqueConstraint(fields=("model", "key"), name="reference_row_once"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.key}"
