"""Every action the code records reads as Chinese in the log: none is shown as its code
("考试计划：returned", "application：导出") on the list, its filter or a record's history."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from certportal.audit_labels import action_label

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("applicants", "certificates", "certportal", "exams", "renewals", "verification")
# action="app.subject.verb", audit_action="…", ACTION = "…", and f-strings ending in {…}.
LITERAL = re.compile(r'(?:action=|audit_action=|ACTION = )f?"([a-z_]+\.[a-z_]+\.[a-z_{}().]+)"')


# Recorded with no record (audit_record without obj): checked as such too.
RECORDLESS = {
    "exams.application.exported",
    "certificates.certificate.exported",
    "applicants.profile.id_conflict",
    "certportal.worker.ping",
}


def recorded_actions() -> set[str]:
    found = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found.update(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def expanded(action: str) -> list[str]:
    """A template's actions: every value its placeholder takes (a status, a conduct kind)."""
    if "{" not in action:
        return [action]
    app, subject, _verb = action.split(".")
    model = record_model(app, subject)
    names = {field.name for field in model._meta.get_fields()}
    values = []
    for field_name in ("status", "kind"):
        field = model._meta.get_field(field_name) if field_name in names else None
        if field is not None and field.choices:
            values += [value for value, _label in field.flatchoices]
    assert values, action
    return [f"{app}.{subject}.{value}" for value in values]


def record_model(app: str, subject: str):
    return next(
        (m for m in apps.get_app_config(app).get_models() if subject in m._meta.model_name), None
    )


def test_every_recorded_action_has_a_chinese_label():
    from certificates.models import CertificateStatus

    # A certificate's status change is recorded by the status's name (its values are
    # national codes): certificates/services/status.py.
    actions = recorded_actions() | {
        f"certificates.certificate.{status.name.lower()}" for status in CertificateStatus
    }
    assert len(actions) > 40  # the scan finds the code's actions
    unlabelled = []
    for template in sorted(actions):
        for action in expanded(template):
            app, subject, _verb = action.split(".")
            model = record_model(app, subject)
            # With the record's type, as most events are; without one, as an event naming no
            # record (an export of a filtered list, a refused ID number) is.
            types = {ContentType.objects.get_for_model(model) if model else None}
            if action in RECORDLESS:
                types.add(None)
            for content_type in types:
                label = action_label(action, content_type)
                if re.search(r"[A-Za-z]", label):
                    unlabelled.append((action, content_type, label))
    assert unlabelled == []
