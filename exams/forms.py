from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Institution, Trade

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class ApplicationForm(forms.Form):
    trade = forms.ModelChoiceField(
        label=_("报考工种"),
        queryset=Trade.objects.filter(is_active=True).select_related("authority"),
        empty_label="——",
    )
    assessment_institution = forms.ModelChoiceField(
        label=_("考核机构"),
        queryset=Institution.objects.filter(kind="assessment", is_active=True).select_related(
            "authority"
        ),
        empty_label="——",
    )
    training_institution = forms.ModelChoiceField(
        label=_("培训机构"),
        queryset=Institution.objects.filter(kind="training", is_active=True).select_related(
            "authority"
        ),
        required=False,
        empty_label="——",
        help_text=_("发证机关要求经培训机构初审的，请选择您参加培训的机构"),
    )

    def __init__(self, *args, fixed_trade=None, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_trade is not None:
            self.fields["trade"].disabled = True
            self.fields["trade"].initial = fixed_trade


class MedicalForm(forms.Form):
    file = forms.FileField(
        label=_("体检合格证明"),
        help_text=_(
            "县级以上医院出具，心电图、血常规报告和身体条件证明合成一个文件；"
            "JPG、PNG 或 PDF，不超过 5 MB"
        ),
    )
    exam_date = forms.DateField(
        label=_("体检日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("须在近 3 个月内"),
    )

    def __init__(self, *args, months: int = 3, **kwargs):
        super().__init__(*args, **kwargs)
        # The authority's own limit (Policy.medical_max_age_months), as eligibility checks it.
        self.fields["exam_date"].help_text = _("须在近 %(months)d 个月内") % {"months": months}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件超过上传上限 10 MB。"))
        return upload

    def clean_exam_date(self):
        value = self.cleaned_data["exam_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("体检日期不能晚于今天。"))
        return value


class WithdrawForm(forms.Form):
    """撤回 is final: the applicant ticks that they mean it (no script needed)."""

    confirm = forms.BooleanField(label=_("我已了解撤回后本次报名即终止、不能恢复，确认撤回"))
