"""Admin action plumbing shared by every app: run a service on each selected row and report
every success and refusal; ask for a reason on an intermediate page first."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from .errors import DomainError
from .forms import ReasonForm
from .imports import ImportRefused, errors_as_csv
from .transitions import already_in, noting_unchanged, status_label


def user_as_text(field: str, description):
    """A read-only display of a user foreign key as text. Django links such a field to the
    user's admin page, which only superusers may open: for every other staff member the link
    led to 403 (账号, 创建人, 操作人)."""

    def show(self, obj) -> str:
        user = getattr(obj, field)
        if user is None:
            return "-"
        return user.staff_label()

    show.short_description = description
    return show


def staff_label(obj) -> str:
    """How a row is named to staff acting on it: its ``staff_label()`` (whose it is) where the
    model has one, else its ``str``."""
    label = getattr(obj, "staff_label", None)
    return label() if callable(label) else str(obj)


def error_text(exc: DomainError | ValidationError) -> str:
    """The message a person reads, from a domain error or a validation error."""
    return exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)


class _RolledBack(Exception):
    pass


def dry_run(call) -> None:
    """Run ``call()`` in a savepoint that is always rolled back (its on-commit callbacks go
    with it); a refusal (DomainError, ValidationError) propagates."""
    try:
        with transaction.atomic():
            call()
            raise _RolledBack
    except _RolledBack:
        pass


def add_refusal(form, exc: DomainError | ValidationError) -> None:
    """Put a service's refusal on the form: field errors on their fields where the form has
    them, everything else at the top."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error_text(exc))


class ServiceSaveAdmin:
    """For admins whose save is a domain service (``save_via_service`` returns the saved row).

    The form tries the service in ``clean()`` inside a savepoint that is always rolled back, so
    a refusal is shown on the form with what was typed, and nothing is saved; ``save_model``
    then runs it for real. Without this, a refusal raised in ``save_model`` is a server error.
    """

    def save_via_service(self, request, obj, data: dict, change: bool):
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        admin = self

        class ServiceForm(base):
            def clean(form):
                cleaned = super().clean()
                # The model fields' own validators (a capacity's maximum) run only after
                # clean(), too late for the service's trial below: run them first.
                for name, value in list(cleaned.items()):
                    try:
                        field = form._meta.model._meta.get_field(name)
                    except FieldDoesNotExist:
                        continue
                    try:
                        field.run_validators(value)
                    except ValidationError as exc:
                        form.add_error(name, exc)
                if not form.errors and (form.has_changed() or not change):
                    try:
                        dry_run(
                            lambda: admin.save_via_service(request, form.instance, cleaned, change)
                        )
                    except (DomainError, ValidationError) as exc:
                        add_refusal(form, exc)
                return cleaned

        ServiceForm.__name__ = base.__name__
        return ServiceForm

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return  # only the inlines changed; they save themselves
        saved = self.save_via_service(request, obj, form.cleaned_data, change)
        obj.pk = saved.pk


def run_each(modeladmin, request, queryset, label: str, fn) -> None:
    """Apply a service to each selected row; report successes, every refusal, and every row
    that was already where the action leads (the service does nothing then: counted as a
    success, it would suggest that a reason typed again had reached the person)."""
    done, refused, unchanged = 0, [], []
    for obj in queryset:
        # Messages name rows by their str (a certificate's number, an application's trade and
        # number), not staff_label: they travel in a cookie, names are kept out of it.
        before = getattr(obj, "status", None)
        try:
            with noting_unchanged() as seen:
                fn(obj)
        except DomainError as exc:
            (unchanged if exc.code == "unchanged" else refused).append(f"{obj}: {exc.message}")
            continue
        except ValidationError as exc:
            refused.append(f"{obj}: {error_text(exc)}")
            continue
        status = already_in(obj, seen)
        # Unchanged only if it was there before the action: a service may bring the row to its
        # state itself and then find its own transition done (issuing closes the request).
        if status is None or status != before:
            done += 1
        else:
            unchanged.append(
                _("%(obj)s：已是“%(status)s”状态，未变更。")
                % {"obj": obj, "status": status_label(type(obj), status)}
            )
    if done:
        modeladmin.message_user(
            request,
            _("%(label)s：成功 %(count)d 条。") % {"label": label, "count": done},
            messages.SUCCESS,
        )
    for line in unchanged:
        modeladmin.message_user(request, line, messages.WARNING)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


def with_reason(modeladmin, request, queryset, label: str, fn, help_text: str | None = None):
    """An action that first asks for the reason on an intermediate page; ``help_text`` says
    who reads it (the applicant, unless told otherwise)."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            run_each(modeladmin, request, queryset, label, lambda obj: fn(obj, reason))
            return None
    else:
        form = ReasonForm()
    if help_text:
        form.fields["reason"].help_text = help_text
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


def import_page(
    modeladmin,
    request,
    *,
    form_class,
    run,
    done_message: str,
    done_url: str,
    template: str,
    **context,
):
    """The admin page that imports a CSV/XLSX file all-or-nothing: ``run(data, filename)``
    returns how many rows it imported (the form's other fields, beside ``file`` and
    ``report_csv``, are passed to it by name). Every row error is listed (or, when asked,
    downloaded as CSV), a domain refusal is shown, success is reported and redirects to
    ``done_url``."""
    form = form_class(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        options = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in ("file", "report_csv")
        }
        try:
            count = run(upload.read(), upload.name, **options)
        except ImportRefused as exc:
            if form.cleaned_data["report_csv"]:
                return error_report_response(exc.errors)
            errors = exc.errors
            modeladmin.message_user(request, str(exc), messages.ERROR)
        except DomainError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
        else:
            modeladmin.message_user(request, done_message % {"count": count}, messages.SUCCESS)
            return HttpResponseRedirect(done_url)
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "opts": modeladmin.model._meta,
            **context,
        },
        status=400 if errors else 200,
    )
