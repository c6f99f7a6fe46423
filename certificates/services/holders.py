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

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from applicants.idcard import ID_NUMBER_SHAPE, parse_id_number
from applicants.models import Profile, id_number_holder
from applicants.selectors import applicants_visible_to
from applicants.services import lock_id_number
from applicants.validators import normalise_person_name, validate_person_name
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.notifications import notify, official_language
from certportal.pii import blind_index
from certportal.queue import enqueue_on_commit
from exams.eligibility import format_date
from exams.models import OPEN_APPLICATION_STATES, ExamApplication
from exams.selectors import authorities_in_scope
from exams.tasks import render_admission_ticket

from ..models import Certificate, ValidityPeriod
from ..selectors import holder_age_limit


def holder_for(*, name: str, id_index: str) -> int | None:
    """The account whose profile has this (normalised) name and ID number's blind index."""
    return (
        Profile.objects.filter(id_number_index=id_index, name=name)
        .values_list("user_id", flat=True)
        .first()
    )


def link_imported_certificates(profile: Profile, *, actor=None, by: str = "profile") -> int:
    """Link the unlinked imported certificates issued under ``profile``'s name and ID number
    to its account (a hook of ``applicants.services.profile_save``, inside its transaction;
    ``profile_correct`` calls it with the staff member as ``actor``). Returns how many were
    linked."""
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
            actor=actor or profile.user,
            action="certificates.certificate.holder_linked",
            obj=certificate,
            data={"by": by},
        )
    return len(found)


# Correction by the authority ---------------------------------------------------------------

# Applications in progress: the open ones but drafts (the applicant's own, no name kept yet),
# and passed ones whose certificate is still to come. Those decided keep the name they were
# decided under.
_IN_PROGRESS = (
    *(state for state in OPEN_APPLICATION_STATES if state != ExamApplication.Status.DRAFT),
    ExamApplication.Status.PASSED,
)


def _taken_message() -> str:
    # One message for both causes: the page is not a way to learn which.
    return _("该身份证号码下已有其他账号的实名信息或证书，不能更正为该号码；请核实。")


def may_correct_profile(actor, profile: Profile) -> bool:
    """Whether ``actor`` may open the correction of this person's name and ID number: a
    superuser, or staff of an issuing authority whose scope holds the person (an application
    there, or a certificate it issued). Institution staff see applicants but never correct
    them. ``profile_correct`` further requires every application in progress and every
    certificate of the person to be in the actor's scope."""
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
    """Authority staff correct a person's name and ID number (``_profile_correct`` says how).
    A refused attempt is audited too (``applicants.profile.correction_refused``: the fields
    refused and the refusal's code, never the values typed): a number another account holds,
    tried on someone's profile, is worth knowing of."""
    try:
        return _profile_correct(
            profile=profile, actor=actor, name=name, id_number=id_number, reason=reason
        )
    except (ValidationError, DomainError) as exc:
        fields = sorted(exc.message_dict) if hasattr(exc, "error_dict") else []
        audit_record(
            actor=actor,
            action="applicants.profile.correction_refused",
            obj=profile,
            data={"fields": fields, "code": getattr(exc, "code", None) or ""},
        )
        raise


