import re

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .backends import looks_like_id_number
from .idcard import fold_id_text, parse_id_number
from .models import EducationLevel
from .uploads import MaterialKind
from .validators import validate_mobile, validate_plain_line

MAX_UPLOAD_BYTES = 10 * 1024 * 1024


# A run of 12 or more digits: longer than a mobile number, so an ID number or most of one (17
# digits are the whole number: the 18th is computed from them), however mistyped.
_LONG_DIGIT_RUN = re.compile(r"\d{12,}")


class LoginNameInput(forms.TextInput):
    """The login box: after a failed login it gives a mobile number or a staff name back to
    correct, but never an ID number, nor a mistyped one (the page would carry it, and a shared
    computer's page cache with it)."""

    def format_value(self, value):
        if self.withholds(value):
            return None
        return super().format_value(value)

    @staticmethod
    def withholds(value) -> bool:
        """Whether a typed login is not given back (an ID number, or what may be one)."""
        return bool(value) and bool(
            looks_like_id_number(str(value))
            or _LONG_DIGIT_RUN.search(re.sub(r"[\s-]", "", fold_id_text(str(value))))
        )


# Said wherever a typed ID number is not written back, so that an empty box is not a mystery.
WITHHELD = _("为保护个人信息，您填写的号码没有保留在页面上，请重新填写。")


class RegisterForm(forms.Form):
    login = forms.CharField(
        label=_("手机号码或身份证号码"),
        max_length=30,  # room for spaces between an ID number's groups, which are dropped
        help_text=_("用作登录账号：11 位手机号码，或 18 位公民身份号码"),
        # No numeric keypad: an ID number may end in X. An ID number is never written back
        # into the page after an error (a shared computer keeps pages). autocomplete=username,
        # as on the login page: a password manager keeps the login only if the person asks.
        widget=LoginNameInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label=_("电子邮箱（选填）"),
        required=False,
        help_text=_("用于找回密码和接收通知"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        help_text=_(
            "至少 8 位，不能全是数字，不能含有身份证号码中连续 6 位（如出生日期），不能过于简单"
        ),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("确认密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_login(self) -> str:
        """The mobile number, or the ID number as 18 characters (checked as the profile checks
        it); every mistake is named (the service checks it again, with whether it is taken)."""
        value = self.cleaned_data["login"]
        folded = fold_id_text(value).replace("-", "")
        # A mobile number as it is often written too: +86 138-0000-0000.
        mobile = re.sub(r"^\+?86(?=1\d{10}$)", "", folded)
        if len(mobile) != 11 and (len(folded) >= 15 or "X" in folded):
            return parse_id_number(value).number  # an ID number, read (and refused) as one
        try:
            validate_mobile(mobile)
        except ValidationError:
            if mobile.isdigit() and len(mobile) > 11:  # 12 to 14 digits: say how many
                raise ValidationError(
                    _(
                        "请填写 11 位手机号码（以 1 开头），或 18 位身份证号码；"
                        "您填写了 %(count)d 位数字。"
                    )
                    % {"count": len(mobile)},
                    code="invalid_login",
                ) from None
            raise ValidationError(
                _("请填写 11 位手机号码（以 1 开头），或 18 位身份证号码。"), code="invalid_login"
            ) from None
        return mobile

    @property
    def registers_by_id_number(self) -> bool:
        return looks_like_id_number(self.cleaned_data.get("login"))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


class WithheldLoginMixin:
    """A refused login (a wrong password, an empty one, a locked account) whose name is not
    given back says why the box is empty."""

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self.errors and LoginNameInput.withholds(self.data.get("username")):
            self.add_error(None, WITHHELD)


class LoginForm(WithheldLoginMixin, AuthenticationForm):
    username = forms.CharField(
        label=_("手机号或身份证号"),
        max_length=150,
        widget=LoginNameInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": _("账号或密码不正确。连续多次错误后将暂时锁定，请注意核对。"),
        "inactive": _("该账号已停用，请联系发证机关。"),
    }


class StaffLoginForm(WithheldLoginMixin, AdminAuthenticationForm):
    """The admin's login form, with the same login box."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        widget = self.fields["username"].widget
        self.fields["username"].widget = LoginNameInput(attrs=widget.attrs)


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=_("姓名"), max_length=30, help_text=_("与身份证一致，少数民族姓名中的间隔号请用“·”")
    )
    id_number = forms.CharField(
        label=_("公民身份号码"),
        max_length=30,  # room for spaces between the groups, which are dropped
        help_text=_("18 位身份证号码；出生日期和性别由号码自动得出"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    mobile = forms.CharField(
        label=_("手机号码"), max_length=11, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    education = forms.ChoiceField(
        label=_("文化程度"), choices=[("", "——"), *EducationLevel.choices]
    )
    employer_name = forms.CharField(
        label=_("工作单位（选填）"),
        max_length=100,
        required=False,
        validators=[validate_plain_line],
    )
    employer_credit_code = forms.CharField(
        label=_("单位统一社会信用代码（选填）"), max_length=18, required=False
    )
    address = forms.CharField(
        label=_("通讯地址（选填）"),
        max_length=200,
        required=False,
        validators=[validate_plain_line],
    )

    def __init__(
        self, *args, id_number_locked: bool = False, materials_locked: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        if id_number_locked:
            self.fields["id_number"].disabled = True
            self.fields["id_number"].help_text = _("已有报名记录，身份证号码不能修改")
        if materials_locked:
            for field in ("name", "education"):
                self.fields[field].disabled = True
                self.fields[field].help_text = _("报名审核中，暂不能修改")


class MaterialUploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(k, k.label) for k in MaterialKind if k != MaterialKind.MEDICAL],
        widget=forms.HiddenInput,
    )
    file = forms.FileField(label=_("选择文件"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("文件为 %(size).1f MB，超过上传上限 10 MB。") % {"size": upload.size / 1048576}
            )
        return upload
