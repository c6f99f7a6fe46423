"""The audit log in words staff read: "报名：退回补正", not ``exams.application.returned``.

An action is ``app.subject.verb``. The verb is named by the record's own status choices when it
is one of them (a transition's event is named by its target state: ``returned`` → 退回补正),
else by ``VERBS`` (a certificate's status changes too: ``suspended`` → 暂扣); the subject by
the record's model, else by ``SUBJECTS``. A code neither knows is shown as it is.
"""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

# Subjects whose events are not attached to a record of that model, or whose code is short.
SUBJECTS = {
    # An export's event names no record (it covers a filtered list).
    "application": _("考试报名"),
    "certificate": _("证书"),
    "id_number_login": _("身份证号码注册"),
    "profile": _("实名信息"),
    "batch": _("批量签发"),
    "ce": _("继续教育记录"),
    "conduct": _("违章与事故记录"),
    "ticket": _("准考证"),
    "worker": _("后台任务"),
    "user": _("账号"),
}

VERBS = {
    "accident": _("录入事故责任记录"),
    # A certificate's status changes, named by the status (its values are national codes).
    "valid": _("恢复有效"),
    "suspended": _("暂扣"),
    "revoked": _("吊销"),
    "withdrawn": _("撤销"),
    "cancelled": _("注销"),
    "expired": _("过期"),
    "created": _("创建"),
    "corrected": _("更正实名信息"),
    "correction_refused": _("更正实名信息被拒绝"),
    "deleted": _("删除"),
    "ecert_requested": _("申请电子证照"),
    "exported": _("导出"),
    "failed": _("失败"),
    "finished": _("完成"),
    "holder_corrected": _("更正持证人信息"),
    "holder_linked": _("关联持证人账号"),
    "id_conflict": _("身份证号码冲突"),
    "imported": _("导入"),
    "issued": _("签发"),
    "lapsed": _("逾期未补正，视为撤回"),
    "medical_attached": _("补充体检证明"),
    "ping": _("连通检查"),
    "recorded": _("录入"),
    "registered": _("注册"),
    "render_again": _("重新生成"),
    "replaced": _("更换"),
    "released": _("释放被占用的号码"),
    "rescheduled": _("调整考试时间或地点"),
    "returned": _("退回"),
    "scored": _("录入成绩"),
    "scores_imported": _("导入成绩"),
    "scores_published": _("发布成绩"),
    "started": _("开始"),
    "submitted": _("提交"),
    "updated": _("修改"),
    "uploaded": _("上传"),
    "validity_capped": _("有效期截至年龄上限"),
    "violation": _("录入违章操作记录"),
    "voided": _("作废"),
}


def _status_field(model: type[models.Model] | None):
    if model is None:
        return None
    try:
        field = model._meta.get_field("status")
    except FieldDoesNotExist:
        return None
    return field if field.choices else None


def state_label(content_type: ContentType | None, value: str) -> str:
    """A stored state ("returned", "02") as its label on that record ("退回补正", "暂扣")."""
    if not value:
        return ""
    field = _status_field(content_type.model_class() if content_type else None)
    if field is None:
        return value
    return str(dict(field.flatchoices).get(value, value))


def _verb_label(model, verb: str) -> str:
    field = _status_field(model)
    if field is not None:
        choices = dict(field.flatchoices)
        if verb in choices:
            return str(choices[verb])
    label = VERBS.get(verb)
    return str(label) if label is not None else verb


def action_label(action: str, content_type: ContentType | None) -> str:
    """``certificates.certificate.suspended`` → "证书：暂扣"."""
    parts = action.split(".")
    if len(parts) != 3:
        return action
    _app, subject, verb = parts
    model = content_type.model_class() if content_type else None
    if model is not None and subject in model._meta.model_name:
        name = model._meta.verbose_name
    else:
        name = SUBJECTS.get(subject, subject)
    return f"{name}：{_verb_label(model, verb)}"
