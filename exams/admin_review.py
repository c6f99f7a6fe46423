"""Admin pages of the exam workflow: application review, sessions, scores."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from applicants.admin import _thumbnail, redirect_by_id_number
from applicants.models import Material
from applicants.selectors import shows_full_id_number
from applicants.uploads import MaterialKind
from certportal.admin_actions import (
    ServiceSaveAdmin,
    add_refusal,
    dry_run,
    error_text,
    import_page,
    run_each,
    user_as_text,
    with_reason,
)
from certportal.admin_lists import QuickCheckboxAdmin
from certportal.errors import DomainError

from . import services
from .admin_filters import AssessmentInstitutionFilter, SessionFilter, TrainingInstitutionFilter
from .exports import export_applications_xlsx
from .models import ExamApplication, ExamSession, Institution, Trade
from .selectors import (
    applications_visible_to,
    eligibility_report,
    is_training_staff,
    membership_of,
    scores_visible_to,
    scoring_waits_for,
    sessions_visible_to,
)
from .services.sessions import local_minute
from .services.tickets import tickets_render_again

A = ExamApplication.Status
SCORE_FIELDS = ("theory_score", "practical_score", "absent")


def _submitted_link(application, kind: str, kept) -> str:
    """A kept copy as a thumbnail linking to the file (a PDF as a link only)."""
    url = reverse("exams:staff_submitted_material", args=[application.pk, kind, "file"])
    if kind == "photo":
        image = url
    elif kept.thumbnail:
        image = reverse("exams:staff_submitted_material", args=[application.pk, kind, "thumb"])
    else:
        label = _("查看 PDF") if kept.content_type == "application/pdf" else _("查看文件")
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="120" alt="{}"></a>',
        url,
        image,
        MaterialKind(kind).label,
    )


@admin.register(ExamApplication)
class ExamApplicationAdmin(QuickCheckboxAdmin, admin.ModelAdmin):
    list_display = (
        "number",
        "applicant_name",
        "trade",
        "status",
        "assessment_institution",
        "training_institution",
        "session",
        "ticket_number",
        "submitted_at",
    )
    # The institutions and sessions from their own tables for an authority's staff, not a
    # DISTINCT over every application in scope (exams.admin_filters); no unfiltered total.
    list_filter = (
        "status",
        "trade",
        ("assessment_institution", AssessmentInstitutionFilter),
        ("training_institution", TrainingInstitutionFilter),
        ("session", SessionFilter),
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counts per choice: a pass over the scope each
    search_fields = ("ticket_number", "applicant__profile__name", "applicant__profile__mobile")
    list_select_related = (
        "trade",
        "assessment_institution",
        "training_institution",
        "session",
        "applicant__profile",
    )
    raw_id_fields = ("applicant", "session", "medical_certificate")
    actions = (
        "approve",
        "return_for_correction",
        "reject",
        "assign_to_session",
        "render_tickets_again",
        export_applications_xlsx,
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "applicant_name",
                    "applicant_id_number",
                    "trade",
                    "status",
                    "status_reason",
                )
            },
        ),
        (
            gettext_lazy("机构"),
            {"fields": ("authority", "assessment_institution", "training_institution")},
        ),
        (gettext_lazy("材料"), {"fields": ("materials", "medical", "medical_exam_date")}),
        (gettext_lazy("报名条件"), {"fields": ("eligibility",)}),
        (
            gettext_lazy("考试"),
            {
                "fields": (
                    "session",
                    "ticket_number",
                    "ticket_error",
                    "theory_score",
                    "practical_score",
                    "absent",
                )
            },
        ),
        (
            gettext_lazy("时间"),
            {"fields": ("submitted_at", "approved_at", "created_at", "updated_at")},
        ),
    )

    change_list_template = "admin/exams/examapplication/change_list.html"
    change_form_template = "admin/exams/examapplication/change_form.html"

    def get_queryset(self, request):
        return applications_visible_to(request.user).select_related("applicant__profile")

    def get_urls(self):
        return [
            path(
                "find-by-id/",
                self.admin_site.admin_view(require_POST(self.find_by_id_number)),
                name="exams_examapplication_find_by_id",
            ),
            *super().get_urls(),
        ]

    def find_by_id_number(self, request):
        """A person's applications by their ID number (the profile's blind index)."""
        return redirect_by_id_number(
            self,
            request,
            index_lookup="applicant__profile__id_number_index",
            not_found=_("未找到该身份证号码的报名（或不在您的管辖范围内）。"),
        )

    def get_fieldsets(self, request, obj=None):
        """The ticket's failure, on an application whose ticket failed only; the scores to
        a training institution once the session's scores are published only."""
        hidden = set()
        if obj is None or not obj.ticket_error:
            hidden.add("ticket_error")
        if obj is not None and not scores_visible_to(request.user, obj):
            hidden |= set(SCORE_FIELDS)
        return [
            (title, {**options, "fields": [f for f in options["fields"] if f not in hidden]})
            for title, options in self.fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        return [f for fs in self.get_fieldsets(request, obj) for f in fs[1]["fields"]]

    def lookup_allowed(self, lookup, value, request=None):
        # Local fields may always be filtered on in the address (?theory_score__lt=60): not
        # the scores by training staff, who may not read them before publication (a filter
        # spans sessions, published or not, so it is refused outright; the pages show them).
        if lookup.split("__")[0] in SCORE_FIELDS and is_training_staff(
            getattr(request, "user", None)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The decisions a reviewer takes from an application's own page, after reading its
    # materials there (they were only in the list's action menu): the list's own actions,
    # posted to the list for this one application, so that the same rules, reason page and
    # messages apply; offered to whoever takes the review it waits for (services.reviews_now).
    REVIEW_ACTIONS = ("approve", "return_for_correction", "reject")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only: decisions are the list's actions, so no 保存 buttons.
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and services.reviews_now(obj, request.user):
            actions = self.get_actions(request)
            context["review_actions"] = [
                (name, actions[name][2]) for name in self.REVIEW_ACTIONS if name in actions
            ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.display(description=gettext_lazy("编号"), ordering="pk")
    def number(self, obj):
        return obj.pk

    @admin.display(description=gettext_lazy("申报人"), ordering="applicant__profile__name")
    def applicant_name(self, obj):
        profile = getattr(obj.applicant, "profile", None)
        return profile.name if profile else str(obj.applicant)  # an ID login masked

    @admin.display(description=gettext_lazy("公民身份号码"))
    def applicant_id_number(self, obj):
        # Reviewers compare the number with the ID card scan: shown in full on this page only,
        # and to an institution's staff only while the application is under review.
        profile = getattr(obj.applicant, "profile", None)
        if profile is None:
            return "—"
        full = getattr(obj, "full_id_number_shown", False)
        return profile.id_number if full else profile.masked_id_number

    def get_object(self, request, object_id, from_field=None):
        # Whether the number is shown in full, read here: a display method gets no request.
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # An institution's staff: while this application waits for their review only;
            # others as on the profile (the authority's staff in their scope).
            membership = membership_of(request.user)
            obj.full_id_number_shown = (
                services.reviews_now(obj, request.user)
                if membership is not None and membership.institution_id
                else shows_full_id_number(request.user, obj.applicant_id)
            )
        return obj

    @admin.display(description=gettext_lazy("实名材料"))
    def materials(self, obj):
        """The copies the last submission was reviewed with; the profile's current files only
        for an application submitted before copies were kept."""
        cell = '<div style="display:inline-block;margin-right:1rem">{}<br>{}</div>'
        kept = list(obj.submitted_materials.all())
        if kept:  # every submission since they were kept has them (eligibility needs both)
            items = []
            if obj.submitted_photo:
                items.append((MaterialKind.PHOTO.label, _submitted_link(obj, "photo", None)))
            items += [(m.get_kind_display(), _submitted_link(obj, m.kind, m)) for m in kept]
            return format_html(
                "{}<p class='help'>{}</p>",
                format_html_join("", cell, items),
                _("以上为提交审核时的材料。"),
            )
        items = Material.objects.filter(owner_id=obj.applicant_id, kind__in=Material.PROFILE_KINDS)
        return (
            format_html_join("", cell, ((m.get_kind_display(), _thumbnail(m, 120)) for m in items))
            or "—"
        )

    @admin.display(description=gettext_lazy("体检合格证明"))
    def medical(self, obj):
        return _thumbnail(obj.medical_certificate, 120) if obj.medical_certificate_id else "—"

    @admin.display(description=gettext_lazy("报名条件核对"))
    def eligibility(self, obj):
        """The rules as they stand today, while the application waits for a review decision.
        Once decided, today's facts (a medical certificate grown old, the certificate this
        very application brought) say nothing about the decision, and would read as refusals."""
        if obj.status not in (A.SUBMITTED, A.INSTITUTION_APPROVED):
            return _("报名条件已在提交时和审核通过时核对；审核结束后不再按当前情况核对。")
        checks = eligibility_report(obj)
        return format_html(
            "<ul style='margin:0;padding-left:1rem'>{}</ul>",
            format_html_join(
                "",
                "<li style='color:{}'>{} {}</li>",
                (
                    ("#116b2f" if c.passed else "#a4161a", "✓" if c.passed else "✗", c.message)
                    for c in checks
                ),
            ),
        )

    @admin.action(description=gettext_lazy("审核通过"), permissions=["change"])
    def approve(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("审核通过"),
            lambda a: services.application_review_approve(application=a, actor=request.user),
        )

    @admin.action(description=gettext_lazy("退回补正（填写原因）"), permissions=["change"])
    def return_for_correction(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("退回补正"),
            lambda a, reason: services.application_return(
                application=a, actor=request.user, reason=reason
            ),
        )

    @admin.action(description=gettext_lazy("不予受理（填写原因）"), permissions=["change"])
    def reject(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("不予受理"),
            lambda a, reason: services.application_reject(
                application=a, actor=request.user, reason=reason
            ),
        )

    @admin.action(description=gettext_lazy("重新生成准考证"), permissions=["change"])
    def render_tickets_again(self, request, queryset):
        sent = tickets_render_again(applications=queryset, actor=request.user)
        if sent:
            self.message_user(
                request,
                ngettext(
                    "已重新提交 %(n)d 份准考证的生成。", "已重新提交 %(n)d 份准考证的生成。", sent
                )
                % {"n": sent},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, _("所选报名中没有已安排考试、尚无准考证的。"), messages.WARNING
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        membership = membership_of(request.user)
        institution = membership.institution if membership else None
        if institution is not None and institution.kind == Institution.Kind.TRAINING:
            # Candidates are placed on a plan by its assessment institution or authority
            # (services.session_assign): offered here, the action showed an empty list.
            actions.pop("assign_to_session", None)
        return actions

    @admin.action(description=gettext_lazy("安排到考试计划"), permissions=["change"])
    def assign_to_session(self, request, queryset):
        sessions = sessions_visible_to(request.user).filter(status=ExamSession.Status.APPROVED)

        class SessionForm(forms.Form):
            session = forms.ModelChoiceField(label=_("考试计划"), queryset=sessions)

        form = SessionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                result = services.session_assign(
                    session=form.cleaned_data["session"],
                    actor=request.user,
                    applications=list(queryset),
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
            self.message_user(
                request,
                _("已安排 %(count)d 人。") % {"count": len(result.assigned)},
                messages.SUCCESS,
            )
            for application, why in result.skipped:
                self.message_user(request, f"{application}: {why}", messages.WARNING)
            return None
        return TemplateResponse(
            request,
            "admin/reason.html",
            {
                **self.admin_site.each_context(request),
                "title": _("安排到考试计划"),
                "form": form,
                "queryset": queryset,
                "action": "assign_to_session",
                "opts": self.model._meta,
            },
        )


RESCHEDULABLE = ("theory_at", "practical_at", "venue")


def _authority_staff(user) -> bool:
    if user.is_superuser:
        return True
    membership = membership_of(user)
    return bool(membership and membership.authority_id)


class CandidateInline(admin.TabularInline):
    model = ExamApplication
    fk_name = "session"
    extra = 0
    can_delete = False
    fields = ("ticket_number", "candidate", "status", "theory_score", "practical_score", "absent")
    readonly_fields = ("ticket_number", "candidate", "status")
    verbose_name = gettext_lazy("考生")
    verbose_name_plural = gettext_lazy("考生与成绩")

    @admin.display(description=gettext_lazy("姓名"))
    def candidate(self, obj):
        profile = getattr(obj.applicant, "profile", None)
        return profile.name if profile else "—"

    def get_queryset(self, request):
        # Only the candidates whose applications the user may see: a training institution that
        # proposed the plan sees its own trainees, not those of other schools.
        return (
            super()
            .get_queryset(request)
            .select_related("applicant__profile")
            .filter(pk__in=applications_visible_to(request.user).values("pk"))
        )

    def get_fields(self, request, obj=None):
        if is_training_staff(request.user) and (
            obj is None or obj.status != ExamSession.Status.SCORES_PUBLISHED
        ):
            return ("ticket_number", "candidate", "status")  # no scores before publication
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Scores are entered by the assessment institution or the authority, once the exam has
        # begun (the practical score once the practical exam has); a training institution that
        # proposed the plan sees its candidates only.
        if (
            obj is None
            or obj.status != ExamSession.Status.APPROVED
            or is_training_staff(request.user)
        ):
            return self.fields
        waiting = scoring_waits_for(obj)
        if waiting is None:
            return self.readonly_fields
        if waiting[0] == "practical":
            return (*self.readonly_fields, "practical_score")
        return self.fields

    def get_formset(self, request, obj=None, **kwargs):
        base = super().get_formset(request, obj, **kwargs)

        class ScoreFormSet(base):
            """Each changed row is tried through score_record first (rolled back), so a
            refused score shows on its row and no score of the form is saved."""

            def clean(formset):
                super().clean()
                for row in formset.forms:
                    if row.has_changed() and not row.errors:
                        try:
                            dry_run(lambda row=row: record_score(request.user, row))
                        except (DomainError, ValidationError) as exc:
                            add_refusal(row, exc)

        return ScoreFormSet


def record_score(actor, row):
    """A row of the session page's scores; a column shown read-only (the practical score
    before the practical exam) keeps its stored value rather than reading as empty."""
    data, stored = row.cleaned_data, row.instance
    return services.score_record(
        application=stored,
        actor=actor,
        theory=data.get("theory_score", stored.theory_score),
        practical=data.get("practical_score", stored.practical_score),
        absent=bool(data.get("absent", stored.absent)),
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("成绩文件（CSV 或 XLSX）"))
    report_csv = forms.BooleanField(
        label=gettext_lazy("有错误时下载错误报告（CSV）"), required=False
    )


@admin.register(ExamSession)
class ExamSessionAdmin(ServiceSaveAdmin, admin.ModelAdmin):
    list_display = (
        "name",
        "trade",
        "assessment_institution",
        "theory_at",
        "capacity",
        "candidates",
        "status",
    )
    list_filter = ("status", "trade", ("assessment_institution", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "venue")
    list_select_related = ("trade", "assessment_institution", "authority")
    inlines = (CandidateInline,)
    actions = ("submit", "approve", "return_to_draft", "assign", "publish")

    def get_actions(self, request):
        """Only what the member may do: an institution's staff neither approve a plan nor
        publish its scores (the authority's), and a training institution places no
        candidates (a plan's assessment institution or authority does); offered, each was
        refused with "您无权…" on every use."""
        actions = super().get_actions(request)
        membership = membership_of(request.user)
        institution = membership.institution if membership else None
        if institution is not None:
            actions.pop("approve", None)
            actions.pop("publish", None)
            if institution.kind == Institution.Kind.TRAINING:
                actions.pop("assign", None)
        return actions

    fields = (
        "name",
        "trade",
        "assessment_institution",
        "theory_at",
        "practical_at",
        "venue",
        "capacity",
        "status",
        "return_reason",
        "authority",
        "training_institution",
        "creator",
        "published_at",
    )
    change_form_template = "admin/exams/examsession/change_form.html"
    creator = user_as_text("created_by", gettext_lazy("创建人"))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "capacity" and field is not None:
            # One rule in one sentence, as the service says it: the positive-integer field's
            # own minimum (0) had answered -5 with "≥ 0" and 0 with "≥ 1".
            field.min_value = 1
            field.widget.attrs["min"] = 1
            field.validators = [v for v in field.validators if v.code != "min_value"]
            field.validators.append(MinValueValidator(1, _("容量至少为 1 人。")))
        return field

    def get_queryset(self, request):
        return sessions_visible_to(request.user)

    def get_fields(self, request, obj=None):
        """Why the plan came back, on a plan that came back only."""
        if obj is not None and obj.return_reason:
            return self.fields
        return [f for f in self.fields if f != "return_reason"]

    def get_readonly_fields(self, request, obj=None):
        fixed = (
            "status",
            "return_reason",
            "authority",
            "training_institution",
            "creator",
            "published_at",
        )
        if obj is None:
            return fixed
        if obj.status == ExamSession.Status.APPROVED and _authority_staff(request.user):
            # The exam moves: its authority changes the times or the venue (session_reschedule).
            return [f for f in self.fields if f not in RESCHEDULABLE]
        if obj.status != ExamSession.Status.DRAFT:
            return self.fields
        return (*fixed, "trade", "assessment_institution")

    def has_delete_permission(self, request, obj=None):
        # A draft no one is scheduled on, from its own page (a plan saved twice stayed for
        # ever); no bulk deletion.
        return (
            obj is not None
            and obj.status == ExamSession.Status.DRAFT
            and not obj.applications.exists()
            and self.has_change_permission(request, obj)
        )

    def delete_model(self, request, obj):
        services.session_delete(session=obj, actor=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:  # submitted or given candidates meanwhile: rolled back
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:exams_examsession_change", args=[object_id]))

    @admin.display(description=gettext_lazy("已安排"))
    def candidates(self, obj):
        return obj.applications.count()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assessment_institution" and not request.user.is_superuser:
            membership = membership_of(request.user)
            qs = db_field.related_model.objects.filter(kind="assessment")
            if membership and membership.institution_id:
                institution = membership.institution
                if institution.kind == "training":
                    # A training institution proposes a plan to an assessment institution of
                    # its own authority (services.session_create).
                    kwargs["queryset"] = qs.filter(
                        authority_id=institution.authority_id, is_active=True
                    )
                else:
                    kwargs["queryset"] = qs.filter(pk=membership.institution_id)
            elif membership:
                kwargs["queryset"] = qs.filter(authority__in=self._authorities(request))
            else:
                kwargs["queryset"] = qs.none()
        if db_field.name == "trade" and not request.user.is_superuser:
            # The trades the plan's authority examines: the national ones and its province's
            # own (a Fujian code-99 trade offered in Ningbo was refused only on saving).
            from .selectors import trades_for

            membership = membership_of(request.user)
            authority = membership and (
                membership.authority or getattr(membership.institution, "authority", None)
            )
            kwargs["queryset"] = trades_for(authority) if authority else Trade.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _authorities(self, request):
        from .selectors import authorities_in_scope

        return authorities_in_scope(request.user)

    def save_via_service(self, request, obj, data, change):
        data = {k: v for k, v in data.items() if k in self.fields}
        if change and obj.status == ExamSession.Status.APPROVED:
            return services.session_reschedule(
                session=obj, actor=request.user, **{k: data[k] for k in RESCHEDULABLE}
            )
        if change:
            return services.session_update(session=obj, actor=request.user, **data)
        return services.session_create(actor=request.user, **data)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        """Score entry: every changed row goes through score_record (same rules as import);
        the formset has already tried each one, so a refusal here is a race and is reported."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed():
                continue
            try:
                record_score(request.user, row)
            except (DomainError, ValidationError) as exc:
                self.message_user(
                    request, f"{row.instance.ticket_number}: {error_text(exc)}", messages.ERROR
                )
            else:
                formset.changed_objects.append((row.instance, row.changed_data))

    @admin.action(description=gettext_lazy("报审"), permissions=["change"])
    def submit(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("报审"),
            lambda s: services.session_submit(session=s, actor=request.user),
        )

    @admin.action(description=gettext_lazy("批准"), permissions=["change"])
    def approve(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("批准"),
            lambda s: services.session_approve(session=s, actor=request.user),
        )

    @admin.action(description=gettext_lazy("退回修改（填写原因）"), permissions=["change"])
    def return_to_draft(self, request, queryset):
        return with_reason(
            self,
            request,
            queryset,
            _("退回修改"),
            # A draft already is where a return leads: run_each says so (not "成功").
            lambda session, reason: services.session_return(
                session=session, actor=request.user, reason=reason
            ),
            help_text=_("考试计划的制定人会看到这段文字，请写明需要修改的内容"),
        )

    @admin.action(description=gettext_lazy("按审核通过顺序安排考生"), permissions=["change"])
    def assign(self, request, queryset):
        def assign_one(session):
            result = services.session_assign(session=session, actor=request.user)
            if not result.assigned:
                # Nobody placed is no success ("成功 1 条" after "安排 0 人" said otherwise).
                raise DomainError(
                    _("考试计划已满，未安排任何考生。")
                    if result.skipped
                    else _("没有待安排的审核通过考生，未安排任何人。"),
                    code="unchanged",
                )
            self.message_user(
                request,
                _("%(session)s：安排 %(count)d 人。")
                % {"session": session, "count": len(result.assigned)},
                messages.INFO,
            )
            if result.skipped:
                # Only a full session leaves candidates out here: say how many still wait.
                self.message_user(
                    request,
                    _("%(session)s：考试计划已满，另有 %(count)d 名审核通过的考生未安排。")
                    % {"session": session, "count": len(result.skipped)},
                    messages.WARNING,
                )

        run_each(self, request, queryset, _("安排考生"), assign_one)

    @admin.action(description=gettext_lazy("发布成绩"), permissions=["change"])
    def publish(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            _("发布成绩"),
            lambda s: services.session_publish_scores(session=s, actor=request.user),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        session = self.get_object(request, object_id)
        scores = (
            session is not None
            and session.status == ExamSession.Status.APPROVED
            and services.may_enter_scores(request.user, session)
        )
        # The import and the note only for those who may enter scores (a training
        # institution's planner saw both, and was refused on uploading).
        extra_context = {**(extra_context or {}), "may_enter_scores": scores}
        waiting = scoring_waits_for(session) if scores else None
        if waiting is not None:
            exam, begins = waiting
            opens = (
                _("理论考核开始（%(time)s）后方可录入成绩和缺考。")
                if exam == "theory"
                else _("实操考核开始（%(time)s）后方可录入实操成绩。")
            )
            extra_context = {
                **(extra_context or {}),
                "scoring_opens": opens % {"time": local_minute(begins)},
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/import-scores/",
                self.admin_site.admin_view(self.import_scores),
                name="exams_examsession_import_scores",
            ),
            *super().get_urls(),
        ]

    def import_scores(self, request, pk: int):
        session = self.get_queryset(request).filter(pk=pk).first()
        if session is None or not self.has_change_permission(request, session):
            raise Http404
        return import_page(
            self,
            request,
            form_class=ImportForm,
            run=lambda data, filename: services.score_import(
                session=session, actor=request.user, data=data, filename=filename
            ),
            done_message=_("已导入 %(count)d 名考生的成绩。"),
            done_url=reverse("admin:exams_examsession_change", args=[session.pk]),
            template="admin/exams/examsession/import_scores.html",
            title=_("导入成绩：%(session)s") % {"session": session},
            session=session,
        )
