from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "object_repr", "from_state", "to_state", "actor")
    list_filter = ("action", "content_type")
    search_fields = ("action", "object_id", "reason")
    list_select_related = ("actor", "content_type")
    raw_id_fields = ("actor",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
