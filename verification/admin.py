from django.contrib import admin
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from certificates.models import Certificate
from exams.selectors import authorities_in_scope

from .models import LookupRecord


def _visible_certificates(user):
    """A lookup may have found certificates of several authorities (one person, two cities):
    staff see the lookup, and the numbers, of their own authorities only."""
    qs = Certificate.objects.only("pk", "number", "authority_id")
    if user.is_superuser:
        return qs
    return qs.filter(authority__in=authorities_in_scope(user))


@admin.register(LookupRecord)
class LookupRecordAdmin(admin.ModelAdmin):
    """Read-only: the record of public lookups is evidence, not data to edit."""

    list_display = ("created_at", "kind", "outcome", "client_address", "numbers", "id_hash_short")
    list_filter = ("kind", "outcome", "created_at")
    date_hierarchy = "created_at"
    # By certificate number only: an ID number must not travel in the admin's search URL.
    search_fields = ("=certificates__number",)
    fields = ("created_at", "kind", "outcome", "client_address", "id_hash", "numbers")
    readonly_fields = fields
    list_per_page = 50

    def get_queryset(self, request):
        qs = (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "certificates",
                    queryset=_visible_certificates(request.user),
                    to_attr="visible_certificates",
                )
            )
        )
        if request.user.is_superuser:
            return qs
        return qs.filter(certificates__authority__in=authorities_in_scope(request.user)).distinct()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("证书编号"))
    def numbers(self, obj):
        return "、".join(c.number for c in getattr(obj, "visible_certificates", [])) or "—"

    @admin.display(description=_("身份证号摘要"))
    def id_hash_short(self, obj):
        return f"{obj.id_hash[:12]}…" if obj.id_hash else "—"