def _profile_correct(*, profile: Profile, actor, name: str, id_number: str, reason: str) -> Profile:
    """Authority staff correct a person's name and ID number, with the reason.

    The applicant cannot change a locked ID number (or a name under review) and is told to
    bring their ID card to the authority; this is what the authority does then. Birth date
    and sex follow the number, and the number is locked (the authority has checked it). With
    the profile, in one transaction:

    - the name kept by each application in progress (``submitted_name``), so that the ticket
      and the certificate to come carry the corrected one; the tickets of scheduled candidates
      are drawn again after commit;
    - every certificate the account holds: holder name, ID number, birth date and sex, a new
      content version, its PDF rendered again after commit; a validity that the corrected
      birth date or sex puts past the holder's age limit ends the day before it (its period
      too), audited with the old and new dates and told to the person;
    - imported certificates no account holds that stand under the corrected name and number
      are linked to the account (``link_imported_certificates``);
    - an audit event for the profile (the fields' names, the reason, never the values) and
      one per certificate; a notice to the person.

    Every application in progress and every certificate held must be of an authority in the
    actor's scope, or nothing is corrected. An imported certificate linked here may be of any
    authority, as the person's next profile save would link it anyway. Refused, changing
    nothing, with a message per field: an invalid name or number, no reason or one holding an
    ID number, nothing to correct, a number another account has registered or under which a
    certificate of someone else stands.

    Locks are taken in the order issuance and submission take them (the person's
    applications, then the profile, then the certificates), so a correction and an issuance
    of the same person wait for each other instead of deadlocking or copying stale data.
    """
    from ..tasks import render_certificate

    if not may_correct_profile(actor, profile):
        raise DomainError(_("您无权更正该人员的实名信息。"), code="forbidden")
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
    elif ID_NUMBER_SHAPE.search(reason):
        errors["reason"] = [_("更正原因中不要填写身份证号码：原因会记入日志并通知本人。")]
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        list(
            ExamApplication.objects.select_for_update()
            .filter(applicant_id=profile.user_id)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
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
        scope = authorities_in_scope(actor)
        in_progress = ExamApplication.objects.filter(
            applicant_id=row.user_id, certificate__isnull=True, status__in=_IN_PROGRESS
        )
        elsewhere = in_progress.exclude(authority__in=scope).select_related("authority").first()
        if elsewhere is not None:
            raise DomainError(
                _("该人员在%(authority)s有办理中的报名，不在您的管辖范围内；须由该发证机关更正。")
                % {"authority": elsewhere.authority},
                code="forbidden",
            )
        certificates = list(
            Certificate.objects.select_for_update()
            .filter(holder_id=row.user_id)
            .select_related("authority")
            .order_by("pk")
        )
        for certificate in certificates:
            if not scope.filter(pk=certificate.authority_id).exists():
                raise DomainError(
                    _("该人员持有%(authority)s颁发的证书，不在您的管辖范围内；须由该发证机关更正。")
                    % {"authority": certificate.authority},
                    code="forbidden",
                )
        new_index = blind_index(parsed.number)
        if "id_number" in changed:
            lock_id_number(new_index)  # as a registration or a profile save of it would
            holder = id_number_holder(new_index)  # a profile, or an account registered with it
            if holder is not None and holder != row.user_id:
                raise ValidationError({"id_number": [_taken_message()]})
            others = Certificate.objects.filter(holder_id_index=new_index).exclude(
                holder_id=row.user_id
            )
            # An imported certificate no account holds, under this very name and number, is the
            # person's own: it is linked below.
            theirs = others.filter(is_legacy=True, holder__isnull=True, holder_name=name)
            if others.exclude(pk__in=theirs.values("pk")).exists():
                raise ValidationError({"id_number": [_taken_message()]})

        row.name = name
        row.id_number = parsed.number
        row.birth_date = parsed.birth_date
        row.sex = parsed.sex
        row.id_number_locked = True
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # registered by another account a moment ago
            raise ValidationError({"id_number": [_taken_message()]}) from None

        in_progress.exclude(submitted_name="").update(submitted_name=name)
        tickets = in_progress.filter(status=ExamApplication.Status.SCHEDULED).exclude(ticket_pdf="")
        for pk in tickets.values_list("pk", flat=True):
            enqueue_on_commit(render_admission_ticket, pk, True)

        for certificate in certificates:
            certificate.holder_name = name
            certificate.holder_id_number = parsed.number
            certificate.holder_birth_date = parsed.birth_date
            certificate.holder_sex = parsed.sex
            capped = _cap_at_age_limit(certificate)
            # An imported certificate never given its e-certificate gets none from this.
            has_ecert = not certificate.awaits_ecert
            if has_ecert:
                certificate.content_version = F("content_version") + 1
            certificate.save(
                update_fields=[
                    "holder_name",
                    "holder_id_number",
                    "holder_id_index",
                    "holder_birth_date",
                    "holder_sex",
                    "valid_until",
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
            if capped is not None:
                _record_cap(certificate, capped, actor=actor, reason=reason)
            if has_ecert:
                enqueue_on_commit(render_certificate, certificate.pk)
        linked = link_imported_certificates(row, actor=actor, by="correction")

        audit_record(
            actor=actor,
            action="applicants.profile.corrected",
            obj=row,
            reason=reason,
            data={
                "fields": changed,
                "certificates": [c.number for c in certificates],
                "imported_linked": linked,
            },
        )
        with official_language():
            labels = {"name": _("姓名"), "id_number": _("身份证号码")}
            body = _("更正的内容：%(fields)s。原因：%(reason)s") % {
                "fields": "、".join(str(labels[f]) for f in changed),
                "reason": reason,
            }
            if "id_number" in changed and row.user.registered_by_id_number:
                # Its login is the number: the old one no longer opens the account.
                body += _("今后请用更正后的身份证号码登录。")
            title = _("实名信息已由发证机关更正")
        notify(user=row.user, title=title, body=body, url="/me/profile/")
    row.refresh_from_db()
    return row


def _cap_at_age_limit(certificate: Certificate):
    """Set ``valid_until`` to the day before the holder's age limit when the (corrected) birth
    date or sex puts it past that limit (no validity reaches it: SPEC 4.5); return the old
    date, or None when nothing changed. Never before the period's start."""
    limit = holder_age_limit(certificate)
    if certificate.valid_until < limit:
        return None
    old = certificate.valid_until
    certificate.valid_until = max(certificate.valid_from, limit - timedelta(days=1))
    return old if certificate.valid_until != old else None


def _record_cap(certificate: Certificate, old_until, *, actor, reason: str) -> None:
    ValidityPeriod.objects.filter(certificate=certificate, valid_until=old_until).update(
        valid_until=certificate.valid_until
    )
    audit_record(
        actor=actor,
        action="certificates.certificate.validity_capped",
        obj=certificate,
        reason=reason,
        data={"from": old_until.isoformat(), "to": certificate.valid_until.isoformat()},
    )
    with official_language():
        notify(
            user=certificate.holder,
            title=_("证书有效期已调整：%(number)s") % {"number": certificate.number},
            body=_(
                "按更正后的身份证号码（出生日期），证书有效期不能超过法定年龄上限，"
                "有效期至由 %(old)s 调整为 %(new)s。"
            )
            % {"old": format_date(old_until), "new": format_date(certificate.valid_until)},
            url="/me/certificates/",
        )
