"""Reads of the renewals app for other apps' pages."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from exams.eligibility import format_date

from .models import RenewalApplication


def returned_renewal_notes(certificates) -> dict[int, str]:
    """For the holder's list of certificates: a renewal returned for correction is with the
    holder, not under review, and has a deadline (registered in ``RenewalsConfig.ready``)."""
    today = timezone.localdate()
    returned = RenewalApplication.objects.filter(
        certificate__in=[c.pk for c in certificates],
        status=RenewalApplication.Status.RETURNED,
    ).values_list("certificate_id", "correct_by")
    notes = {}
    for pk, correct_by in returned:
        if correct_by is None:
            notes[pk] = _("延续申请已退回补正")
        elif correct_by < today:
            notes[pk] = _("延续申请补正期限%(date)s已过，视为撤回") % {
                "date": format_date(correct_by)
            }
        else:
            notes[pk] = _("延续申请已退回补正，请于%(date)s前（含当日）补正并重新提交") % {
                "date": format_date(correct_by)
            }
    return notes


def returned_renewals_section(user):
    """Dashboard tasks: a renewal returned to the holder for correction, before its deadline."""
    from applicants.selectors import DashboardSection, DashboardTask

    today = timezone.localdate()
    tasks = [
        DashboardTask(
            _("延续申请被退回补正：请于%(date)s前（含当日）补正并重新提交")
            % {"date": format_date(r.correct_by)},
            f"/me/certificates/{r.certificate_id}/renewal/",
            5,
        )
        for r in RenewalApplication.objects.filter(
            applicant=user,
            status=RenewalApplication.Status.RETURNED,
            correct_by__gte=today,
        )
    ]
    return DashboardSection(title=_("延续"), items=[], tasks=tasks, order=30)
