"""The holder's certificates on their dashboard (/me/), and what they call for."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.selectors import DashboardItem, DashboardSection, DashboardTask
from exams.eligibility import format_date

from .selectors import awaiting_certificate, certificates_of, renewal_offered


def certificates_section(user) -> DashboardSection:
    today = timezone.localdate()
    certificates = list(certificates_of(user).order_by("-valid_until", "-pk"))
    tasks = []
    for application, request in awaiting_certificate(user):
        if request is None:
            tasks.append(
                DashboardTask(
                    _("“%(trade)s”考核合格：申请领取证书") % {"trade": application.trade.name},
                    "/me/certificates/",
                    15,
                )
            )
    items = []
    for c in certificates:
        state = c.effective_status_label
        if c.is_valid:
            state = _("%(status)s，有效期至 %(date)s") % {
                "status": state,
                "date": format_date(c.valid_until),
            }
            if renewal_offered(c, today):
                tasks.append(
                    DashboardTask(
                        _("“%(trade)s”证书已进入延续受理期：申请延续") % {"trade": c.trade.name},
                        f"/me/certificates/{c.pk}/renewal/",
                        25,
                    )
                )
        items.append(
            DashboardItem(
                f"{c.trade.name} {c.number}", state, f"/me/certificates/#certificate-{c.pk}"
            )
        )
    return DashboardSection(title=_("我的证书"), items=items, tasks=tasks, order=20)
