"""Which account holds an imported certificate.

A certificate the portal issues belongs to the account that applied. One imported from an
earlier system (``legacy.import_certificates``) carries only its holder's name and ID number,
and a profile's name and ID number are typed by its user: nothing proves them. An imported
certificate is therefore linked to an account only when *both* match, never by the ID number
alone, which whoever typed it first would otherwise have been given, with the PDF, the
continuing education and the violation records. It is linked at import when the profile
already exists, and when a profile is saved later. Once linked, the profile's ID number is
locked like one used for an exam application: correcting it is a matter for the authority,
and a certificate never moves from one account to another by a profile edit.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from applicants.idcard import parse_id_number
from applicants.models import Profile
from applicants.selectors import applicants_visible_to
from applicants.validators import normalise_person_name, validate_person_name
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.notifications import notify
from certportal.pii import blind_index
from certportal.queue import enqueue_on_commit
from exams.models import ExamApplication
from exams.selectors import authorities_in_scope
from exams.tasks import render_admission_ticket

from ..models import Certificate
from .issuance import require_authority_staff


def holder_for(*, name: str, id_index: str) -> int | None:
    """The account whose profile has this (normalised) name and ID number's blind index."""
    return (
        Profile.objects.filter(id_number_index=id_index, name=name)
        .values_list("user_id", flat=True)
        .first()
    )


def link_imported_certificates(profile: Profile) -> int:
    """Link the unlinked imported certificates issued under ``profile``'s name and ID number
    to its account (a hook of ``applicants.services.profile_save``, inside its transaction).
    Returns how many were linked."""
    found = list(
        Certificate.objects.select_for_update()
        .filter(
            is_legacy=True,
            holder__isnull=True,
            holder_id_index=profile.id_number_index,
            holder_name=profile.name,
        )
        .order_by("pk")
    )
    if not found:
        return 0
    Certificate.objects.filter(pk__in=[c.pk for c in found]).update(holder_id=profile.user_id)
    if not profile.id_number_locked:
        Profile.objects.filter(pk=profile.pk).update(id_number_locked=True)
        profile.id_number_locked = True
    for certificate in found:
        audit_record(
            actor=profile.user,
            action="certificates.certificate.holder_linked",
            obj=certificate,
            data={"by": "profile"},
        )
    return len(found)


# Correction by the authority ---------------------------------------------------------------

# Applications that are over keep the name they were decided under.
_DECIDED = (
    ExamApplication.Status.FAILED,
    ExamApplication.Status.REJECTED,
    ExamApplication.Status.WITHDRAWN,
)


