"""The audit events of one record, for its admin history page (templates/admin/object_history.html).

The history page is reached from the record's own page, which its admin has already scoped
to the staff member: the events of that record are theirs to read."""

from django import template
from django.contrib.contenttypes.models import ContentType

from certportal.audit_labels import action_label, state_label
from certportal.models import AuditEvent

register = template.Library()

SHOWN = 200


@register.simple_tag
def audit_events_for(obj):
    content_type = ContentType.objects.get_for_model(type(obj))
    events = (
        AuditEvent.objects.filter(content_type=content_type, object_id=str(obj.pk))
        .select_related("actor__profile", "actor__id_number_login")
        .order_by("-created_at", "-pk")[:SHOWN]
    )
    return [
        {
            "at": event.created_at,
            "actor": event.actor.staff_label() if event.actor else "",
            "action": action_label(event.action, content_type),
            "from": state_label(content_type, event.from_state),
            "to": state_label(content_type, event.to_state),
            "reason": event.reason,
        }
        for event in events
    ]
