"""Reads of certificates, each scoped to who may see them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.http import Http404

from applicants.models import Profile
from exams.eligibility import upper_age_limit
from exams.models import ExamApplication
from exams.selectors import authority_ids_in_scope, policy_for

from .models import Certificate, CertificateRequest, held_q


def awaits_same_trade_certificate(application: ExamApplication) -> bool:
    """Another passed application of the same applicant for the trade whose certificate is
    neither issued nor refused (不予签发): the certificate is on its way."""
    return (
        ExamApplication.objects.filter(
            applicant_id=application.applicant_id,
            trade_id=application.trade_id,
            status=ExamApplication.Status.PASSED,
            certificate__isnull=True,
        )
        .exclude(pk=application.pk)
        .exclude(certificate_request__status=CertificateRequest.Status.REJECTED)
        .exists()
    )


def holds_same_trade_certificate(applicant, trade) -> bool:
    """A valid or suspended certificate of ``trade`` from any authority, matched by ID number
    (so an imported or another province's certificate counts too), still within its validity
    (or kept so by a pending renewal): one whose date has passed is expired, even before the
    nightly sweep stores it, and no longer stands in the way of a new exam."""
    index = Profile.objects.filter(user=applicant).values_list("id_number_index", flat=True).first()
    if not index:
        return False
    return Certificate.objects.filter(held_q(), holder_id_index=index, trade_id=trade.pk).exists()


# What a holder's pages read of each certificate, the authority's policy included (renewal
# window, age limit): one query for the list, not three more per certificate.
HOLDER_PAGE_RELATED = (
    "trade",
    "authority",
    "authority__policy",
    "authority__parent",
    "authority__parent__policy",
)


def certificates_of(user):
    """The holder's certificates: those whose holder is the account.

    Never by ID number alone: a profile's ID number is typed by its user, so matching on it
    would hand an imported certificate (and its PDF, continuing education and violations) to
    whoever typed the number first. Imported certificates are linked to an account by
    ``certificates.services.holders`` when name and ID number both match."""
    return Certificate.objects.select_related(*HOLDER_PAGE_RELATED).filter(holder=user)


def get_certificate_for_holder(user, pk: int) -> Certificate:
    if not getattr(user, "is_authenticated", False):
        raise Http404
    certificate = certificates_of(user).filter(pk=pk).first()
    if certificate is None:
        raise Http404
    return certificate


def certificates_visible_to(user):
    qs = Certificate.objects.select_related("trade", "authority")
    if not getattr(user, "is_authenticated", False) or not user.is_staff:
        return qs.none()
    if user.is_superuser:
        return qs
    return qs.filter(authority__in=authority_ids_in_scope(user))


# What another app has to say of a holder's certificates on their list, beside the status
# (renewals: a renewal returned for correction, and its deadline). A provider takes the
# certificates and returns {certificate pk: text}; registered from the app's AppConfig.ready.
CertificateNotes = Callable[[list[Certificate]], dict[int, str]]
_note_providers: list[CertificateNotes] = []


def register_certificate_notes(provider: CertificateNotes) -> None:
    if provider not in _note_providers:
        _note_providers.append(provider)


def certificate_notes(certificates: list[Certificate]) -> dict[int, str]:
    notes: dict[int, list[str]] = {}
    for provider in _note_providers:
        for pk, text in provider(certificates).items():
            notes.setdefault(pk, []).append(text)
    return {pk: "；".join(texts) for pk, texts in notes.items()}


def holder_age_limit(certificate: Certificate) -> date:
    """The first day the holder is past the age limit of the certificate's authority: no
    validity reaches it (issuance and renewal end the day before)."""
    return upper_age_limit(
        certificate.holder_birth_date,
        certificate.holder_sex,
        female_max_age=policy_for(certificate.authority).female_max_age,
    )


def renewal_window(certificate: Certificate) -> tuple[date, date]:
    """The renewal window: from the authority's ``renewal_window_days`` before expiry to the
    expiry day (renewals judges applications by it; the holder's pages offer renewal in it)."""
    days = policy_for(certificate.authority).renewal_window_days
    return certificate.valid_until - timedelta(days=days), certificate.valid_until


# What another app knows that refuses any renewal of a certificate whatever the holder does
# (renewals: an accident-responsibility record of the validity period). A check takes the
# certificate and says whether it bars renewal; registered from the app's AppConfig.ready.
RenewalBar = Callable[[Certificate], bool]
_renewal_bars: list[RenewalBar] = []


def register_renewal_bar(check: RenewalBar) -> None:
    if check not in _renewal_bars:
        _renewal_bars.append(check)


def renewal_offered(certificate: Certificate, today: date) -> bool:
    """The holder's pages invite to renew: valid, no renewal pending, the window open, a
    renewal would add time (not already at the age limit), and nothing bars it."""
    return (
        certificate.is_valid
        and not certificate.renewal_pending
        and renewal_window(certificate)[0] <= today
        and not runs_to_age_limit(certificate)
        and not any(bars(certificate) for bars in _renewal_bars)
    )


def awaiting_certificate(user) -> list[tuple[ExamApplication, CertificateRequest | None]]:
    """The person's passed applications whose certificate is not issued, each with its
    certificate request (None before they apply)."""
    requests = {
        r.application_id: r for r in CertificateRequest.objects.filter(application__applicant=user)
    }
    issued_for = set(
        Certificate.objects.filter(holder=user).values_list("application_id", flat=True)
    )
    return [
        (a, requests.get(a.pk))
        for a in ExamApplication.objects.filter(
            applicant=user, status=ExamApplication.Status.PASSED
        ).select_related("trade")
        if a.pk not in issued_for
    ]


def runs_to_age_limit(certificate: Certificate) -> bool:
    """Its validity already ends the day before the holder's age limit: a renewal could add
    no time, so none is offered or accepted."""
    return certificate.valid_until + timedelta(days=1) >= holder_age_limit(certificate)
