"""The applicant's applications on their dashboard (/me/), and what they call for."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.selectors import DashboardItem, DashboardSection, DashboardTask

from .models import ExamApplication

S = ExamApplication.Status
SHOWN = 5


def applications_section(user) -> DashboardSection:
    applications = list(
        ExamApplication.objects.filter(applicant=user)
        .exclude(status=S.WITHDRAWN)
        .select_related("trade", "session")
        .order_by("-created_at", "-pk")
    )
    now = timezone.now()
    tasks = []
    for a in applications:
        url = f"/me/applications/{a.pk}/"
        trade = a.trade.name
        if a.status == S.RETURNED:
            tasks.append(
                DashboardTask(
                    _("“%(trade)s”报名被退回补正：修改后重新提交") % {"trade": trade}, url, 10
                )
            )
        elif a.status == S.DRAFT:
            tasks.append(
                DashboardTask(_("“%(trade)s”报名尚未提交：核对后提交") % {"trade": trade}, url, 30)
            )
        elif a.status == S.SCHEDULED and a.ticket_pdf and a.session.practical_at > now:
            tasks.append(
                DashboardTask(_("下载“%(trade)s”准考证，按时参加考核") % {"trade": trade}, url, 20)
            )
    items = [
        DashboardItem(a.trade.name, a.get_status_display(), f"/me/applications/{a.pk}/")
        for a in applications[:SHOWN]
    ]
    return DashboardSection(
        title=_("我的报名"),
        items=items,
        tasks=tasks,
        more_url="/me/applications/" if len(applications) > SHOWN else "",
        order=10,
    )
