from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from .admin_actions import user_as_text
from .audit_labels import action_label, state_label
from .models import AuditEvent


class ActionFilter(admin.SimpleListFilter):
    """The actions of the events this member may see, by their labels."""

    title = _("动作")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        pairs = (
            model_admin.get_queryset(request)
            .order_by()
            .values_list("action", "content_type")
            .distinct()
        )
        types = ContentType.objects.in_bulk({ct for _a, ct in pairs if ct})
        labels = {}
        for action, content_type in pairs:
            labels.setdefault(action, action_label(action, types.get(content_type)))
        return sorted(labels.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class RecordTypeFilter(admin.SimpleListFilter):
    """Kinds of record with an admin page this member may open (not the framework's own)."""

    title = _("对象类型")
    parameter_name = "content_type"

    def lookups(self, request, model_admin):
        shown = []
        for model, other in model_admin.admin_site._registry.items():
            if other is model_admin or not other.has_view_permission(request):
                continue
            content_type = ContentType.objects.get_for_model(model)
            shown.append((str(content_type.pk), str(model._meta.verbose_name)))
        return sorted(shown, key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log. Staff see the events of the records they may see, and no others.

    Each record's own admin already scopes its list to the staff member's institution or
    authority: an event is shown when its object is in that list, through the same
    ``get_queryset``, so the log can never show more than the records' pages do. Events of a
    kind of record without an admin, or whose admin the member may not view, and events with
    no record at all (workers' reports) are for the operators (superusers) alone."""

    list_display = (
        "created_at",
        "action_text",
        "object_repr",
        "from_text",
        "to_text",
        "operator",
    )
    # object_repr: what the record was called then (a certificate's number, a plan's name).
    search_fields = ("object_repr", "action", "object_id", "reason")
    # The relations an ID-number account's masked login is read from (its operator column).
    list_select_related = ("actor__profile", "actor__id_number_login", "content_type")
    # Each of these would read the member's whole scope again (the events of every record they
    # may see: a provincial authority's certificates are counted in hundreds of thousands), so
    # the day is chosen by a filter that needs no query, instead of a date hierarchy (two
    # more), and the list counts the visible events once, not also the unfiltered total.
    list_filter = (("created_at", admin.DateFieldListFilter), ActionFilter, RecordTypeFilter)
    show_full_result_count = False
    fields = (
        "created_at",
        "operator",
        "action_text",
        "content_type",
        "object_id",
        "object_repr",
        "from_text",
        "to_text",
        "reason",
        "data",
    )
    readonly_fields = fields
    operator = user_as_text("actor", _("操作人"))

    @admin.display(description=_("动作"), ordering="action")
    def action_text(self, obj):
        return action_label(obj.action, obj.content_type)

    @admin.display(description=_("原状态"))
    def from_text(self, obj):
        return state_label(obj.content_type, obj.from_state)

    @admin.display(description=_("新状态"))
    def to_text(self, obj):
        return state_label(obj.content_type, obj.to_state)

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
