from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from applicants import admin as applicants_admin
from applicants.models import Profile
from certportal.admin_actions import run_each, user_as_text, with_reason
from certportal.admin_lists import QuickCheckboxAdmin, year_filter
from certportal.errors import DomainError
from certportal.pii import mask_id_number
from exams.admin_filters import ScopedAuthorityFilter
from exams.selectors import sessions_visible_to

from . import services
from .exports import export_certificates_xlsx
from .models import (
    BatchIssue,
    Certificate,
    CertificatePdf,
    CertificateRequest,
    CertificateStatus,
    IssuableSession,
    ValidityPeriod,
)
from .selectors import certificates_visible_to


class PeriodInline(admin.TabularInline):
    model = ValidityPeriod
    extra = 0
    can_delete = False
    readonly_fields = ("valid_from", "valid_until", "reason", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


class PdfInline(admin.TabularInline):
    model = CertificatePdf
    extra = 0
    can_delete = False
    readonly_fields = (
        "version",
        "status",
        "valid_until",
        "sha256",
        "ecert_identifier",
        "created_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Certificate)
class CertificateAdmin(QuickCheckboxAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "holder_name",
        "masked_id",
        "trade",
        "authority",
        "valid_until",
        "status_display",
    )
    # Nothing on the list reads every certificate in scope (a province holds millions): the
    # years from the first and last issue date, the authorities from the scope, no unfiltered
    # total; the order is the index certificate_list_order.
    list_filter = (
        "status",
        "trade",
        ("authority", ScopedAuthorityFilter),
        year_filter("issued_on", gettext_lazy("发证年份")),
        "is_legacy",
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counts per choice: a pass over the scope each
    search_fields = ("number", "holder_name")  # see get_search_results
    search_help_text = gettext_lazy(
        "按证书编号或姓名查找，从第一个字起匹配（如“闽C05”“王小”）；只输入数字时，查找编号中含有这些数字的证书。"
    )
    list_select_related = ("trade", "authority")
    raw_id_fields = ("holder", "application")
    inlines = (PeriodInline, PdfInline)
    actions = (
        "suspend",
        "lift",
        "revoke",
        "withdraw",
        "cancel",
        "generate_ecert",
        export_certificates_xlsx,
    )
    change_list_template = "admin/certificates/certificate/change_list.html"
    exclude = ("holder", "holder_id_index", "holder_photo", "pdf")
    readonly_fields = (
        "number",
        "holder_account",
        "holder_name",
        "holder_sex",
        "holder_id_number",
        "holder_birth_date",
        "trade",
        "authority",
        "application",
        "first_issued_on",
        "issued_on",
        "valid_from",
        "valid_until",
        "status",
        "status_reason",
        "status_changed_at",
        "renewal_pending",
        "is_legacy",
        "verify_link",
        "content_version",
        "pdf_link",
        "pdf_sha256",
        "pdf_version",
        "ecert_version",
        "ecert_identifier",
        "render_error",
    )

    def get_queryset(self, request):
        return certificates_visible_to(request.user)

    def get_search_results(self, request, queryset, search_term):
        """From the first character, which the indexes on number and name answer (``LIKE
        '闽C05%'``: Django makes a varchar_pattern_ops index beside each), where Django's
        search reads every certificate in scope (``UPPER(…) LIKE '%…%'``): 229 → 1 ms for a
        province's 100,000, growing with the scope. Digits alone (a serial's end, read off a
        paper certificate) still look anywhere in the number."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isascii() and term.isdigit():
            return queryset.filter(number__contains=term), False
        return queryset.filter(
            Q(number__startswith=term.upper()) | Q(holder_name__startswith=term)
        ), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("公民身份号码"))
    def masked_id(self, obj):
        return obj.masked_id_number

    @admin.display(description=gettext_lazy("持证人账号"))
    def holder_account(self, obj):
        """The account's login, as text: staff have no access to accounts, and a link would
        lead them to 无权访问."""
        return str(obj.holder) if obj.holder_id else _("未关联账号")

    @admin.display(description=gettext_lazy("查验页面（二维码）"))
    def verify_link(self, obj):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', obj.verify_path, obj.verify_path
        )

    @admin.display(description=gettext_lazy("状态"), ordering="status")
    def status_display(self, obj):
        return obj.effective_status_label

    @admin.display(description=gettext_lazy("电子证照"))
    def pdf_link(self, obj):
        if not obj.pdf:
            if obj.awaits_ecert:
                return _("未生成（导入的原有证书）")
            return obj.render_error or _("生成中")
        return format_html(
            '<a href="{}">{}</a>', reverse("certificates:staff_pdf", args=[obj.pk]), _("下载预览")
        )

    def _status_action(self, request, queryset, label, fn, to):
        def apply(certificate, reason):
            # The service repeats a change as "nothing to do"; reported as such here, not as a
            # success that would suggest the reason typed was recorded.
            if certificate.status == to:
                raise DomainError(
                    _("证书已是“%(status)s”状态，未变更。")
                    % {"status": CertificateStatus(to).label},
                    code="unchanged",
                )
            return fn(certificate=certificate, actor=request.user, reason=reason)

        return with_reason(
            self,
            request,
            queryset,
            label,
            apply,
            help_text=_("持证人会在“我的证书”中看到这段文字，请写明依据"),
        )

    @admin.action(
        description=gettext_lazy("生成新版电子证照（导入的原有证书）"), permissions=["change"]
    )
    def generate_ecert(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("生成新版电子证照"),
            lambda c: services.certificate_generate_ecert(certificate=c, actor=request.user),
        )

    @admin.action(description=gettext_lazy("暂扣（填写原因）"), permissions=["change"])
    def suspend(self, request, queryset):
        return self._status_action(
            request, queryset, _("暂扣"), services.certificate_suspend, CertificateStatus.SUSPENDED
        )

    @admin.action(description=gettext_lazy("发还（解除暂扣）"), permissions=["change"])
    def lift(self, request, queryset):
        return self._status_action(
            request,
            queryset,
            _("发还"),
            services.certificate_lift_suspension,
            CertificateStatus.VALID,
        )

    @admin.action(description=gettext_lazy("吊销（填写原因）"), permissions=["change"])
    def revoke(self, request, queryset):
        return self._status_action(
            request, queryset, _("吊销"), services.certificate_revoke, CertificateStatus.REVOKED
        )

    @admin.action(description=gettext_lazy("撤销（填写原因）"), permissions=["change"])
    def withdraw(self, request, queryset):
        return self._status_action(
            request, queryset, _("撤销"), services.certificate_withdraw, CertificateStatus.WITHDRAWN
        )

    @admin.action(description=gettext_lazy("注销（填写原因）"), permissions=["change"])
    def cancel(self, request, queryset):
        return self._status_action(
            request, queryset, _("注销"), services.certificate_cancel, CertificateStatus.CANCELLED
        )

    def get_urls(self):
        return [
            path(
                "find-by-id/",
                self.admin_site.admin_view(require_POST(self.find_by_id_number)),
                name="certificates_certificate_find_by_id",
            ),
            *super().get_urls(),
        ]

    def find_by_id_number(self, request):
        """Exact search by ID number through the blind index (POST: never in a URL)."""
        return applicants_admin.redirect_by_id_number(
            self,
            request,
            index_lookup="holder_id_index",
            not_found=_("未找到该身份证号码的证书（或不在您的管辖范围内）。"),
        )


@admin.register(CertificateRequest)
class CertificateRequestAdmin(admin.ModelAdmin):
    """Whose request, for what, with which result: what the authority decides on."""

    list_display = (
        "applicant_name",
        "masked_id",
        "trade",
        "ticket_number",
        "scores",
        "status",
        "created_at",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("application__ticket_number", "application__submitted_name")
    actions = ("approve", "reject")
    fields = (
        "applicant_name",
        "masked_id",
        "trade",
        "ticket_number",
        "session",
        "scores",
        "application",
        "status",
        "reason",
        "created_at",
        "decided_at",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        from exams.selectors import applications_visible_to

        return (
            super()
            .get_queryset(request)
            .filter(application__in=applications_visible_to(request.user))
            .select_related(
                "application__trade", "application__session", "application__applicant__profile"
            )
        )

    @admin.display(description=gettext_lazy("申报人"), ordering="application__submitted_name")
    def applicant_name(self, obj):
        application = obj.application
        profile = getattr(application.applicant, "profile", None)
        return application.submitted_name or (profile.name if profile else "—")

    @admin.display(description=gettext_lazy("公民身份号码"))
    def masked_id(self, obj):
        profile = getattr(obj.application.applicant, "profile", None)
        return mask_id_number(profile.id_number) if profile else "—"

    @admin.display(description=gettext_lazy("工种"))
    def trade(self, obj):
        return obj.application.trade.name

    @admin.display(description=gettext_lazy("准考证号"))
    def ticket_number(self, obj):
        return obj.application.ticket_number or "—"

    @admin.display(description=gettext_lazy("考试计划"))
    def session(self, obj):
        return obj.application.session or "—"

    @admin.display(description=gettext_lazy("成绩（理论/实操）"))
    def scores(self, obj):
        application = obj.application
        if application.absent:
            return _("缺考")
        return " / ".join(
            "—" if score is None else str(score)
            for score in (application.theory_score, application.practical_score)
        )

    def has_add_permission(self, request):
        return False

    @admin.action(description=gettext_lazy("签发"), permissions=["change"])
    def approve(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("签发"),
            lambda r: services.certificate_request_approve(request=r, actor=request.user),
        )

    @admin.action(description=gettext_lazy("不予签发（填写原因）"), permissions=["change"])
    def reject(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("不予签发"),
            lambda r, reason: services.certificate_request_reject(
                request=r, actor=request.user, reason=reason
            ),
        )


@admin.register(IssuableSession)
class IssuableSessionAdmin(admin.ModelAdmin):
    list_display = ("name", "trade", "authority", "theory_at", "status", "passed", "waiting")
    list_filter = ("trade",)
    actions = ("batch_issue",)

    def get_queryset(self, request):
        # The counts in one query with the page: a session done reads 待签发 0.
        passed = Q(applications__status="passed")
        return (
            sessions_visible_to(request.user)
            .filter(status="scores_published")
            .select_related("trade", "authority")
            .annotate(
                passed_count=Count("applications", filter=passed, distinct=True),
                waiting_count=Count(
                    "applications",
                    filter=passed
                    & Q(applications__certificate__isnull=True)
                    & ~services.certificate_refused("applications__"),
                    distinct=True,
                ),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("certificates.add_batchissue")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description=gettext_lazy("合格人数"))
    def passed(self, obj):
        return obj.passed_count

    @admin.display(description=gettext_lazy("待签发"))
    def waiting(self, obj):
        """Passed candidates with no certificate yet (those refused one are not waiting)."""
        return obj.waiting_count

    @admin.action(description=gettext_lazy("批量签发合格考生的证书"), permissions=["change"])
    def batch_issue(self, request, queryset):
        started = []
        for session in queryset:
            try:
                started.append(services.batch_issue_start(session=session, actor=request.user))
            except DomainError as exc:
                self.message_user(request, f"{session}: {exc.message}", messages.ERROR)
        if not started:
            return None
        if len(started) == 1:
            self.message_user(request, _("批量签发已开始。"), messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:certificates_batchissue_change", args=[started[0].pk])
            )
        # Several: each is named, and the list of batches shows them all (not the last alone).
        self.message_user(
            request,
            _("已开始 %(count)d 个批量签发：%(sessions)s。")
            % {
                "count": len(started),
                "sessions": "、".join(str(batch.session) for batch in started),
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:certificates_batchissue_changelist"))


@admin.register(BatchIssue)
class BatchIssueAdmin(admin.ModelAdmin):
    list_display = ("session", "status", "done", "total", "created_at", "finished_at")
    operator = user_as_text("actor", gettext_lazy("操作人"))
    readonly_fields = (
        "session",
        "operator",
        "status",
        "error",
        "progress",
        "result_table",
        "created_at",
        "finished_at",
    )

    def get_fields(self, request, obj=None):
        """The reason of a failure, on a batch that failed only."""
        return [f for f in self.readonly_fields if f != "error" or (obj and obj.error)]

    change_form_template = "admin/certificates/batchissue/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(session__in=sessions_visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("进度"))
    def progress(self, obj):
        return f"{obj.done} / {obj.total}"

    @admin.display(description=gettext_lazy("逐人结果"))
    def result_table(self, obj):
        # Passed candidates a batch leaves out (their certificate was refused) are listed with
        # why, so that the count of passes and the batch's total are reconciled on the page.
        reported = {r["ticket"] for r in obj.results or ()}
        refused = (
            services.batch_left_out(obj.session)
            .exclude(ticket_number__in=reported)  # tried by the batch, refused since
            .select_related("applicant__profile", "certificate_request")
            .order_by("ticket_number")
        )
        left_out = [
            {
                "ok": False,
                "ticket": application.ticket_number,
                "name": getattr(getattr(application.applicant, "profile", None), "name", ""),
                "number": "",
                "message": _("未纳入本批：已不予签发（%(reason)s）")
                % {"reason": application.certificate_request.reason or "—"},
            }
            for application in refused
        ]
        if not obj.results and not left_out:
            return "—"
        rows = format_html_join(
            "",
            "<tr class='{}'><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    "ok" if r["ok"] else "refused",
                    r["ticket"],
                    r["name"],
                    r["number"] or "—",
                    r["message"],
                )
                for r in [*(obj.results or []), *left_out]
            ),
        )
        return format_html(
            "<table id='batch-results'><thead><tr>"
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            _("准考证号"),
            _("姓名"),
            _("证书编号"),
            _("结果"),
            rows,
        )


# Correcting a person's name and ID number ------------------------------------------------
# The profile's admin is applicants'; the correction changes certificates too, so it lives
# here, a layer above, and extends that admin rather than having applicants call up.


class ProfileCorrectionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=30)
    id_number = forms.CharField(label=gettext_lazy("公民身份号码"), max_length=30)
    reason = forms.CharField(
        label=gettext_lazy("更正原因"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("例如：本人持身份证原件到窗口核验，原登记的号码有误。"),
    )


admin.site.unregister(Profile)


@admin.register(Profile)
class ProfileAdmin(applicants_admin.ProfileAdmin):
    """The applicants' read-only profile admin, plus the authority's correction page."""

    change_form_template = "admin/applicants/profile/change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:pk>/correct/",
                self.admin_site.admin_view(self.correct),
                name="applicants_profile_correct",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["may_correct"] = obj is not None and services.may_correct_profile(request.user, obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def correct(self, request, pk: int):
        profile = self.get_queryset(request).filter(pk=pk).first()
        if profile is None or not services.may_correct_profile(request.user, profile):
            raise Http404
        change_url = reverse("admin:applicants_profile_change", args=[profile.pk])
        if request.method == "POST":
            form = ProfileCorrectionForm(request.POST)
            if form.is_valid():
                try:
                    services.profile_correct(
                        profile=profile, actor=request.user, **form.cleaned_data
                    )
                except ValidationError as exc:
                    for field, problems in exc.message_dict.items():
                        for problem in problems:
                            form.add_error(field if field in form.fields else None, problem)
                except DomainError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, _("实名信息已更正。"), messages.SUCCESS)
                    return HttpResponseRedirect(change_url)
        else:
            form = ProfileCorrectionForm(initial={"name": profile.name})
        certificates = certificates_visible_to(request.user).filter(holder_id=profile.user_id)
        return TemplateResponse(
            request,
            "admin/applicants/profile/correct.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("更正实名信息：%(name)s") % {"name": profile.name},
                "profile": profile,
                "form": form,
                "certificates": certificates.order_by("pk"),
                "change_url": change_url,
            },
            status=400 if form.errors else 200,
        )
