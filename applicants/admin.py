from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from certportal.admin_actions import user_as_text
from certportal.errors import DomainError
from certportal.forms import ReasonForm
from certportal.pii import blind_index

from .idcard import parse_id_number
from .models import ID_LOGIN_PREFIX, IdNumberLogin, Material, Profile, User
from .selectors import applicants_visible_to, materials_shown_to_staff, shows_full_id_number
from .services import id_number_login_release, may_release_id_number_login


class ReservedUsernameMixin:
    """``id-…`` names the accounts registered with an ID number (their username is random and
    the number the login): a staff account named so would be taken for one. An account that
    already has its name keeps it."""

    def clean_username(self):
        if hasattr(super(), "clean_username"):  # the creation form's: a taken name is None
            username = super().clean_username()
        else:
            username = self.cleaned_data.get("username")
        if username is None:  # already refused, with its own message
            return username
        kept = self.instance.pk is not None and self.instance.get_username() == username
        if username.lower().startswith(ID_LOGIN_PREFIX) and not kept:
            raise ValidationError(
                _("以“%(prefix)s”开头的用户名留给用身份证号码注册的账号，请换一个。")
                % {"prefix": ID_LOGIN_PREFIX}
            )
        return username


class PortalUserCreationForm(ReservedUsernameMixin, AdminUserCreationForm):
    pass


class PortalUserChangeForm(ReservedUsernameMixin, UserChangeForm):
    pass


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    add_form = PortalUserCreationForm
    form = PortalUserChangeForm
    list_display = (
        "username",
        "login",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
        "last_login",
    )

    # A worker is found by the name and mobile of the profile too (an ID-number account's
    # username is random; its number is found on the profiles' page, by its blind index).
    search_fields = (*UserAdmin.search_fields, "profile__name", "profile__mobile")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("profile", "id_number_login")

    @admin.display(description=gettext_lazy("登录名"))
    def login(self, obj: User) -> str:
        """What the person logs in with, masked: an account registered with its ID number has
        a random username (id-…) that alone would not tell whose it is."""
        return obj.masked_login()


def redirect_by_id_number(modeladmin, request, *, index_lookup: str, not_found: str):
    """An admin list's exact lookup by ID number through the blind index (POST only, so the
    number is never in a URL, a log line or the browser history): the record itself when one
    is found in the member's scope, the list of them when several, else the list with
    ``not_found``. ``index_lookup`` is the path to the blind index from the model."""
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    opts = modeladmin.model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    try:
        number = parse_id_number(request.POST.get("id_number", "")).number
    except ValidationError as exc:
        modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
        return HttpResponseRedirect(changelist)
    ids = list(
        modeladmin.get_queryset(request)
        .filter(**{index_lookup: blind_index(number)})
        .values_list("pk", flat=True)
    )
    if not ids:
        modeladmin.message_user(request, not_found, messages.WARNING)
        return HttpResponseRedirect(changelist)
    if len(ids) == 1:
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[ids[0]])
        )
    return HttpResponseRedirect(f"{changelist}?id__in={','.join(map(str, ids))}")


def _thumbnail(material: Material, size: int = 80) -> str:
    if material.pk is None:
        return "—"
    url = reverse("applicants:staff_material_file", args=[material.pk, "file"])
    if not material.thumbnail:
        label = _("查看 PDF") if material.content_type == "application/pdf" else _("查看文件")
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)
    thumb = reverse("applicants:staff_material_file", args=[material.pk, "thumb"])
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" alt="{}"></a>',
        url,
        thumb,
        size,
        material.get_kind_display(),
    )


