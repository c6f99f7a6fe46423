import functools

from django import forms
from django.contrib import admin
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates.models import Certificate
from certificates.selectors import certificates_visible_to
from certportal.admin_actions import (
    ServiceSaveAdmin,
    import_page,
    run_each,
    user_as_text,
    with_reason,
)
from certportal.admin_lists import QuickCheckboxAdmin, year_filter
from exams.admin_filters import CeProviderFilter
from exams.models import Institution
from exams.selectors import authority_ids_in_scope, membership_of

from . import services
from .models import ConductRecord, ContinuingEducation, RenewalApplication
from .rules import accidents, ce_hours, due_dates, renewal_checks, violations_counted

VOID_FIELDS = ("voided_at", "voider", "void_reason")


class VoidedFilter(admin.SimpleListFilter):
    title = gettext_lazy("状态")
    parameter_name = "voided"

    def lookups(self, request, model_admin):
        return (("no", _("有效")), ("yes", _("已作废")))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(voided_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(voided_at__isnull=False)
        return queryset


class VoidableAdmin:
    """A record entered in error is voided with a reason (``void_service``), by those who
    may enter such records; the list shows which stand."""

    actions = ("void",)
    void_label = ""
    void_help = ""
    voider = user_as_text("voided_by", gettext_lazy("作废人"))

    def void_service(self, *, record, actor, reason):
        raise NotImplementedError

    @admin.display(description=gettext_lazy("状态"))
    def state(self, obj):
        if obj.is_voided:
            return _("已作废（%(reason)s）") % {"reason": obj.void_reason}
        return _("有效")

    def has_void_permission(self, request):
        return self.has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        # Who voided it, when and why: on a voided record's page only (not on the add form).
        shown = VOID_FIELDS if obj is not None and obj.is_voided else ()
        return (*super().get_readonly_fields(request, obj), *shown)

    @admin.action(description=gettext_lazy("作废（录入错误，填写原因）"), permissions=["void"])
    def void(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            str(self.void_label),
            lambda r, reason: self.void_service(record=r, actor=request.user, reason=reason),
            help_text=str(self.void_help),
        )


class CeForm(forms.ModelForm):
    holder_id_number = forms.CharField(label=gettext_lazy("公民身份号码"), max_length=30)

    class Meta:
        model = ContinuingEducation
        fields = (
            "holder_name",
            "holder_id_number",
            "provider",
            "mode",
            "hours",
            "completed_on",
            "course",
        )


class CeImportForm(forms.Form):
    # For staff who are not the provider (authority staff, a superuser): whose records these
    # are; removed for a provider's own staff.
    provider = forms.ModelChoiceField(
        label=gettext_lazy("继续教育机构"), queryset=Institution.objects.none()
    )
    file = forms.FileField(label=gettext_lazy("继续教育记录文件（CSV 或 XLSX）"))
    report_csv = forms.BooleanField(
        label=gettext_lazy("有错误时下载错误报告（CSV）"), required=False
    )

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        if providers.exists():
            self.fields["provider"].queryset = providers
        else:
            del self.fields["provider"]


@admin.register(ContinuingEducation)
class ContinuingEducationAdmin(
    QuickCheckboxAdmin, VoidableAdmin, ServiceSaveAdmin, admin.ModelAdmin
):
    form = CeForm
    list_display = (
        "holder_name",
        "masked_id",
        "provider",
        "mode",
        "hours",
        "completed_on",
        "course",
        "state",
    )
    # The years between the first and last completion date (two index probes), not the date
    # hierarchy's distinct years over every record in scope (certportal.admin_lists).
    list_filter = (
        VoidedFilter,
        "mode",
        ("provider", CeProviderFilter),
        year_filter("completed_on", gettext_lazy("完成年份")),
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counts per choice: a pass over the scope each
    search_fields = ("holder_name", "course")
    list_select_related = ("provider",)
    change_list_template = "admin/renewals/continuingeducation/change_list.html"
    void_label = gettext_lazy("作废继续教育记录")
    void_help = gettext_lazy("记入日志；作废后该记录的学时不再计入延续，可重新录入正确的记录")
    void_service = staticmethod(services.ce_record_void)

    @admin.display(description=gettext_lazy("公民身份号码"))
    def masked_id(self, obj):
        return obj.masked_id_number

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        membership = membership_of(request.user)
        if membership is None:
            return qs.none()
        if membership.institution_id:
            return qs.filter(provider_id=membership.institution_id)
        return qs.filter(provider__authority__in=authority_ids_in_scope(request.user))

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not services.ce_providers_for(request.user).exists():
            fields.remove("provider")  # a provider's own staff record for their institution
        if obj is not None:
            # A record is only read once saved: nobody decides anything on its page, so the
            # ID number is masked there as in the list.
            fields[fields.index("holder_id_number")] = "masked_id"
        return fields

    def get_readonly_fields(self, request, obj=None):
        shown = ("masked_id",) if obj is not None else ()
        return (*super().get_readonly_fields(request, obj), *shown)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "provider":
            kwargs["queryset"] = services.ce_providers_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_via_service(self, request, obj, data, change):
        return services.ce_record_create(
            actor=request.user,
            name=data["holder_name"],
            id_number=data["holder_id_number"],
            mode=data["mode"],
            hours=data["hours"],
            completed_on=data["completed_on"],
            course=data.get("course", ""),
            provider=data.get("provider"),
        )

    def get_urls(self):
        return [
            path(
                "import/", self.admin_site.admin_view(self.import_view), name="renewals_ce_import"
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise Http404
        return import_page(
            self,
            request,
            form_class=functools.partial(
                CeImportForm, providers=services.ce_providers_for(request.user)
            ),
            run=lambda data, filename, provider=None: services.ce_import(
                actor=request.user, data=data, filename=filename, provider=provider
            ),
            done_message=_("已导入 %(count)d 条继续教育记录。"),
            done_url=reverse("admin:renewals_continuingeducation_changelist"),
            template="admin/renewals/continuingeducation/import.html",
            title=_("导入继续教育记录"),
        )


class CertificateNumberField(forms.ModelChoiceField):
    """A certificate typed by its number (闽C012024000003), as staff have it on paper, not by
    the database id a raw-id box asks for; only certificates of the staff member's scope are
    found (the form sets the queryset)."""

    default_error_messages = {
        "invalid_choice": gettext_lazy(
            "未找到证书编号“%(value)s”，或该证书不属于您管辖的发证机关。请核对编号。"
        ),
    }

    def __init__(self, **kwargs):
        super().__init__(
            queryset=Certificate.objects.none(),
            to_field_name="number",
            widget=forms.TextInput(attrs={"size": 20, "autocomplete": "off"}),
            **kwargs,
        )

    def to_python(self, value):
        return super().to_python((value or "").strip().upper().replace(" ", ""))


class ConductForm(forms.ModelForm):
    certificate = CertificateNumberField(
        label=gettext_lazy("证书编号"),
        help_text=gettext_lazy("填写证书上的编号，如 闽C012024000003；保存后列表显示持证人姓名"),
    )

    class Meta:
        model = ConductRecord
        fields = ("certificate", "kind", "occurred_on", "description")


@admin.register(ConductRecord)
class ConductRecordAdmin(VoidableAdmin, ServiceSaveAdmin, admin.ModelAdmin):
    form = ConductForm
    list_display = ("certificate", "holder", "kind", "occurred_on", "created_by", "state")
    list_filter = (VoidedFilter, "kind")
    search_fields = ("certificate__number", "certificate__holder_name")
    list_select_related = ("certificate", "created_by")
    void_label = gettext_lazy("作废违章与事故记录")
    void_help = gettext_lazy("持证人会看到这段文字；作废后该记录不再计入延续审查")
    void_service = staticmethod(services.conduct_record_void)

    @admin.display(description=gettext_lazy("持证人"), ordering="certificate__holder_name")
    def holder(self, obj):
        return obj.certificate.holder_name

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(certificate__in=certificates_visible_to(request.user))
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        scope = certificates_visible_to(request.user)

        class ScopedConductForm(base):
            def __init__(form, *args, **kw):
                super().__init__(*args, **kw)
                if "certificate" in form.fields:
                    # Only certificates of the staff member's scope are found, so a record
                    # can never be attached to another authority's holder.
                    form.fields["certificate"].queryset = scope

        ScopedConductForm.__name__ = base.__name__
        return ScopedConductForm

    def save_via_service(self, request, obj, data, change):
        return services.conduct_record_create(
            actor=request.user,
            certificate=data["certificate"],
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            description=data["description"],
        )


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("办理时限")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return (
            ("overdue", _("已超过 10 个工作日未办结")),
            ("refuse_overdue", _("已超过 5 个工作日")),
        )

    def queryset(self, request, queryset):
        if self.value() not in ("overdue", "refuse_overdue"):
            return queryset
        today = timezone.localdate()
        index = 1 if self.value() == "overdue" else 0
        late = [
            r.pk
            for r in queryset.filter(status="submitted")
            if due_dates(r.submitted_at)[index] < today
        ]
        return queryset.filter(pk__in=late)


@admin.register(RenewalApplication)
class RenewalApplicationAdmin(admin.ModelAdmin):
    list_display = (
        "certificate",
        "holder",
        "status",
        "submitted_at",
        "refuse_by",
        "approve_by",
        "correct_by",
    )
    list_filter = ("status", OverdueFilter, "delivery")
    search_fields = ("certificate__number", "certificate__holder_name")
    list_select_related = ("certificate", "certificate__authority")
    actions = ("approve", "return_for_correction", "reject")
    readonly_fields = (
        "certificate",
        "holder",
        "status",
        "ce_city",
        "ce_district",
        "declarations",
        "delivery",
        "mail_address",
        "signature_name",
        "signed_at",
        "first_submitted_at",
        "submitted_at",
        "refuse_by",
        "approve_by",
        "holder_record",
        "decided_at",
        "reason",
        "correct_by",
        "new_valid_until",
    )
    fields = readonly_fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(status="draft")
            .filter(certificate__in=certificates_visible_to(request.user))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("持证人"))
    def holder(self, obj):
        return obj.certificate.holder_name

    @admin.display(description=gettext_lazy("不予延续最迟（5 个工作日）"))
    def refuse_by(self, obj):
        if obj.status != RenewalApplication.Status.SUBMITTED or not obj.submitted_at:
            return self._no_deadline(obj)
        return due_dates(obj.submitted_at)[0]

    @staticmethod
    def _no_deadline(obj):
        # A decided renewal has no deadline left: its dates read as if it were still waiting.
        decided = (RenewalApplication.Status.APPROVED, RenewalApplication.Status.REJECTED)
        return _("已办结") if obj.status in decided else "—"

    @admin.display(description=gettext_lazy("准予延续最迟（10 个工作日）"))
    def approve_by(self, obj):
        if obj.status != RenewalApplication.Status.SUBMITTED or not obj.submitted_at:
            return self._no_deadline(obj)
        due = due_dates(obj.submitted_at)[1]
        if due < timezone.localdate():
            return format_html('<strong style="color:#a4161a">{} {}</strong>', due, _("已超期"))
        return due

    @admin.display(description=gettext_lazy("本人承诺"))
    def declarations(self, obj):
        return _("已全部勾选") if obj.declarations_complete else _("未全部勾选")

    @admin.display(description=gettext_lazy("继续教育、违章与事故"))
    def holder_record(self, obj):
        certificate = obj.certificate
        # Submitted in time: the window is judged on the first submission, as approval judges
        # it (a red ✗ "受理期已经结束" after the expiry day would read as a reason to refuse).
        in_time = obj.first_submitted_on if obj.status in ("submitted", "returned") else None
        checks = renewal_checks(certificate, submitted_on=in_time)
        summary = format_html(
            "<p>{}：{}　{}：{}　{}：{}</p>",
            _("本有效期继续教育学时"),
            ce_hours(certificate),
            _("近两年违章"),
            violations_counted(certificate, timezone.localdate()),
            _("事故责任"),
            accidents(certificate),
        )
        items = format_html_join(
            "",
            "<li style='color:{}'>{} {}</li>",
            (
                ("#116b2f" if c.passed else "#a4161a", "✓" if c.passed else "✗", c.message)
                for c in checks
            ),
        )
        return format_html("{}<ul style='margin:0;padding-left:1rem'>{}</ul>", summary, items)

    @admin.action(description=gettext_lazy("准予延续"), permissions=["change"])
    def approve(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("准予延续"),
            lambda r: services.renewal_approve(renewal=r, actor=request.user),
        )

    @admin.action(description=gettext_lazy("退回补正（填写原因）"), permissions=["change"])
    def return_for_correction(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("退回补正"),
            lambda r, reason: services.renewal_return(renewal=r, actor=request.user, reason=reason),
        )

    @admin.action(description=gettext_lazy("不予延续（填写原因）"), permissions=["change"])
    def reject(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("不予延续"),
            lambda r, reason: services.renewal_reject(renewal=r, actor=request.user, reason=reason),
        )
