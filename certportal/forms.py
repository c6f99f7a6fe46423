from django import forms
from django.utils.translation import gettext_lazy as _

from .pii import ID_NUMBER_IN_REASON, contains_id_number


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("原因"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text=_("申报人会看到这段文字，请写明需要补正的内容或不予受理的依据"),
    )

    def clean_reason(self) -> str:
        # The services refuse it too (certportal.pii.plain_reason); said here, the page comes
        # back with the text typed, to be corrected rather than typed again.
        reason = self.cleaned_data["reason"]
        if contains_id_number(reason):
            raise forms.ValidationError(ID_NUMBER_IN_REASON)
        return reason
