"""The admission ticket PDF of a scheduled application."""

from __future__ import annotations

import logging
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from applicants.models import Material, Profile
from certportal.audit import audit_event, audit_record_many
from certportal.pdf import MissingGlyphError
from certportal.pii import mask_id_number
from certportal.queue import enqueue_on_commit

from ..models import ExamApplication
from ..selectors import applications_visible_to
from ..tickets import TicketData, ValueTooLong
from ..tickets import render_admission_ticket as render_admission_ticket_pdf

logger = logging.getLogger(__name__)


def ticket_data(application: ExamApplication) -> TicketData:
    """The ticket shows the photo the application was reviewed with (the profile's for an
    application submitted before a copy was kept)."""
    profile = Profile.objects.get(user_id=application.applicant_id)
    stored = application.submitted_photo
    if not stored:
        material = Material.objects.filter(owner_id=application.applicant_id, kind="photo").first()
        stored = material.file if material else None
    photo = None
    if stored:
        with stored.open("rb") as handle:
            photo = handle.read()
    session = application.session
    return TicketData(
        ticket_number=application.ticket_number,
        # The name the application was reviewed under, as the certificate prints it: the
        # profile may be edited while another application of the person is returned.
        name=application.submitted_name or profile.name,
        masked_id_number=mask_id_number(profile.id_number),
        sex="男" if profile.sex == "M" else "女",  # the ticket is an official Chinese form
        trade_name=application.trade.name,
        assessment_institution=application.assessment_institution.name,
        authority_name=application.authority.name,
        theory_at=session.theory_at,
        practical_at=session.practical_at,
        venue=session.venue,
        photo=photo,
        verify_text=application.ticket_number,
    )


def tickets_render_again(*, applications, actor) -> int:
    """Staff send again the tickets of scheduled applications that have none (one whose
    render failed, once its data is corrected): the failure is cleared, each render queued
    and audited. Only applications the actor may see are touched. Returns how many were
    sent."""
    from ..tasks import render_admission_ticket

    chosen = list(
        applications_visible_to(actor).filter(
            pk__in=[a.pk for a in applications],
            status=ExamApplication.Status.SCHEDULED,
            ticket_number__isnull=False,
            ticket_pdf="",
        )
    )
    with transaction.atomic():
        ExamApplication.objects.filter(pk__in=[a.pk for a in chosen]).update(ticket_error="")
        audit_record_many(
            audit_event(
                actor=actor,
                action="exams.ticket.render_again",
                obj=a,
                reason=a.ticket_error,
            )
            for a in chosen
        )
        for a in chosen:
            enqueue_on_commit(render_admission_ticket, a.pk)
    return len(chosen)


def _load(application_pk: int) -> ExamApplication | None:
    return (
        ExamApplication.objects.select_related(
            "trade", "authority", "assessment_institution", "session"
        )
        .filter(pk=application_pk, ticket_number__isnull=False, session__isnull=False)
        .first()
    )


def ticket_render(*, application_pk: int, force: bool = False) -> ExamApplication | None:
    """Render and store the ticket PDF. Idempotent: an existing ticket is kept unless
    ``force``; the new file is written under a fresh name and swapped in one update, so a
    failure leaves the previous file in place. At the swap, under the row's lock, what was
    drawn is compared with what the ticket must show now (a session moved, a name corrected
    meanwhile): a stale drawing is thrown away and drawn again, so the last write is never an
    older state's."""
    for _attempt in range(3):
        application = _load(application_pk)
        if application is None:
            logger.info("no ticket to render for application %s", application_pk)
            return None
        if application.ticket_pdf and not force:
            return application
        try:
            drawn = ticket_data(application)
            pdf = render_admission_ticket_pdf(drawn)
        except (MissingGlyphError, ValueTooLong) as exc:
            # The data cannot be drawn: trying again changes nothing. Recorded for staff and
            # the applicant's page (unless a ticket was stored meanwhile); the sweep skips it.
            logger.error(
                "admission ticket of application %s cannot be rendered: %s", application_pk, exc
            )
            ExamApplication.objects.filter(
                pk=application.pk, ticket_number=application.ticket_number, ticket_pdf=""
            ).update(ticket_error=exc.explain())
            return None
        name = default_storage.save(f"tickets/{uuid.uuid4().hex}.pdf", ContentFile(pdf))
        try:
            with transaction.atomic():
                row = ExamApplication.objects.select_for_update().get(pk=application.pk)
                if row.ticket_number != application.ticket_number or (row.ticket_pdf and not force):
                    default_storage.delete(name)
                    return row
                current = _load(application.pk)
                if current is None or ticket_data(current) != drawn:
                    default_storage.delete(name)
                    continue  # changed while drawing: draw again from what stands now
                old = row.ticket_pdf.name
                row.ticket_pdf.name = name
                row.ticket_error = ""
                row.save(update_fields=["ticket_pdf", "ticket_error", "updated_at"])
                if old:
                    transaction.on_commit(lambda old=old: default_storage.delete(old))
        except BaseException:
            default_storage.delete(name)
            raise
        return row
    logger.warning("admission ticket of application %s kept changing; left", application_pk)
    return None
