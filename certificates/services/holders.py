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

from applicants.models import Profile
from certportal.audit import audit_record

from ..models import Certificate


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
