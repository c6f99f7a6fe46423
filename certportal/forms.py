from django import forms
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("原因"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text=_("申报人会看到这段文字，请写明需要补正的内容或不予受理的依据"),
    )
