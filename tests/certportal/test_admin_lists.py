"""The staff lists' own drawing of Django's admin pieces matches Django's."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.utils import translation

from certificates.models import Certificate
from exams.models import ExamApplication
from renewals.models import ContinuingEducation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Certificate, ExamApplication, ContinuingEducation])
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_row_checkboxes_are_djangos_markup(model, language, certificate):
    """The rows' action checkboxes, drawn without the widget's templates, are what Django's
    CheckboxInput renders, name, value, class and the (escaped) label included."""
    model_admin = admin.site._registry[model]
    assert type(model_admin).action_checkbox is not admin.ModelAdmin.action_checkbox
    obj = {
        Certificate: certificate,
        ExamApplication: certificate.application,
        ContinuingEducation: ContinuingEducation(pk=7, holder_name="王<小>明", hours=8),
    }[model]
    with translation.override(language):
        ours = model_admin.action_checkbox(obj)
        djangos = admin.ModelAdmin.action_checkbox(model_admin, obj)
    assert ours == djangos and 'class="action-select"' in ours
