"""Every URL that shows someone's record, tried by everyone it does not belong to."""

import pytest
from django.http import HttpRequest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(submitted_renewal):
    """One holder with a profile, materials, a passed application with a ticket, a certificate
    with its PDF, and a submitted renewal."""
    certificate = submitted_renewal.certificate
    application = certificate.application
    photo = certificate.holder.materials.get(kind="photo")
    return {
        "holder": certificate.holder,
        "owner_urls": [
            "/me/",
            "/me/profile/",
            "/me/materials/",
            "/me/materials/photo/file/",
            "/me/materials/photo/thumb/",
            "/me/applications/",
            f"/me/applications/{application.pk}/",
            f"/me/applications/{application.pk}/ticket.pdf",
            "/me/certificates/",
            f"/me/certificates/{certificate.pk}/certificate.pdf",
            f"/me/certificates/{certificate.pk}/renewal/",
            f"/me/certificates/{certificate.pk}/renewal/delivery/",
            f"/me/certificates/{certificate.pk}/renewal/confirm/",
            f"/me/certificates/{certificate.pk}/renewal/withdraw/",
        ],
        "record_urls": [
            f"/me/applications/{application.pk}/",
            f"/me/applications/{application.pk}/ticket.pdf",
            f"/me/certificates/{certificate.pk}/certificate.pdf",
            f"/me/certificates/{certificate.pk}/renewal/",
            f"/me/certificates/{certificate.pk}/renewal/delivery/",
            f"/me/certificates/{certificate.pk}/renewal/confirm/",
            f"/me/certificates/{certificate.pk}/renewal/withdraw/",
            f"/staff/materials/{photo.pk}/file/",
            f"/staff/materials/{photo.pk}/thumb/",
            f"/staff/applications/{application.pk}/materials/photo/file/",
            f"/staff/applications/{application.pk}/materials/id_scan/file/",
            f"/staff/applications/{application.pk}/materials/id_scan/thumb/",
            f"/staff/applications/{application.pk}/materials/education_proof/file/",
            f"/staff/certificates/{certificate.pk}/certificate.pdf",
        ],
        "admin_urls": [
            f"/admin/applicants/profile/{certificate.holder.profile.pk}/change/",
            f"/admin/applicants/profile/{certificate.holder.profile.pk}/correct/",
            f"/admin/exams/examapplication/{application.pk}/change/",
            f"/admin/exams/examsession/{application.session_id}/change/",
            f"/admin/certificates/certificate/{certificate.pk}/change/",
            f"/admin/renewals/renewalapplication/{submitted_renewal.pk}/change/",
        ],
        "post_urls": [
            f"/me/certificates/request/{application.pk}/",
            f"/me/certificates/{certificate.pk}/generate/",
        ],
        "secrets": [certificate.holder_id_number, certificate.number, certificate.holder_name],
    }


def login(client, user):
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)


def test_the_holder_reaches_every_own_url(client, world):
    login(client, world["holder"])
    for url in world["owner_urls"]:
        response = client.get(url)
        if url.endswith(("/delivery/", "/confirm/", "/withdraw/")):
            # The renewal is already submitted: its later steps lead back to its overview, and
            # withdraw/ takes only POSTs.
            assert response.status_code == 302 and response["Location"].endswith("/renewal/"), url
        else:
            assert response.status_code == 200, url


def test_anonymous_reaches_nothing(client, world):
    for url in world["owner_urls"] + world["record_urls"]:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), url
    for url in world["admin_urls"]:
        assert client.get(url).status_code == 302, url


@pytest.mark.parametrize(
    "intruder", ["other_applicant", "other_institution_staff", "other_authority_staff"]
)
def test_no_one_else_reaches_the_records(client, world, intruder, request):
    user = request.getfixturevalue(intruder)
    login(client, user)
    for url in world["record_urls"]:
        response = client.get(url)
        assert response.status_code == 404, (intruder, url, response.status_code)
        body = response.content.decode(errors="replace")
        assert not [s for s in world["secrets"] if s in body], (intruder, url)
    for url in world["admin_urls"]:
        response = client.get(url)
        assert response.status_code in (302, 403, 404), (intruder, url, response.status_code)
    for url in ("/me/", "/me/applications/", "/me/certificates/"):
        body = client.get(url).content.decode()
        assert not [s for s in world["secrets"] if s in body], (intruder, url)


@pytest.mark.parametrize("intruder", ["other_institution_staff", "other_authority_staff"])
def test_admin_lists_of_other_scopes_show_none_of_the_records(client, world, intruder, request):
    login(client, request.getfixturevalue(intruder))
    for changelist in (
        "/admin/applicants/profile/",
        "/admin/exams/examapplication/",
        "/admin/certificates/certificate/",
        "/admin/renewals/renewalapplication/",
        "/admin/renewals/continuingeducation/",
        "/admin/certportal/auditevent/",
    ):
        response = client.get(changelist)
        if response.status_code == 200:
            body = response.content.decode()
            assert not [s for s in world["secrets"] if s in body], (intruder, changelist)


