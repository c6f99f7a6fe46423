from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from certportal.caching import never_cache
from certportal.client import client_ip
from certportal.errors import DomainError
from certportal.models import Notice

from . import services
from .forms import WITHHELD, LoginNameInput, MaterialUploadForm, ProfileForm, RegisterForm
from .models import IdNumberLogin, Material
from .selectors import (
    dashboard_sections,
    get_material_for_staff,
    get_own_material,
    material_rules_for,
    profile_checklist,
    profile_of,
)
from .uploads import MaterialKind, MaterialRules


def apply_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@never_cache  # the page may carry what was typed: kept out of shared computers' caches
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("applicants:dashboard")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login_field = "id_number" if form.registers_by_id_number else "mobile"
        try:
            user = services.account_register(
                **{login_field: form.cleaned_data["login"]},
                password=form.cleaned_data["password1"],
                email=form.cleaned_data["email"],
                client=client_ip(request),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and login_field in exc.error_dict:
                exc.error_dict["login"] = exc.error_dict.pop(login_field)
            apply_errors(form, exc)
        else:
            login(request, user, backend="applicants.backends.MobileOrIdNumberBackend")
            messages.success(request, _("注册成功。请先填写实名信息。"))
            return redirect("applicants:profile")
    elif form.is_bound and "login" not in form.errors and form.registers_by_id_number:
        # The passwords differ: a taken number is said now, not after they are retyped.
        refused = services.account_id_number_refusal(
            id_number=form.cleaned_data["login"], client=client_ip(request)
        )
        if refused:
            form.add_error("login", refused)
    if form.is_bound and form.errors and LoginNameInput.withholds(form.data.get("login")):
        form.add_error("login", WITHHELD)  # the box comes back empty: say why
    return render(request, "accounts/register.html", {"form": form})


@never_cache
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    checklist = profile_checklist(request.user)
    next_step = next((item for item in checklist if not item.done), None)
    materials = {m.kind: m for m in Material.objects.filter(owner=request.user)}
    sections = dashboard_sections(request.user)
    tasks = sorted((t for s in sections for t in s.tasks), key=lambda t: t.order)
    # Something under way (an application in review, a certificate): no "you may apply" as if
    # nothing had started.
    in_progress = any(s.items for s in sections)
    return render(
        request,
        "applicants/dashboard.html",
        {
            "profile": profile_of(request.user),
            "checklist": checklist,
            "next_step": next_step,
            "complete": next_step is None,
            "materials": materials,
            "sections": [s for s in sections if s.items or s.empty],
            "tasks": tasks,
            "in_progress": in_progress,
            "notices": Notice.objects.filter(user=request.user)[:10],
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    current = profile_of(request.user)
    locked = bool(current and current.id_number_locked)
    initial = {"mobile": request.user.username if request.user.username.isdigit() else ""}
    registered = IdNumberLogin.objects.filter(user=request.user).first()
    if registered is not None:  # registered with it: the form starts from that number
        initial["id_number"] = registered.id_number
    if current is not None:
        initial = {
            "name": current.name,
            "id_number": current.id_number,
            "mobile": current.mobile,
            "education": current.education,
            "employer_name": current.employer_name,
            "employer_credit_code": current.employer_credit_code,
            "address": current.address,
        }
    form = ProfileForm(
        request.POST or None,
        initial=initial,
        id_number_locked=locked,
        materials_locked=bool(current and current.materials_locked),
    )
    if request.method == "POST" and form.is_valid():
        login_number = (
            registered.id_number
            if registered is not None
            else current.id_number
            if current is not None and request.user.registered_by_id_number
            else None
        )
        try:
            saved = services.profile_save(
                user=request.user, client=client_ip(request), **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("实名信息已保存。"))
            if login_number is not None and saved.id_number != login_number:
                messages.info(request, _("今后请用新填写的身份证号码登录。"))
            return redirect("applicants:materials" if current is None else "applicants:profile")
    return render(request, "applicants/profile.html", {"form": form, "profile": current})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def materials(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    rules = material_rules_for(request.user)
    if request.method == "POST":
        form = MaterialUploadForm(request.POST, request.FILES)
        kind = request.POST.get("kind", "")
        if form.is_valid():
            try:
                services.material_upload(
                    user=request.user,
                    kind=kind,
                    data=form.cleaned_data["file"].read(),
                    rules=rules,
                )
            except ValidationError as exc:
                errors[kind] = exc.messages
            except DomainError as exc:
                errors[kind] = [exc.message]
            else:
                messages.success(
                    request, _("%(kind)s已上传。") % {"kind": MaterialKind(kind).label}
                )
                return redirect("applicants:materials")
        else:
            errors[kind] = [e for field_errors in form.errors.values() for e in field_errors]
    owned = {m.kind: m for m in Material.objects.filter(owner=request.user)}
    profile_obj = profile_of(request.user)
    slots = [
        {
            "kind": kind,
            "label": MaterialKind(kind).label,
            "rule": material_rule_text(kind, rules),
            "material": owned.get(kind),
            "errors": errors.get(kind, []),
            "accept": ".jpg,.jpeg"
            if kind == MaterialKind.PHOTO
            else (".jpg,.jpeg,.png" if kind == MaterialKind.ID_SCAN else ".jpg,.jpeg,.png,.pdf"),
        }
        for kind in Material.PROFILE_KINDS
    ]
    status = 400 if errors else 200
    return render(
        request,
        "applicants/materials.html",
        {"slots": slots, "locked": bool(profile_obj and profile_obj.materials_locked)},
        status=status,
    )


def material_rule_text(kind: str, rules: MaterialRules) -> str:
    """The rule shown beside each upload, with the limits of the rules applied to it."""
    if kind == MaterialKind.PHOTO:
        return _(
            "近期一寸免冠正面彩色照片，白色背景，露出整个头部并截到肩部；"
            "JPG 格式，大于 %(min_kb)d KB 且小于 %(max_kb)d KB，竖版（宽高比约 25:35），"
            "至少 %(width)d×%(height)d 像素。"
        ) % {
            "min_kb": rules.photo_min_kb,
            "max_kb": rules.photo_max_kb,
            "width": rules.photo_min_width,
            "height": rules.photo_min_height,
        }
    if kind == MaterialKind.ID_SCAN:
        return _(
            "身份证正面扫描件或照片，JPG 或 PNG，%(long)d×%(short)d 像素以内，可垫白纸扫描或拍摄。"
        ) % {"long": rules.id_scan_max_long_px, "short": rules.id_scan_max_short_px}
    return _("毕业证书或学历证明，JPG、PNG 或 PDF，不超过 %(mb)d MB。") % {
        "mb": rules.education_proof_max_mb
    }


def private_file_response(field, content_type: str) -> FileResponse:
    """A stored private file as a response its reader's browser keeps to itself (also used by
    exams for the copies an application was submitted with)."""
    response = FileResponse(field.open("rb"), content_type=content_type)
    # Images show in the page; PDFs are downloaded, never rendered in the portal's origin.
    response["Content-Disposition"] = (
        "inline" if content_type.startswith("image/") else 'attachment; filename="material.pdf"'
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def own_material_file(request: HttpRequest, kind: str, variant: str) -> FileResponse:
    """A file, not a page: anyone but its owner gets 404 (no login redirect that would
    confirm the URL means something)."""
    if not request.user.is_authenticated:
        raise Http404
    material = get_own_material(request.user, kind)
    return _serve(material, variant)


def staff_material_file(request: HttpRequest, pk: int, variant: str) -> FileResponse:
    material = get_material_for_staff(request.user, pk)
    return _serve(material, variant)


def _serve(material: Material, variant: str) -> FileResponse:
    if variant not in {"file", "thumb"}:
        raise Http404
    if variant == "thumb":
        if not material.thumbnail:
            raise Http404
        return private_file_response(material.thumbnail, "image/jpeg")
    return private_file_response(material.file, material.content_type)


class PortalLogoutView(auth_views.LogoutView):
    """/accounts/logout/: signing out is a POST (the header's button). A GET, from a bookmark or
    a typed address, gets a page with that button for someone signed in, and the signed-out
    page for anyone else, instead of an empty 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return render(request, "registration/logout_confirm.html")
        return render(request, "registration/logged_out.html")
