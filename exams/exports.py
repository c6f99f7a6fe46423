"""The exam application list as staff export it from the admin (Excel)."""

from __future__ import annotations

from dataclasses import replace

from django.utils.translation import gettext_lazy as _

from certportal.exports import Column, xlsx_export_action

from .selectors import is_training_staff, scores_visible_to


def _profile_field(name: str, *, display: bool = False):
    def value(application):
        profile = getattr(application.applicant, "profile", None)
        if profile is None:
            return ""
        return getattr(profile, f"get_{name}_display")() if display else getattr(profile, name)

    return value


def _institution(application, field: str) -> str:
    institution = getattr(application, field)
    return institution.name if institution else ""


_DETAILS = (
    Column(_("报名编号"), lambda a: a.pk, 9),
    Column(_("申报人"), _profile_field("name"), 12),
    Column(_("公民身份号码"), _profile_field("masked_id_number"), 21),
    Column(_("性别"), _profile_field("sex", display=True), 6),
    Column(_("手机号码"), _profile_field("mobile"), 13),
    Column(_("文化程度"), _profile_field("education", display=True), 14),
    Column(_("工作单位"), _profile_field("employer_name"), 30),
    Column(_("通讯地址"), _profile_field("address"), 36),
    Column(_("操作类别"), lambda a: f"{a.trade.code} {a.trade.name}", 30),
    Column(_("考核机构"), lambda a: _institution(a, "assessment_institution"), 28),
    Column(_("培训机构"), lambda a: _institution(a, "training_institution"), 28),
    Column(_("状态"), lambda a: a.get_status_display(), 10),
    Column(_("退回或不予受理原因"), lambda a: a.status_reason, 30),
    Column(_("考试计划"), lambda a: a.session.name if a.session_id else "", 24),
    Column(_("准考证号"), lambda a: a.ticket_number, 22),
)
_SCORES = (
    Column(_("理论成绩"), lambda a: a.theory_score, 9),
    Column(_("实操成绩"), lambda a: a.practical_score, 9),
    Column(_("缺考"), lambda a: a.absent, 6),
)
_TIMES = (
    Column(_("提交时间"), lambda a: a.submitted_at, 17),
    Column(_("审核通过时间"), lambda a: a.approved_at, 17),
)
APPLICATION_COLUMNS = (*_DETAILS, *_SCORES, *_TIMES)


def application_columns(request) -> tuple[Column, ...]:
    """The columns for whoever exports: a training institution reads a candidate's scores
    only once the session's scores are published (as on the application's page)."""
    if not is_training_staff(request.user):
        return APPLICATION_COLUMNS
    unpublished = str(_("未公布"))

    def published_only(column: Column) -> Column:
        def value(application):
            if scores_visible_to(request.user, application):
                return column.value(application)
            return unpublished

        return replace(column, value=value)

    return (*_DETAILS, *(published_only(c) for c in _SCORES), *_TIMES)


export_applications_xlsx = xlsx_export_action(
    description=_("导出所选报名（Excel）"),
    title=_("考试报名清单"),
    columns=application_columns,
    audit_action="exams.application.exported",
    related=(
        "applicant__profile",
        "trade",
        "assessment_institution",
        "training_institution",
        "session",
    ),
)
