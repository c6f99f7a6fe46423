from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from applicants.views import apply_errors, private_file_response
from certportal.caching import never_cache
from certportal.errors import DomainError

from . import services
from .eligibility import failures
from .forms import ApplicationForm, MedicalForm, WithdrawForm
from .models import ExamApplication, SubmittedMaterial
from .selectors import (
    applications_visible_to,
    eligibility_report,
    get_application_for_user,
    policy_for,
)
from .services.applications import EDITABLE, NotEligible


@never_cache
@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    applications = ExamApplication.objects.filter(applicant=request.user).select_related(
        "trade", "assessment_institution", "session"
    )
    return render(request, "exams/application_list.html", {"applications": applications})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_new(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(applicant=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("报名草稿已创建。请上传体检合格证明，核对报名条件后提交。"))
            return redirect("exams:application_detail", pk=application.pk)
    return render(request, "exams/application_new.html", {"form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_application_for_user(request.user, pk)
    months = policy_for(application.authority).medical_max_age_months
    medical_form = MedicalForm(months=months)
    edit_form = None
    failing_checks = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "medical":
                medical_form = MedicalForm(request.POST, request.FILES, months=months)
                if medical_form.is_valid():
                    services.application_attach_medical(
                        application=application,
                        actor=request.user,
                        data=medical_form.cleaned_data["file"].read(),
                        exam_date=medical_form.cleaned_data["exam_date"],
                    )
                    messages.success(request, _("体检合格证明已上传。"))
                    return redirect("exams:application_detail", pk=pk)
            elif action == "update":
                edit_form = ApplicationForm(request.POST, fixed_trade=application.trade)
                if edit_form.is_valid():
                    services.application_update(
                        application=application,
                        actor=request.user,
                        assessment_institution=edit_form.cleaned_data["assessment_institution"],
                        training_institution=edit_form.cleaned_data["training_institution"],
                    )
                    messages.success(request, _("报名信息已修改。"))
                    return redirect("exams:application_detail", pk=pk)
            elif action == "submit":
                services.application_submit(application=application, actor=request.user)
                messages.success(request, _("报名已提交，请等待审核。"))
                return redirect("exams:application_detail", pk=pk)
            elif action == "withdraw":
                if not WithdrawForm(request.POST).is_valid():
                    raise DomainError(_("请先勾选确认，再撤回报名。"), code="unconfirmed")
                services.application_withdraw(application=application, actor=request.user)
                messages.success(request, _("报名已撤回。"))
                return redirect("exams:application_detail", pk=pk)
            else:
                raise Http404
        except NotEligible as exc:
            failing_checks = exc.checks
            messages.error(request, _("不符合报名条件，未提交。请查看下面的说明。"))
        except ValidationError as exc:
            target = medical_form if action == "medical" else edit_form
            if target is not None:
                apply_errors(target, exc)
            else:
                messages.error(request, " ".join(exc.messages))
        except DomainError as exc:
            messages.error(request, exc.message)
        application.refresh_from_db()
    checks = eligibility_report(application) if application.status in EDITABLE else []
    if edit_form is None and application.status in EDITABLE:
        edit_form = ApplicationForm(
            fixed_trade=application.trade,
            initial={
                "assessment_institution": application.assessment_institution,
                "training_institution": application.training_institution,
            },
        )
    status = (
        400
        if failing_checks
        or any(f.errors for f in (medical_form, edit_form) if f is not None and f.is_bound)
        else 200
    )
    return render(
        request,
        "exams/application_detail.html",
        {
            "application": application,
            "checks": checks,
            "failing": failing_checks if failing_checks is not None else failures(checks),
            "medical_form": medical_form,
            "edit_form": edit_form,
            "editable": application.status in EDITABLE,
            "withdrawable": application.status
            in ("draft", "submitted", "institution_approved", "approved", "returned"),
            "withdraw_form": WithdrawForm(),
        },
        status=status,
    )


def ticket_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The admission ticket, only to its applicant (404 for anyone else, anonymous too)."""
    if not request.user.is_authenticated:
        raise Http404
    application = get_application_for_user(request.user, pk)
    if not application.ticket_pdf:
        raise Http404
    response = FileResponse(
        application.ticket_pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"准考证-{application.ticket_number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def staff_submitted_material(
    request: HttpRequest, pk: int, kind: str, variant: str
) -> FileResponse:
    """A copy an application was submitted with (its photo, ID card scan, education proof),
    for the staff who see the application. A file, not a page: anyone else gets 404."""
    application = applications_visible_to(request.user).filter(pk=pk).first()
    if application is None or variant not in {"file", "thumb"}:
        raise Http404
    if kind == "photo":
        if variant != "file" or not application.submitted_photo:
            raise Http404
        return private_file_response(application.submitted_photo, "image/jpeg")
    kept = SubmittedMaterial.objects.filter(application=application, kind=kind).first()
    if kept is None:
        raise Http404
    if variant == "thumb":
        if not kept.thumbnail:
            raise Http404
        return private_file_response(kept.thumbnail, "image/jpeg")
    return private_file_response(kept.file, kept.content_type)
