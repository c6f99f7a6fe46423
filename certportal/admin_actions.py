"""Admin action plumbing shared by every app: run a service on each selected row and report
every success and refusal; ask for a reason on an intermediate page first."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .errors import DomainError
from .forms import ReasonForm
from .imports import errors_as_csv


def error_text(exc: DomainError | ValidationError) -> str:
    """The message a person reads, from a domain error or a validation error."""
    return exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)


def run_each(modeladmin, request, queryset, label: str, fn) -> None:
    """Apply a service to each selected row; report successes and every refusal."""
    done, refused = 0, []
    for obj in queryset:
        try:
            fn(obj)
            done += 1
        except (DomainError, ValidationError) as exc:
            refused.append(f"{obj}: {error_text(exc)}")
    if done:
        modeladmin.message_user(
            request,
            _("%(label)s：成功 %(count)d 条。") % {"label": label, "count": done},
            messages.SUCCESS,
        )
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


def with_reason(modeladmin, request, queryset, label: str, fn):
    """An action that first asks for the reason on an intermediate page."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            run_each(modeladmin, request, queryset, label, lambda obj: fn(obj, reason))
            return None
    else:
        form = ReasonForm()
    return TemplateResponse(
        request,
        "admin/reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": label,
            "form": form,
            "queryset": queryset,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
        },
    )


def error_report_response(errors) -> HttpResponse:
    """A refused import's row errors as a CSV download (行号, 列, 错误), formula cells
    neutralised, for staff correcting a long file in a spreadsheet."""
    response = HttpResponse(errors_as_csv(errors), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = "attachment; filename*=UTF-8''import-errors.csv"
    return response
