from django.contrib import admin
from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext_lazy as _

from certificates.models import Certificate
from certportal.admin_lists import CappedCountPaginator
from exams.selectors import authority_ids_in_scope

from .models import LookupRecord


def _visible_certificates(user):
    """A lookup may have found certificates of several authorities (one person, two cities):
    staff see the lookup, and the numbers, of their own authorities only."""
    qs = Certificate.objects.only("pk", "number", "authority_id")
    if user.is_superuser:
        return qs
    return qs.filter(authority__in=authority_ids_in_scope(user))


@admin.register(LookupRecord)
class LookupRecordAdmin(admin.ModelAdmin):
    """Read-only: the record of public lookups is evidence, not data to edit.

    It grows with every public lookup, so nothing on the list reads the whole table: no date
    hierarchy (its distinct years scan every row; the 查验时间 filter asks nothing of the
    database), a count that stops at ``CappedCountPaginator.cap``, no unfiltered total, and
    the scope as a semi-join, not a join made distinct.
    """

    list_display = ("created_at", "kind", "outcome", "client_address", "numbers", "id_hash_short")
    list_filter = ("kind", "outcome", "created_at")
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # counts per choice: a pass over the scope each
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
        found_here = LookupRecord.certificates.through.objects.filter(
            lookuprecord=OuterRef("pk"),
            certificate__authority__in=authority_ids_in_scope(request.user),
        )
        return qs.filter(Exists(found_here))

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