def may_correct_profile(actor, profile: Profile) -> bool:
    """Whether ``actor`` may correct this person's name and ID number: a superuser, or staff
    of an issuing authority whose scope holds the person (an application or certificate
    there). Institution staff see applicants but never correct them."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.is_superuser:
        return True
    return (
        actor.is_staff
        and authorities_in_scope(actor).exists()
        and applicants_visible_to(actor).filter(pk=profile.user_id).exists()
    )


def profile_correct(*, profile: Profile, actor, name: str, id_number: str, reason: str) -> Profile:
    """Authority staff correct a person's name and ID number, with the reason.

    The applicant cannot change a locked ID number (or a name under review) and is told to
    bring their ID card to the authority; this is what the authority does then. Birth date
    and sex follow the number. With the profile, in one transaction:

    - the name kept by each application still in progress (``submitted_name``), so that the
      ticket and the certificate to come carry the corrected one;
    - every certificate the account holds: holder name, ID number, birth date and sex, a new
      content version, its PDF rendered again after commit. Each must be of an authority in
      the actor's scope, or nothing is corrected;
    - an audit event for the profile (the fields' names and the reason, never their values)
      and one per certificate; a notice to the person.

    Refused, changing nothing, with a message per field: an invalid name or number, no
    reason, nothing to correct, a number another account has registered or under which
    another account's (or an unlinked imported) certificate stands.
    """
    from ..tasks import render_certificate

    errors: dict[str, list[str]] = {}
    name = normalise_person_name(name or "")
    try:
        validate_person_name(name)
    except ValidationError as exc:
        errors["name"] = exc.messages
    try:
        parsed = parse_id_number(id_number or "")
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("请填写更正原因，例如所依据的身份证件。")]
    if errors:
        raise ValidationError(errors)
    if not may_correct_profile(actor, profile):
        raise DomainError(_("您无权更正该人员的实名信息。"), code="forbidden")

    with transaction.atomic():
        row = Profile.objects.select_for_update().select_related("user").get(pk=profile.pk)
        changed = [
            field
            for field, value in (("name", name), ("id_number", parsed.number))
            if getattr(row, field) != value
        ]
        if not changed:
            raise DomainError(
                _("填写的姓名和身份证号码与现有信息相同，没有需要更正的内容。"), code="unchanged"
            )
        new_index = blind_index(parsed.number)
        if "id_number" in changed:
            if Profile.objects.filter(id_number_index=new_index).exclude(pk=row.pk).exists():
                raise ValidationError(
                    {"id_number": [_("该身份证号码已由另一账号登记实名信息，不能更正为该号码。")]}
                )
            others = Certificate.objects.filter(holder_id_index=new_index).exclude(
                holder_id=row.user_id
            )
            if others.exists():
                raise ValidationError(
                    {
                        "id_number": [
                            _(
                                "该身份证号码下已有不属于本账号的证书，不能更正为该号码；"
                                "请先核实该证书的持证人。"
                            )
                        ]
                    }
                )
        certificates = list(
            Certificate.objects.select_for_update()
            .filter(holder_id=row.user_id)
            .select_related("authority")
            .order_by("pk")
        )
        for certificate in certificates:
            try:
                require_authority_staff(actor, certificate.authority)
            except DomainError:
                raise DomainError(
                    _(
                        "该人员持有%(authority)s颁发的证书 %(number)s，不在您的管辖范围内；"
                        "须由该发证机关更正。"
                    )
                    % {"authority": certificate.authority, "number": certificate.number},
                    code="forbidden",
                ) from None

        row.name = name
        row.id_number = parsed.number
        row.birth_date = parsed.birth_date
        row.sex = parsed.sex
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # registered by another account a moment ago
            raise ValidationError(
                {"id_number": [_("该身份证号码已由另一账号登记实名信息，不能更正为该号码。")]}
            ) from None

        in_progress = ExamApplication.objects.filter(
            applicant_id=row.user_id, certificate__isnull=True
        ).exclude(status__in=_DECIDED)
        in_progress.exclude(submitted_name="").update(submitted_name=name)
        tickets = list(
            in_progress.filter(status=ExamApplication.Status.SCHEDULED)
            .exclude(ticket_pdf="")
            .values_list("pk", flat=True)
        )
        for pk in tickets:
            enqueue_on_commit(render_admission_ticket, pk, True)

        for certificate in certificates:
            certificate.holder_name = name
            certificate.holder_id_number = parsed.number
            certificate.holder_birth_date = parsed.birth_date
            certificate.holder_sex = parsed.sex
            certificate.content_version = F("content_version") + 1
            certificate.save(
                update_fields=[
                    "holder_name",
                    "holder_id_number",
                    "holder_id_index",
                    "holder_birth_date",
                    "holder_sex",
                    "content_version",
                    "updated_at",
                ]
            )
            audit_record(
                actor=actor,
                action="certificates.certificate.holder_corrected",
                obj=certificate,
                reason=reason,
                data={"fields": changed},
            )
            enqueue_on_commit(render_certificate, certificate.pk)

        audit_record(
            actor=actor,
            action="applicants.profile.corrected",
            obj=row,
            reason=reason,
            data={"fields": changed, "certificates": [c.number for c in certificates]},
        )
        labels = {"name": _("姓名"), "id_number": _("身份证号码")}
        notify(
            user=row.user,
            title=_("实名信息已由发证机关更正"),
            body=_("更正的内容：%(fields)s。原因：%(reason)s")
            % {"fields": "、".join(str(labels[f]) for f in changed), "reason": reason},
            url="/me/profile/",
        )
    row.refresh_from_db()
    return row
