from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RenewalApplication

# The commitments of the Zhejiang walk-through (本人承诺), in its words: the health
# declaration, then its list of 无下列情形 split over the three other boxes SPEC 4.6 names
# (no accident, fewer than 3 violations, training), the last with the truthfulness pledge.
DECLARATIONS = (
    (
        "declare_health",
        _(
            "经二乙级医院体检合格。无听觉障碍、无色盲；双眼裸视力在 4.8 以上，"
            "且矫正视力在 5.0 以上（建筑电工、建筑起重机械司机矫正视力在 5.0 以上）；"
            "无妨碍从事本职工作的疾病，如心脏病、癫痫病、美尼尔氏症、眩晕症、高血压、精神病、"
            "突发性昏厥症以及影响肢体活动的神经系统疾病等。"
        ),
    ),
    (
        "declare_no_accident",
        _("无下列情形：身体健康状况不再适应相应特种作业岗位的；对生产安全事故负有责任的。"),
    ),
    ("declare_violations", _("无下列情形：2年内违章操作记录达3次（含3次）以上的。")),
    (
        "declare_training",
        _(
            "无下列情形：未按规定参加年度安全教育培训或者继续教育的；考核发证机关规定的其他情形。"
            "对此次申请涉及的全部申报内容的真实性负责，申报材料均符合法律法规要求，如有虚假，"
            "本人愿意接受建设主管部门及其他有关部门依法处理。"
        ),
    ),
)


class FillForm(forms.Form):
    """在线填表: where continuing education was taken, and the four commitments."""

    ce_city = forms.CharField(label=_("参加继续教育所在地：市"), max_length=30)
    ce_district = forms.CharField(label=_("区县"), max_length=30)
    declare_health = forms.BooleanField(label=DECLARATIONS[0][1], required=False)
    declare_no_accident = forms.BooleanField(label=DECLARATIONS[1][1], required=False)
    declare_violations = forms.BooleanField(label=DECLARATIONS[2][1], required=False)
    declare_training = forms.BooleanField(label=DECLARATIONS[3][1], required=False)

    def __init__(self, *args, require_all: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_all = require_all

    def clean(self):
        data = super().clean()
        if self.require_all:
            for name, _label in DECLARATIONS:
                if not data.get(name):
                    self.add_error(name, _("请阅读并勾选此项承诺。"))
        return data


class DeliveryForm(forms.Form):
    delivery = forms.ChoiceField(
        label=_("取件方式"), choices=RenewalApplication.Delivery.choices, widget=forms.RadioSelect
    )
    mail_address = forms.CharField(
        label=_("邮寄地址（选择邮寄时填写）"),
        max_length=200,
        required=False,
        help_text=_("邮寄费用由申请人承担"),
    )


class SignForm(forms.Form):
    signature_name = forms.CharField(
        label=_("电子签名：请输入您的姓名"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    confirm = forms.BooleanField(
        label=_("我已核对以上信息，确认提交延续申请"),
        error_messages={"required": _("请勾选“我已核对以上信息”，再提交。")},
    )


class WithdrawForm(forms.Form):
    """撤回 is final: the holder ticks that they mean it (no script needed)."""

    confirm = forms.BooleanField(label=_("我已了解撤回后本次延续申请即终止，确认撤回"))