class MaterialInline(admin.TabularInline):
    model = Material
    fk_name = "owner"
    extra = 0
    can_delete = False
    fields = ("kind", "preview", "content_type", "size", "width", "height", "uploaded_at")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("材料")

    @admin.display(description=gettext_lazy("预览"))
    def preview(self, obj):
        return _thumbnail(obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Read-only: applicants change their own profile through the portal's services. The
    authority's correction of a name and ID number is added by ``certificates.admin``."""

    list_display = (
        "name",
        "masked_id",
        "sex",
        "birth_date",
        "mobile",
        "education",
        "employer_name",
    )
    list_filter = ("education", "sex")
    search_fields = ("name", "mobile", "employer_name")
    list_select_related = ("user",)
    exclude = ("id_number", "id_number_index", "user")  # the number: id_number_shown
    readonly_fields = (
        "account",
        "name",
        "id_number_shown",
        "birth_date",
        "sex",
        "mobile",
        "education",
        "employer_name",
        "employer_credit_code",
        "address",
        "id_number_locked",
        "materials_locked",
        "materials",
        "created_at",
        "updated_at",
    )
    change_list_template = "admin/applicants/profile/change_list.html"
    account = user_as_text("user", gettext_lazy("账号"))

    @admin.display(description=gettext_lazy("公民身份号码"))
    def masked_id(self, obj):
        return obj.masked_id_number

    @admin.display(description=gettext_lazy("公民身份号码"))
    def id_number_shown(self, obj):
        # In full to the staff who need it (applicants.selectors.shows_full_id_number).
        return (
            obj.id_number if getattr(obj, "full_id_number_shown", False) else obj.masked_id_number
        )

    @admin.display(description=gettext_lazy("材料"))
    def materials(self, obj):
        items = [
            format_html("<div>{}<br>{}</div>", m.get_kind_display(), _thumbnail(m, 120))
            for m in getattr(obj, "staff_materials", ())
        ]
        return format_html(
            '<div style="display:flex;gap:1rem">{}</div>',
            format_html("".join(["{}"] * len(items)), *items) if items else "—",
        )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user__in=applicants_visible_to(request.user))

    def get_object(self, request, object_id, from_field=None):
        # The materials this member may open (a medical certificate only through an application
        # of theirs), read here because a display method is not given the request.
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.full_id_number_shown = shows_full_id_number(request.user, obj.user_id)
            obj.staff_materials = list(
                materials_shown_to_staff(request.user).filter(owner=obj.user_id).order_by("pk")
            )
        return obj

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "find-by-id/",
                self.admin_site.admin_view(require_POST(self.find_by_id_number)),
                name="applicants_profile_find_by_id",
            ),
            path(
                "release-id-login/<int:pk>/",
                self.admin_site.admin_view(self.release_id_number_login),
                name="applicants_profile_release_id_login",
            ),
            *super().get_urls(),
        ]

    def find_by_id_number(self, request):
        """Exact lookup by ID number through the blind index. POST only, so the number never
        appears in a URL, a log line or the browser history."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:applicants_profile_changelist")
        try:
            number = parse_id_number(request.POST.get("id_number", "")).number
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(changelist)
        profile = self.get_queryset(request).filter(id_number_index=blind_index(number)).first()
        held = IdNumberLogin.objects.filter(id_number_index=blind_index(number)).first()
        if profile is None and held is not None and may_release_id_number_login(request.user):
            # Held by an account registered with it, with no profile: nothing to open but the
            # release, for when the number's owner has shown their ID card.
            return HttpResponseRedirect(
                reverse("admin:applicants_profile_release_id_login", args=[held.pk])
            )
        if profile is None:
            self.message_user(
                request,
                _("未找到该身份证号码对应的申报人（或不在您的管辖范围内）。"),
                messages.WARNING,
            )
            return HttpResponseRedirect(changelist)
        return HttpResponseRedirect(reverse("admin:applicants_profile_change", args=[profile.pk]))

    def release_id_number_login(self, request, pk: int):
        """The release of an ID number held by a registration (``id_number_login_release``),
        reached from the lookup by number: the number is never in the address, only the
        registration's key."""
        if not may_release_id_number_login(request.user):
            raise PermissionDenied
        login = IdNumberLogin.objects.select_related("user").filter(pk=pk).first()
        changelist = reverse("admin:applicants_profile_changelist")
        if login is None:
            self.message_user(request, _("该号码已被释放，无需再次办理。"), messages.INFO)
            return HttpResponseRedirect(changelist)
        form = ReasonForm(request.POST or None)
        form.fields["reason"].help_text = _("记入审计日志，不发送给任何人；请写明核验的证件。")
        if request.method == "POST" and form.is_valid():
            try:
                id_number_login_release(
                    login=login, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    _("已释放身份证号码 %(number)s：原注册账号已停用，本人可重新注册。")
                    % {"number": login.masked_id_number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(changelist)
        return TemplateResponse(
            request,
            "admin/applicants/profile/release_id_login.html",
            {
                **self.admin_site.each_context(request),
                "title": _("释放身份证号码注册"),
                "opts": self.model._meta,
                "login": login,
                "form": form,
                "changelist": changelist,
            },
        )
