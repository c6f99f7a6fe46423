from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log. Staff see the events of the records they may see, and no others.

    Each record's own admin already scopes its list to the staff member's institution or
    authority: an event is shown when its object is in that list, through the same
    ``get_queryset``, so the log can never show more than the records' pages do. Events of a
    kind of record without an admin, or whose admin the member may not view, and events with
    no record at all (workers' reports) are for the operators (superusers) alone."""

    list_display = ("created_at", "action", "object_repr", "from_state", "to_state", "actor")
    list_filter = ("action", "content_type")
    search_fields = ("action", "object_id", "reason")
    list_select_related = ("actor", "content_type")
    raw_id_fields = ("actor",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(self._visible_objects(request))

    def _visible_objects(self, request) -> Q:
        visible = Q(pk__in=[])
        for model, model_admin in self.admin_site._registry.items():
            if model_admin is self or not model_admin.has_view_permission(request):
                continue
            ids = (
                model_admin.get_queryset(request)
                .order_by()
                .annotate(audit_object_id=Cast("pk", CharField()))
                .values("audit_object_id")
            )
            content_type = ContentType.objects.get_for_model(model)
            visible |= Q(content_type=content_type, object_id__in=ids)
        return visible

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
