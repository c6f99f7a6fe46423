"""The public lookup forms. None of them ever writes an ID number back into a page."""

from __future__ import annotations

import hashlib

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from applicants.idcard import parse_id_number
from certportal.forms_html import PlainTextInput

from .selectors import MAX_NUMBER_LENGTH

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
NAME_MAX_LENGTH = 30
TOO_LARGE = _("文件过大：电子证照 PDF 不超过 2 MB，本平台签发的证照一般只有一两百 KB。")


class NoEchoTextInput(PlainTextInput):
    """A text box that never renders its value back: a form redisplayed after a lookup or an
    error must not carry the ID number into the HTML (or a shared phone's page cache)."""

    def format_value(self, value):
        return None


class PersonLookupForm(forms.Form):
    """Name + ID number, sent by POST so the number never enters a URL or an access log."""

    name = forms.CharField(
        label=_("姓名"),
        max_length=NAME_MAX_LENGTH,
        widget=NoEchoTextInput(attrs={"autocomplete": "off"}),
    )
    id_number = forms.CharField(
        label=_("公民身份号码"),
        max_length=40,
        help_text=_("18 位身份证号码，末位 X 大小写均可"),
        widget=NoEchoTextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs):
        # Two forms on one page both have a ``name`` field: keep their element ids apart.
        kwargs.setdefault("auto_id", "person-%s")
        super().__init__(*args, **kwargs)

    def clean_id_number(self) -> str:
        """The normalised 18-character number (a 15-digit old number is upgraded)."""
        return parse_id_number(self.cleaned_data["id_number"]).number


class NumberLookupForm(forms.Form):
    """Certificate number + name (GET, as in ``/verify/?cert_no=…&name=…``: no ID number)."""

    cert_no = forms.CharField(
        label=_("证书编号"),
        max_length=40,
        help_text=_("证书上“编号”一栏，以省份简称开头"),
        widget=PlainTextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(
        label=_("姓名"),
        max_length=NAME_MAX_LENGTH,
        widget=PlainTextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "number-%s")
        super().__init__(*args, **kwargs)

    def clean_cert_no(self) -> str:
        value = "".join(self.cleaned_data["cert_no"].split())
        if len(value) > MAX_NUMBER_LENGTH:
            raise ValidationError(
                _("证书编号不超过 %(max)d 个字符。"),
                params={"max": MAX_NUMBER_LENGTH},
                code="cert_no_length",
            )
        return value


class UploadLookupForm(forms.Form):
    """A PDF to check byte for byte. Read once into a SHA-256 and forgotten: nothing stored."""

    file = forms.FileField(
        label=_("电子证照 PDF 文件"),
        help_text=_("不超过 2 MB。文件只用于计算校验值，不会保存。"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(TOO_LARGE, code="too_large")
        digest = hashlib.sha256()
        head = b""
        for chunk in upload.chunks():
            if len(head) < len(PDF_MAGIC):
                head += chunk[: len(PDF_MAGIC)]
            digest.update(chunk)
        if not head.startswith(PDF_MAGIC):
            raise ValidationError(
                _("这不是 PDF 文件。请上传本平台下载的电子证照 PDF 原件（不是照片或截图）。"),
                code="not_pdf",
            )
        self.cleaned_data["sha256"] = digest.hexdigest()
        return upload
