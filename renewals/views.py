from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from applicants.views import apply_errors
from certificates.selectors import get_certificate_for_holder
from certportal.caching import never_cache
from certportal.errors import DomainError

from . import services
from .forms import DECLARATIONS, DeliveryForm, FillForm, SignForm, WithdrawForm
from .models import ConductRecord, ContinuingEducation, RenewalApplication
from .rules import ce_hours, failing, renewal_checks, window
from .services import WITHDRAWABLE, RenewalRefused

OPEN = ("draft", "returned")


def _context(certificate, renewal=None):
    from exams.selectors import policy_for

    # A renewal submitted in time (under review, or returned) is judged on that day's window,
    # also once the certificate's expiry day has passed.
    pending = renewal or (
        RenewalApplication.objects.filter(
            certificate=certificate, status=RenewalApplication.Status.SUBMITTED
        ).first()
    )
    submitted_on = pending.first_submitted_on if pending is not None else None
    checks = renewal_checks(certificate, submitted_on=submitted_on)
    return {
        "certificate": certificate,
        "name_mismatch": services.signature_name_mismatch(certificate),
        "checks": checks,
        "failing": failing(checks),
        "hours": ce_hours(certificate),
        "required_hours": policy_for(certificate.authority).ce_hours_required,
        "window": window(certificate),
        "ce_records": ContinuingEducation.objects.in_force()
        .filter(holder_id_index=certificate.holder_id_index)
        .select_related("provider")[:50],
        "conduct": ConductRecord.objects.in_force().filter(
            certificate__holder_id_index=certificate.holder_id_index
        ),
        "renewals": RenewalApplication.objects.filter(certificate=certificate).order_by(
            "-created_at"
        ),
        "today": timezone.localdate(),
        # No form for a new renewal that could never be submitted (services.BLOCKS_A_NEW_DRAFT).
        # A returned renewal stays open to correction (its window is its first submission).
        "can_start": (renewal is not None and renewal.status == RenewalApplication.Status.RETURNED)
        or not [c for c in failing(checks) if c.code in services.BLOCKS_A_NEW_DRAFT],
    }


def _open_renewal(certificate, user):
    return RenewalApplication.objects.filter(
        certificate=certificate, applicant=user, status__in=OPEN
    ).first()


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def renewal_fill(request: HttpRequest, pk: int) -> HttpResponse:
    """Overview (hours, records, checks) and step 1, 在线填表 (保存草稿 / 下一步)."""
    certificate = get_certificate_for_holder(request.user, pk)
    renewal = _open_renewal(certificate, request.user)
    initial = {}
    if renewal is not None:
        initial = {f: getattr(renewal, f) for f in FillForm.base_fields}
    going_on = request.POST.get("next") is not None
    form = FillForm(request.POST or None, initial=initial, require_all=going_on)
    if request.method == "POST" and form.is_valid():
        try:
            renewal = services.renewal_save_draft(
                certificate=certificate, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if going_on:
                return redirect("renewals:delivery", pk=pk)
            messages.success(request, _("草稿已保存。"))
            return redirect("renewals:fill", pk=pk)
    return render(
        request,
        "renewals/fill.html",
        {
            **_context(certificate, renewal),
            "form": form,
            "renewal": renewal,
            "declarations": DECLARATIONS,
            "step": 1,
            "withdrawable": renewal is not None and renewal.status in WITHDRAWABLE,
            "withdraw_form": WithdrawForm(auto_id="withdraw_%s"),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def renewal_delivery(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2, 取件方式."""
    certificate = get_certificate_for_holder(request.user, pk)
    renewal = _open_renewal(certificate, request.user)
    if renewal is None:
        return redirect("renewals:fill", pk=pk)
    form = DeliveryForm(
        request.POST or None,
        initial={
            "delivery": renewal.delivery or "electronic",
            "mail_address": renewal.mail_address,
        },
    )
    if request.method == "POST":
        if "back" in request.POST:
            return redirect("renewals:fill", pk=pk)
        if form.is_valid():
            try:
                services.renewal_set_delivery(
                    renewal=renewal, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("renewals:confirm", pk=pk)
    return render(
        request, "renewals/delivery.html", {"certificate": certificate, "form": form, "step": 2}
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def renewal_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3, 信息确认 with the electronic signature, then submit."""
    certificate = get_certificate_for_holder(request.user, pk)
    renewal = _open_renewal(certificate, request.user)
    if renewal is None:
        return redirect("renewals:fill", pk=pk)
    form = SignForm(request.POST or None)
    failing_checks = None
    status = 200
    if request.method == "POST":
        if "back" in request.POST:
            return redirect("renewals:delivery", pk=pk)
        if form.is_valid():
            try:
                services.renewal_submit(
                    renewal=renewal,
                    actor=request.user,
                    signature_name=form.cleaned_data["signature_name"],
                )
            except RenewalRefused as exc:
                failing_checks = exc.checks
                status = 400
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = 400
            else:
                messages.success(request, _("延续申请已提交。审查期间证书保持有效。"))
                return redirect("renewals:fill", pk=pk)
        else:
            status = 400
    return render(
        request,
        "renewals/confirm.html",
        {
            **_context(certificate, renewal),
            "renewal": renewal,
            "form": form,
            "step": 3,
            "declarations": [(label, getattr(renewal, name)) for name, label in DECLARATIONS],
            "refused": failing_checks,
        },
        status=status,
    )


@never_cache
@login_required
def renewal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """撤回 the holder's latest renewal: a POST with the confirmation ticked. The certificate is
    resolved first, so anyone else gets 404 whatever the method; a GET only leads back to the
    overview. Which states may be withdrawn is the service's to say."""
    certificate = get_certificate_for_holder(request.user, pk)
    if request.method != "POST":
        return redirect("renewals:fill", pk=pk)
    renewal = (
        RenewalApplication.objects.filter(certificate=certificate, applicant=request.user)
        .order_by("-created_at", "-id")
        .first()
    )
    if renewal is None:
        messages.error(request, _("没有可撤回的延续申请。"))
    elif not WithdrawForm(request.POST).is_valid():
        messages.error(request, _("请先勾选确认，再撤回延续申请。"))
    else:
        try:
            services.renewal_withdraw(renewal=renewal, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("延续申请已撤回。"))
    return redirect("renewals:fill", pk=pk)
