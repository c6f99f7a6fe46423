import pytest
from django.contrib.admin.sites import site

from certportal.audit import audit_record
from certportal.models import AuditEvent
from exams.models import Trade


@pytest.mark.django_db
def test_audit_record_keeps_actor_object_states_reason_and_data(authority_staff):
    trade = Trade.objects.get(code="05")
    event = audit_record(
        actor=authority_staff,
        action="exams.trade.deactivated",
        obj=trade,
        from_state="active",
        to_state="inactive",
        reason="停考",
        data={"by": "test"},
    )
    event.refresh_from_db()
    assert event.actor == authority_staff
    assert event.content_type.model == "trade" and event.object_id == str(trade.pk)
    assert (event.from_state, event.to_state, event.reason) == ("active", "inactive", "停考")
    assert event.data == {"by": "test"}
    assert event.created_at is not None


@pytest.mark.django_db
def test_audit_record_without_user_is_the_system():
    from django.contrib.auth.models import AnonymousUser

    event = audit_record(actor=AnonymousUser(), action="certportal.system.test")
    assert event.actor is None and event.object_id == ""


def test_audit_events_are_read_only_in_the_admin(rf, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    model_admin = site._registry[AuditEvent]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
