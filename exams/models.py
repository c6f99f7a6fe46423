"""Reference data (trades, authorities, institutions, policies) and staff membership.

Applications, sessions and scores join this module in the exams issue.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from applicants.models import EducationLevel, material_path
from applicants.uploads import MaterialKind
from applicants.validators import validate_credit_code


class Authority(models.Model):
    """考核发证机关: a provincial department or a city bureau it delegates to."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        CITY = "city", _("市级")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    province_name = models.CharField(_("行政区"), max_length=30)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级机关"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    abbreviation = models.CharField(
        _("省级简称"), max_length=2, blank=True, help_text=_("如 闽、浙、鲁、青；仅省级填写")
    )
    city_letter = models.CharField(
        _("城市代号"),
        max_length=1,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]$", _("城市代号为一个大写字母，如泉州为 C。"))],
        help_text=_("车牌字母，如 闽C = 泉州；仅市级填写"),
    )
    region_code = models.CharField(
        _("行政区划代码"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^\d{6}$", _("行政区划代码为 6 位数字（GB/T 2260）。"))],
    )
    credit_code = models.CharField(
        _("统一社会信用代码"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],
        help_text=_("发证机关的统一社会信用代码，电子证照标识需要"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("发证机关")
        verbose_name_plural = pgettext_lazy("plural", "发证机关")
        ordering = ("region_code",)
        constraints = [
            models.CheckConstraint(
                condition=Q(level="province", parent__isnull=True, city_letter="")
                | Q(level="city", parent__isnull=False, abbreviation=""),
                name="authority_level_shape",
                violation_error_message=_(
                    "省级机关须有简称、无上级、无城市代号；市级机关须有上级、无简称。"
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def province(self) -> Authority:
        return self if self.level == self.Level.PROVINCE else self.parent

    @property
    def number_prefix(self) -> str:
        """The certificate number's prefix: province abbreviation + city letter (闽C)."""
        return self.province.abbreviation + self.city_letter


class Trade(models.Model):
    """工种 / 操作类别: the national table, plus provinces' own trades under code 99."""

    code = models.CharField(
        _("类别代码"),
        max_length=2,
        validators=[RegexValidator(r"^\d{2}$", _("类别代码为 2 位数字。"))],
        db_index=True,
    )
    old_code = models.CharField(_("旧版代码"), max_length=2, blank=True, db_index=True)
    name = models.CharField(_("名称"), max_length=60)
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("所属省级机关"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="local_trades",
        help_text=_("留空为全国统一工种；省级认定的其他工种（代码 99）填写所属省级机关"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("工种（操作类别）")
        verbose_name_plural = _("工种（操作类别）")
        ordering = ("code", "name")
        constraints = [
            # A national trade's name once; a province's own trade once in that province (two
            # provinces may each certify a trade of the same name: SPEC 2).
            models.UniqueConstraint(
                fields=("name",),
                condition=Q(authority__isnull=True),
                name="trade_national_name_unique",
            ),
            models.UniqueConstraint(
                fields=("authority", "name"),
                condition=Q(authority__isnull=False),
                name="trade_province_name_unique",
            ),
            models.UniqueConstraint(
                fields=("code",),
                condition=Q(authority__isnull=True) & ~Q(code="99"),
                name="trade_national_code_unique",
            ),
        ]

    def __str__(self) -> str:
        if self.authority_id:
            # Two provinces may each have a trade of this name: which one.
            return f"{self.code} {self.name}（{self.authority.abbreviation}）"
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        # A province's trade named like a national one would print the national trade's name
        # on a certificate of another trade.
        if (
            self.authority_id
            and Trade.objects.filter(authority__isnull=True, name=self.name)
            .exclude(pk=self.pk)
            .exists()
        ):
            raise ValidationError({"name": _("已有同名的全国统一工种，省级工种请另取名称。")})


class Institution(models.Model):
    """考核机构, 培训机构 or 继续教育平台, each under one authority."""

    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", _("考核机构")
        TRAINING = "training", _("培训机构")
        CE_PLATFORM = "ce_platform", _("继续教育平台")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices, db_index=True)
    authority = models.ForeignKey(
        Authority, verbose_name=_("所属机关"), on_delete=models.PROTECT, related_name="institutions"
    )
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, blank=True, validators=[validate_credit_code]
    )
    offers_continuing_education = models.BooleanField(_("提供继续教育"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ("authority__region_code", "kind", "name")

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """An authority's rules; an authority without its own follows its province, then these
    defaults (SPEC section 2)."""

    authority = models.OneToOneField(
        Authority, verbose_name=_("发证机关"), on_delete=models.CASCADE, related_name="policy"
    )
    min_age = models.PositiveSmallIntegerField(_("最低年龄"), default=18)
    female_max_age = models.PositiveSmallIntegerField(_("女性年龄上限"), default=55)
    min_education = models.CharField(
        _("最低学历"), max_length=20, choices=EducationLevel.choices, default=EducationLevel.JUNIOR
    )
    medical_max_age_months = models.PositiveSmallIntegerField(_("体检有效期（月）"), default=3)
    uses_training_institution = models.BooleanField(_("报名须经培训机构初审"), default=True)
    theory_pass_mark = models.PositiveSmallIntegerField(
        _("理论合格分"), default=60, validators=[MaxValueValidator(100)]
    )
    practical_pass_mark = models.PositiveSmallIntegerField(
        _("实操合格分"), default=70, validators=[MaxValueValidator(100)]
    )
    validity_years = models.PositiveSmallIntegerField(
        _("证书有效期（年）"), default=2, validators=[MinValueValidator(1)]
    )
    renewal_window_days = models.PositiveSmallIntegerField(_("延续受理提前天数"), default=90)
    ce_hours_required = models.PositiveSmallIntegerField(_("延续所需继续教育学时"), default=24)
    renewal_correction_working_days = models.PositiveSmallIntegerField(
        _("延续退回补正期限（工作日）"),
        default=15,
        validators=[MinValueValidator(1)],
        help_text=_("退回补正的延续申请须在此期限内重新提交，逾期未补正的视为撤回"),
    )
    violations_refuse_at = models.PositiveSmallIntegerField(
        _("违章记录达到此数不予延续"), default=3, validators=[MinValueValidator(1)]
    )
    violations_lookback_years = models.PositiveSmallIntegerField(_("违章记录统计年限"), default=2)
    photo_min_kb = models.PositiveSmallIntegerField(_("照片最小（KB，不含）"), default=30)
    photo_max_kb = models.PositiveSmallIntegerField(_("照片最大（KB，不含）"), default=100)
    id_scan_max_long_px = models.PositiveSmallIntegerField(
        _("身份证扫描件长边上限（像素）"), default=900
    )
    id_scan_max_short_px = models.PositiveSmallIntegerField(
        _("身份证扫描件短边上限（像素）"), default=600
    )
    education_proof_max_mb = models.PositiveSmallIntegerField(_("学历证明上限（MB）"), default=5)

    class Meta:
        verbose_name = _("机关政策")
        verbose_name_plural = _("机关政策")
        constraints = [
            models.CheckConstraint(
                condition=Q(photo_min_kb__lt=models.F("photo_max_kb")),
                name="policy_photo_size_range",
                violation_error_message=_("照片最小值须小于最大值。"),
            )
        ]

    def __str__(self) -> str:
        return str(_("%(authority)s 的政策")) % {"authority": self.authority}


class StaffMembership(models.Model):
    """Which institution or authority a staff account works for: the scope of every query."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="staff_membership",
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("发证机关"), null=True, blank=True, on_delete=models.PROTECT
    )
    institution = models.ForeignKey(
        Institution, verbose_name=_("机构"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("工作人员归属")
        verbose_name_plural = _("工作人员归属")
        constraints = [
            models.CheckConstraint(
                condition=Q(authority__isnull=False, institution__isnull=True)
                | Q(authority__isnull=True, institution__isnull=False),
                name="staff_membership_exactly_one",
                violation_error_message=_("工作人员须且只能属于一个发证机关或一个机构。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.authority or self.institution}"

    def clean(self) -> None:
        # A worker's account given a staff scope would see other workers' records through it
        # once made staff, and its own records from the other side of the counter.
        from certportal import roles

        user = self.user if self.user_id else None
        if user is not None and (
            not user.is_staff or user.groups.filter(name=roles.APPLICANT).exists()
        ):
            raise ValidationError(
                {
                    "user": _(
                        "该账号不是工作人员账号（考生账号或未勾选“工作人员状态”），不能设置工作人员归属；"
                        "请为工作人员另建账号。"
                    )
                }
            )


class ExamSession(models.Model):
    """考试计划: one trade's theory and practical exams at one assessment institution."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已报审")
        APPROVED = "approved", _("已批准")
        SCORES_PUBLISHED = "scores_published", _("成绩已发布")

    name = models.CharField(_("计划名称"), max_length=100)
    trade = models.ForeignKey(Trade, verbose_name=_("工种"), on_delete=models.PROTECT)
    assessment_institution = models.ForeignKey(
        Institution,
        verbose_name=_("考核机构"),
        on_delete=models.PROTECT,
        related_name="sessions",
        limit_choices_to={"kind": "assessment"},
    )
    authority = models.ForeignKey(
        Authority, verbose_name=_("发证机关"), on_delete=models.PROTECT, related_name="sessions"
    )
    # The training institution that drew up and submits the plan (Qinghai: 培训机构向主管部门
    # 线上提交考试计划), when one did; it sees and edits the plan as the assessment
    # institution does, and never scores.
    training_institution = models.ForeignKey(
        Institution,
        verbose_name=_("报审培训机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposed_sessions",
        limit_choices_to={"kind": "training"},
    )
    theory_at = models.DateTimeField(_("理论考核时间"))
    practical_at = models.DateTimeField(_("实操考核时间"))
    venue = models.CharField(_("考核地点"), max_length=200)
    capacity = models.PositiveIntegerField(
        _("容量（人）"),
        validators=[
            MinValueValidator(1),
            MaxValueValidator(10000, _("容量不能超过 10000 人；更多考生请分场次安排。")),
        ],
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    published_at = models.DateTimeField(_("成绩发布时间"), null=True, blank=True)
    # Why the plan was sent back to draft (退回修改), kept until it is submitted again.
    return_reason = models.TextField(_("退回原因"), blank=True)

    class Meta:
        verbose_name = _("考试计划")
        verbose_name_plural = _("考试计划")
        ordering = ("-theory_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "approved", "scores_published"]),
                name="exam_session_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(practical_at__gte=models.F("theory_at")),
                name="exam_session_practical_after_theory",
                violation_error_message=_("实操考核时间不能早于理论考核时间。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


OPEN_APPLICATION_STATES = (
    "draft",
    "submitted",
    "institution_approved",
    "approved",
    "scheduled",
    "returned",
)


class ExamApplication(models.Model):
    """考试报名: an applicant's application for one trade's exam."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        INSTITUTION_APPROVED = "institution_approved", _("培训机构初审通过")
        APPROVED = "approved", _("审核通过")
        SCHEDULED = "scheduled", _("已安排考试")
        PASSED = "passed", _("考核合格")
        FAILED = "failed", _("考核不合格")
        RETURNED = "returned", _("退回补正")
        REJECTED = "rejected", _("不予受理")
        WITHDRAWN = "withdrawn", _("已撤回")

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申报人"),
        on_delete=models.PROTECT,
        related_name="exam_applications",
    )
    trade = models.ForeignKey(Trade, verbose_name=_("工种"), on_delete=models.PROTECT)
    authority = models.ForeignKey(
        Authority, verbose_name=_("发证机关"), on_delete=models.PROTECT, related_name="applications"
    )
    assessment_institution = models.ForeignKey(
        Institution,
        verbose_name=_("考核机构"),
        on_delete=models.PROTECT,
        related_name="assessed_applications",
    )
    training_institution = models.ForeignKey(
        Institution,
        verbose_name=_("培训机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="trained_applications",
    )
    medical_certificate = models.ForeignKey(
        "applicants.Material",
        verbose_name=_("体检合格证明"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    medical_exam_date = models.DateField(_("体检日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    status_reason = models.TextField(_("退回或不予受理原因"), blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # The name and a copy of the photo as they were submitted for review (the last
    # submission): what the reviewers saw, and what the certificate carries, whatever the
    # profile holds by the day it is issued. Empty on applications submitted before these
    # were kept.
    submitted_name = models.CharField(_("报审时姓名"), max_length=30, blank=True)
    submitted_photo = models.FileField(
        _("报审时照片"), upload_to=material_path, blank=True, max_length=200
    )
    approved_at = models.DateTimeField(_("审核通过时间"), null=True, blank=True, db_index=True)
    session = models.ForeignKey(
        ExamSession,
        verbose_name=_("考试计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    ticket_number = models.CharField(
        _("准考证号"), max_length=24, null=True, blank=True, unique=True
    )
    ticket_pdf = models.FileField(_("准考证 PDF"), upload_to="tickets/", blank=True, max_length=200)
    # Why the ticket cannot be drawn (a character no font has, a value too long for its cell):
    # the sweep leaves it alone until staff send it again from the admin.
    ticket_error = models.TextField(_("准考证生成失败原因"), blank=True)
    theory_score = models.DecimalField(
        _("理论成绩"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    practical_score = models.DecimalField(
        _("实操成绩"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    absent = models.BooleanField(_("缺考"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("考试报名")
        verbose_name_plural = _("考试报名")
        ordering = ("-created_at", "-id")
        # The staff list's order: its first page without sorting every application in scope.
        indexes = [models.Index(fields=("-created_at", "-id"), name="application_list_order")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "submitted",
                        "institution_approved",
                        "approved",
                        "scheduled",
                        "passed",
                        "failed",
                        "returned",
                        "rejected",
                        "withdrawn",
                    ]
                ),
                name="exam_application_status_valid",
            ),
            models.UniqueConstraint(
                fields=("applicant", "trade"),
                condition=Q(status__in=OPEN_APPLICATION_STATES),
                name="exam_application_one_open_per_trade",
                violation_error_message=_("您已有该工种的报名正在办理中。"),
            ),
            models.CheckConstraint(
                condition=Q(theory_score__isnull=True)
                | Q(theory_score__gte=0, theory_score__lte=100),
                name="exam_application_theory_range",
            ),
            models.CheckConstraint(
                condition=Q(practical_score__isnull=True)
                | Q(practical_score__gte=0, practical_score__lte=100),
                name="exam_application_practical_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trade.name} #{self.pk}"

    def staff_label(self) -> str:
        """Whose application, for staff deciding on it (a reason page, an action's report)."""
        name = self.submitted_name or getattr(getattr(self.applicant, "profile", None), "name", "")
        return f"{name} · {self.trade.name} · #{self.pk}" if name else str(self)


class SubmittedMaterial(models.Model):
    """A copy of a profile paper (the ID card scan, the education proof) as the application's
    last submission was reviewed with. The reviewers see this copy, so the applicant may
    replace the profile's file while another application of theirs is returned for
    correction without changing what is under review here. The photo is kept apart
    (``ExamApplication.submitted_photo``), as the ticket and the certificate print it."""

    KINDS = (MaterialKind.ID_SCAN, MaterialKind.EDUCATION_PROOF)

    application = models.ForeignKey(
        ExamApplication,
        verbose_name=_("报名"),
        on_delete=models.CASCADE,
        related_name="submitted_materials",
    )
    kind = models.CharField(_("材料类型"), max_length=20, choices=MaterialKind.choices)
    file = models.FileField(_("文件"), upload_to=material_path, max_length=200)
    thumbnail = models.FileField(_("缩略图"), upload_to=material_path, max_length=200, blank=True)
    content_type = models.CharField(_("文件类型"), max_length=40)
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("报审时材料")
        verbose_name_plural = _("报审时材料")
        ordering = ("application", "kind")
        constraints = [
            models.UniqueConstraint(
                fields=("application", "kind"), name="submitted_material_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.application_id}"
