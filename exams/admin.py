from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Authority, Institution, Policy, StaffMembership, Trade
from .selectors import authorities_in_scope, membership_of


class AuthorityScopedAdmin(admin.ModelAdmin):
    """Rows limited to the staff member's authority (and its cities); superusers see all.

    ``authority_field`` names the path from the model to its Authority.
    """

    authority_field = "authority"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        membership = membership_of(request.user)
        if membership is not None and membership.institution_id:
            return qs.filter(**{f"{self.authority_field}__institutions": membership.institution_id})
        return qs.filter(**{f"{self.authority_field}__in": authorities_in_scope(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "authority" and not request.user.is_superuser:
            kwargs["queryset"] = authorities_in_scope(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ("name", "level", "abbreviation", "city_letter", "region_code", "credit_code")
    list_filter = ("level", "is_active")
    search_fields = ("name", "province_name", "region_code", "credit_code")
    list_select_related = ("parent",)


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("code", "old_code", "name", "authority", "is_active")
    list_filter = ("is_active", ("authority", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "old_code", "name")
    list_select_related = ("authority",)


@admin.register(Institution)
class InstitutionAdmin(AuthorityScopedAdmin):
    list_display = ("name", "kind", "authority", "offers_continuing_education", "is_active")
    list_filter = ("kind", "offers_continuing_education", "is_active")
    search_fields = ("name", "credit_code")
    list_select_related = ("authority",)


@admin.register(Policy)
class PolicyAdmin(AuthorityScopedAdmin):
    list_display = (
        "authority",
        "min_age",
        "theory_pass_mark",
        "practical_pass_mark",
        "validity_years",
        "ce_hours_required",
    )
    list_select_related = ("authority",)

    def get_queryset(self, request):
        """A city's staff also read their province's policy, which governs them where the
        city has none of its own (policy_for); they may not change it."""
        qs = super().get_queryset(request)
        membership = membership_of(request.user)
        authority = membership.authority if membership is not None else None
        if request.user.is_superuser or authority is None or authority.parent_id is None:
            return qs
        return qs | Policy.objects.filter(authority_id=authority.parent_id)

    def has_change_permission(self, request, obj=None):
        if (
            obj is not None
            and not request.user.is_superuser
            and not authorities_in_scope(request.user).filter(pk=obj.authority_id).exists()
        ):
            return False
        return super().has_change_permission(request, obj)

    fieldsets = (
        (None, {"fields": ("authority",)}),
        (
            _("报名条件"),
            {"fields": ("min_age", "female_max_age", "min_education", "medical_max_age_months")},
        ),
        (
            _("审核与考核"),
            {"fields": ("uses_training_institution", "theory_pass_mark", "practical_pass_mark")},
        ),
        (
            _("证书与延续"),
            {
                "fields": (
                    "validity_years",
                    "renewal_window_days",
                    "ce_hours_required",
                    "renewal_correction_working_days",
                    "violations_refuse_at",
                    "violations_lookback_years",
                )
            },
        ),
        (
            _("材料规则"),
            {
                "fields": (
                    "photo_min_kb",
                    "photo_max_kb",
                    "id_scan_max_long_px",
                    "id_scan_max_short_px",
                    "education_proof_max_mb",
                )
            },
        ),
    )


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "authority", "institution")
    search_fields = ("user__username", "authority__name", "institution__name")
    list_select_related = ("user", "authority", "institution")
    raw_id_fields = ("user",)


from . import admin_review  # noqa: E402, F401  (registers the workflow admin pages)