# Every URL pattern of the portal (the admin aside, walked above through its pages) is either
# someone's record, walked by the tests above, or open to all on purpose.
PUBLIC_PATTERNS = {
    "",
    "healthz",
    "i18n/setlang/",
    "accounts/register/",
    "accounts/login/",
    "accounts/logout/",
    "accounts/password_change/",
    "accounts/password_change/done/",
    "accounts/password_reset/",
    "accounts/password_reset/done/",
    "accounts/reset/<uidb64>/<token>/",
    "accounts/reset/done/",
    "me/applications/new/",  # creates one's own draft; nothing of anyone else's
    "verify/",
    "verify/upload/",
    "v/<str:token>/",
    "v/<str:token>/preview.png",
    "v/<str:token>/preview.webp",
    "api/v1/verify",
}
POST_ONLY = {"me/certificates/request/<int:application_pk>/"}


def portal_patterns():
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if not str(pattern.pattern).startswith("admin/"):
                    yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return set(walk(get_resolver().url_patterns))


def test_every_url_of_the_portal_is_walked_or_public_on_purpose(world):
    """A new URL cannot slip past the walk: it is matched by a walked URL, or listed public."""
    from django.urls import resolve

    walked = {
        resolve(url).route
        for url in world["owner_urls"] + world["record_urls"] + world["post_urls"]
    }
    unwalked = portal_patterns() - walked - PUBLIC_PATTERNS
    assert unwalked == set(), f"add these to the access walk or to PUBLIC_PATTERNS: {unwalked}"


@pytest.mark.parametrize(
    "intruder", ["other_applicant", "other_institution_staff", "other_authority_staff"]
)
def test_no_one_else_can_post_to_the_records(client, world, intruder, request):
    from certificates.models import CertificateRequest
    from renewals.models import RenewalApplication

    login(client, request.getfixturevalue(intruder))
    before = (RenewalApplication.objects.get().status, CertificateRequest.objects.count())
    for url in world["record_urls"] + world["post_urls"]:
        response = client.post(url, {"signature_name": "张三", "confirm": "on"})
        assert response.status_code in (404, 405), (intruder, url, response.status_code)
    assert (RenewalApplication.objects.get().status, CertificateRequest.objects.count()) == before


@pytest.mark.parametrize(
    "intruder", [None, "other_applicant", "other_institution_staff", "other_authority_staff"]
)
def test_no_one_else_can_withdraw_a_returned_renewal(
    client, world, authority_staff, intruder, request
):
    """The walk's renewal is submitted, which no one may withdraw; returned, its holder may,
    so only the certificate's resolution keeps everyone else out."""
    from certificates.models import Certificate
    from renewals import services
    from renewals.models import RenewalApplication

    renewal = services.renewal_return(
        renewal=RenewalApplication.objects.get(), actor=authority_staff, reason="照片不清晰"
    )
    if intruder is not None:
        login(client, request.getfixturevalue(intruder))
    url = f"/me/certificates/{renewal.certificate_id}/renewal/withdraw/"
    response = client.post(url, {"confirm": "on"})
    assert response.status_code in (302, 404), (intruder, response.status_code)
    if response.status_code == 302:
        assert intruder is None and response["Location"].startswith("/accounts/login/")
    renewal.refresh_from_db()
    assert renewal.status == "returned"
    assert Certificate.objects.get(pk=renewal.certificate_id).renewal_pending


@pytest.mark.parametrize("intruder", ["other_institution_staff", "other_authority_staff"])
def test_admin_actions_on_records_of_another_scope_change_nothing(client, world, intruder, request):
    """Staff post an action with the id of a record outside their scope (as a crafted form
    would): the action's queryset is the scoped one, so nothing happens to it."""
    from certificates.models import Certificate, CertificateStatus
    from renewals.models import RenewalApplication

    certificate = Certificate.objects.get()
    renewal = RenewalApplication.objects.get()
    login(client, request.getfixturevalue(intruder))
    for changelist, pk, action, extra in (
        ("/admin/certificates/certificate/", certificate.pk, "revoke", {"apply": "1"}),
        ("/admin/renewals/renewalapplication/", renewal.pk, "approve", {}),
        ("/admin/renewals/renewalapplication/", renewal.pk, "reject", {"apply": "1"}),
    ):
        response = client.post(
            changelist,
            {"action": action, "_selected_action": [pk], "reason": "越权操作", **extra},
            follow=True,
        )
        # The action never saw the record (the scoped queryset drops it, or the list is not
        # theirs at all), rather than a service refusing it by name.
        assert response.status_code in (200, 403), (intruder, changelist, action)
        body = response.content.decode()
        assert certificate.number not in body and "成功" not in body, (intruder, changelist)
    certificate.refresh_from_db()
    renewal.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID and renewal.status == "submitted"


def test_the_audit_log_shows_staff_the_events_of_their_own_records(
    client, world, authority_staff, other_authority_staff, superuser
):
    """Each staff member sees the events of the records their admin lists show, and only
    those; events without a record (workers' reports) are the operators'."""
    from certportal.audit import audit_record

    audit_record(actor=None, action="certportal.worker.report", data={"ok": True})
    number = world["secrets"][1]
    seen = {}
    for who, user in (
        ("own", authority_staff),
        ("other", other_authority_staff),
        ("operator", superuser),
    ):
        client.force_login(user)
        body = client.get("/admin/certportal/auditevent/").content.decode()
        seen[who] = (number in body, "certportal.worker.report" in body)
    assert seen == {"own": (True, False), "other": (False, False), "operator": (True, True)}
