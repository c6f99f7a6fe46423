from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from certportal.caching import never_cache
from certportal.errors import DomainError
from exams.selectors import get_application_for_user

from . import services
from .models import Certificate
from .selectors import (
    awaiting_certificate,
    certificate_notes,
    certificates_of,
    certificates_visible_to,
    get_certificate_for_holder,
    renewal_offered,
)


@never_cache
@login_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    certificates = list(certificates_of(request.user).prefetch_related("periods"))
    notes = certificate_notes(certificates)
    for certificate in certificates:
        certificate.note = notes.get(certificate.pk, "")
    today = timezone.localdate()
    awaiting = awaiting_certificate(request.user)
    window_open = {c.pk for c in certificates if renewal_offered(c, today)}
    return render(
        request,
        "certificates/list.html",
        {"certificates": certificates, "awaiting": awaiting, "window_open": window_open},
    )


@login_required
@require_POST
def certificate_request(request: HttpRequest, application_pk: int) -> HttpResponse:
    application = get_application_for_user(request.user, application_pk)
    try:
        services.certificate_request_submit(application=application, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("证书申请已提交，发证机关审核后签发。"))
    return redirect("certificates:list")


@login_required
@require_POST
def certificate_generate(request: HttpRequest, pk: int) -> HttpResponse:
    """手动生成新版电子证照: the holder asks for the e-certificate of an imported certificate."""
    certificate = get_certificate_for_holder(request.user, pk)
    try:
        services.certificate_generate_ecert(certificate=certificate, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("新版电子证照正在生成，稍后刷新本页即可下载。"))
    return redirect("certificates:list")


def _pdf_response(certificate: Certificate) -> FileResponse:
    if not certificate.pdf:
        raise Http404
    response = FileResponse(
        certificate.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{certificate.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def certificate_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The holder's current e-certificate (404 for anyone else, anonymous included)."""
    return _pdf_response(get_certificate_for_holder(request.user, pk))


def staff_certificate_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The same PDF for staff of the issuing authority's scope (admin preview)."""
    certificate = certificates_visible_to(request.user).filter(pk=pk).first()
    if certificate is None:
        raise Http404
    return _pdf_response(certificate)
