"""Writes of the renewals app: CE records, conduct records, and the renewal transitions."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applicants.idcard import parse_id_number
from applicants.models import Profile
from applicants.validators import normalise_person_name, validate_person_name
from certificates.models import Certificate, CertificateStatus, ValidityPeriod
from certificates.selectors import holder_age_limit
from certificates.services.issuance import require_authority_staff
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.imports import (
    Column,
    RowError,
    file_label,
    parse_date,
    parse_decimal_hours,
    read_table,
)
from certportal.notifications import clause, notify, official_language
from certportal.pii import blind_index, contains_id_number, plain_reason
from certportal.queue import enqueue_on_commit
from certportal.transitions import transition
from exams.eligibility import add_months, format_date
from exams.models import Institution
from exams.selectors import authorities_in_scope, membership_of, policy_for

from .models import ConductRecord, ContinuingEducation, RenewalApplication
from .rules import add_working_days, failing, renewal_checks

R = RenewalApplication.Status
logger = logging.getLogger(__name__)


class RenewalRefused(DomainError):
    """Submission or approval refused: ``checks`` holds every failing check."""

    def __init__(self, checks):
        self.checks = checks
        super().__init__(
            _("不符合延续条件：") + "；".join(c.message for c in checks), code="not_eligible"
        )


# --- continuing education ------------------------------------------------------------------


_CE_LOOKUP_BATCH = 500


def ce_providers_for(actor):
    """The providers whose records ``actor`` may enter or import without being one of them:
    every one for a superuser, those of its authorities for authority staff (Qinghai: 线下继续
    教育由人事处按批次导入), none for anyone else."""
    providers = Institution.objects.filter(
        Q(offers_continuing_education=True) | Q(kind=Institution.Kind.CE_PLATFORM),
        is_active=True,
    )
    if getattr(actor, "is_superuser", False):
        return providers
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    if membership is None or membership.authority_id is None:
        return providers.none()
    return providers.filter(authority__in=authorities_in_scope(actor))


def _provider_for(actor, provider: Institution | None) -> Institution:
    """Institution staff record for their own institution; superusers and authority staff
    name the provider (one of their scope)."""
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    names_provider = getattr(actor, "is_superuser", False) or (
        membership is not None and membership.authority_id is not None
    )
    if names_provider:
        if provider is None:
            raise DomainError(_("请选择继续教育机构。"), code="provider_required")
        if not ce_providers_for(actor).filter(pk=provider.pk).exists():
            raise DomainError(
                _("“%(provider)s”不是您管辖范围内的继续教育机构。") % {"provider": provider},
                code="forbidden",
            )
        return provider
    if membership is None or membership.institution is None:
        raise DomainError(
            _("只有继续教育机构或发证机关的工作人员可以录入继续教育记录。"), code="forbidden"
        )
    institution = membership.institution
    if not (
        institution.offers_continuing_education or institution.kind == Institution.Kind.CE_PLATFORM
    ):
        raise DomainError(_("本机构未获准提供继续教育。"), code="forbidden")
    return institution


def ce_record_create(
    *,
    actor,
    name: str,
    id_number: str,
    mode: str,
    hours: Decimal,
    completed_on,
    course: str = "",
    provider: Institution | None = None,
) -> ContinuingEducation:
    """One continuing-education record, by staff of the providing institution."""
    provider = _provider_for(actor, provider)
    errors: dict[str, list[str]] = {}
    name = normalise_person_name(name)
    try:
        validate_person_name(name)
    except ValidationError as exc:
        errors["holder_name"] = exc.messages
    try:
        number = parse_id_number(id_number).number
    except ValidationError as exc:
        errors["holder_id_number"] = exc.messages
        number = ""
    if mode not in ContinuingEducation.Mode.values:
        errors["mode"] = [_("方式应为线上或线下。")]
    if not (Decimal(0) < hours <= Decimal(200)):
        errors["hours"] = [_("学时须大于 0 且不超过 200。")]
    if completed_on > timezone.localdate():
        errors["completed_on"] = [str(FUTURE_COMPLETION)]
    if number and "holder_name" not in errors:
        index = blind_index(number)
        if _name_differs(_holder_names([index], provider), index, name):
            errors["holder_name"] = [str(NAME_NOT_MATCHING)]
    if errors:
        raise ValidationError(errors)
    course = course.strip()
    with transaction.atomic():
        _lock_provider(provider)
        key = (blind_index(number), completed_on, course)
        if _recorded(provider, [key]):
            raise ValidationError(
                _(
                    "本机构已录入过此人同一完成日期、同一课程的继续教育记录，不能重复计入学时。"
                    "同一天的另一门课程请填写课程名称。"
                )
            )
        record = ContinuingEducation.objects.create(
            holder_name=name,
            holder_id_number=number,
            provider=provider,
            mode=mode,
            hours=hours,
            completed_on=completed_on,
            course=course,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="renewals.ce.recorded",
            obj=record,
            data={"hours": str(hours), "provider": provider.pk},
        )
    return record


# One rule for a record entered on the form and a row of an imported file.
FUTURE_COMPLETION = gettext_lazy("完成日期不能晚于今天。")
NAME_NOT_MATCHING = gettext_lazy(
    "姓名与该身份证号码持证人的姓名不一致，请核对姓名和身份证号码"
    "（号码错一位，学时就会记到别人名下）。"
)


def _holder_names(indexes, provider: Institution) -> dict:
    """For ID blind indexes, the holder names on certificates of the provider's province (the
    certificates its hours are for): a row naming someone else is a mistyped ID number, whose
    hours would count for that other holder. Limited to the province's certificates, so a
    provider learns nothing of people it could not be teaching; a number with none there is
    taken as given."""
    from exams.models import Authority

    province = provider.authority.province
    authorities = Authority.objects.filter(Q(pk=province.pk) | Q(parent=province))
    indexes = sorted(set(indexes))
    known: dict = {}
    for start in range(0, len(indexes), _CE_LOOKUP_BATCH):
        holders = Certificate.objects.filter(
            holder_id_index__in=indexes[start : start + _CE_LOOKUP_BATCH],
            authority__in=authorities,
        ).values_list("holder_id_index", "holder_name")
        for index, name in holders:
            known.setdefault(index, set()).add(name)
    return known


def _name_differs(known: dict, index: str, name: str) -> bool:
    return index in known and name not in known[index]


# A CE record is one course completed by one person at one provider on one day: the natural key
# is (holder's ID number, provider, completion date, course). Mode and hours describe that
# completion; a second row that differs only in them is the same course sent again (perhaps
# corrected), and counting it would add hours the holder did not do. Checked in the services,
# not by a database constraint: imports made before this check may already hold such pairs.
CE_KEY_COLUMNS = "身份证号、完成日期、课程"


def _lock_provider(provider: Institution) -> None:
    """Serialise CE writes per provider (the key includes the provider), so two uploads of one
    file at once cannot both pass the duplicate check. NO KEY: rows that merely reference the
    institution are not blocked."""
    Institution.objects.select_for_update(no_key=True).filter(pk=provider.pk).first()


def _recorded(provider: Institution, keys) -> dict[tuple, object]:
    """Of the (ID blind index, completion date, course) keys, those the provider has already
    recorded, each with when it was first recorded."""
    keys = set(keys)
    if not keys:
        return {}
    indexes = sorted({index for index, _day, _course in keys})
    days = [day for _index, day, _course in keys]
    found: dict[tuple, object] = {}
    for start in range(0, len(indexes), _CE_LOOKUP_BATCH):
        rows = (
            ContinuingEducation.objects.in_force()
            .filter(
                provider=provider,
                holder_id_index__in=indexes[start : start + _CE_LOOKUP_BATCH],
                completed_on__range=(min(days), max(days)),
            )
            .order_by("created_at")
            .values_list("holder_id_index", "completed_on", "course", "created_at")
        )
        for index, day, course, created_at in rows:
            key = (index, day, course)
            if key in keys:
                found.setdefault(key, created_at)
    return found


def _ce_duplicates(rows, provider: Institution) -> list[RowError]:
    """A row repeating an earlier row of the file, or a record the provider already has.
    Messages name rows and dates, never the ID number."""
    errors: list[RowError] = []
    first_seen: dict[tuple, int] = {}
    for row in rows:
        key = (blind_index(row["id_number"]), row["completed_on"], row.get("course") or "")
        if key in first_seen:
            errors.append(
                RowError(
                    row["_row"],
                    CE_KEY_COLUMNS,
                    _(
                        "与第 %(row)d 行是同一条继续教育记录（身份证号、完成日期、课程都相同），"
                        "请删除重复的一行；同一天的不同课程请在“课程”列写明课程名称。"
                    )
                    % {"row": first_seen[key]},
                )
            )
        else:
            first_seen[key] = row["_row"]
    for key, created_at in _recorded(provider, first_seen).items():
        errors.append(
            RowError(
                first_seen[key],
                CE_KEY_COLUMNS,
                _(
                    "本机构已于 %(day)s 录入过这条继续教育记录（身份证号、完成日期、课程都相同），"
                    "不能重复计入学时，请从文件中删除这一行。"
                )
                % {"day": format_date(timezone.localdate(created_at))},
            )
        )
    return errors


def _mode(value: str) -> str:
    mapping = {"线上": "online", "online": "online", "线下": "offline", "offline": "offline"}
    mode = mapping.get(value.strip().lower())
    if mode is None:
        raise ValidationError(_("方式应为“线上”或“线下”。"))
    return mode


def _name(value: str) -> str:
    value = normalise_person_name(value)
    validate_person_name(value)
    return value


def _completed_on(value: str):
    # Checked with the row's other cells, so a row with a bad ID number and a future date is
    # told both at once (the file-wide checks only see rows whose every cell reads).
    day = parse_date(value)
    if day > timezone.localdate():
        raise ValidationError(FUTURE_COMPLETION, code="future")
    return day


CE_COLUMNS = (
    Column("name", ("姓名", "name"), parse=_name),
    Column(
        "id_number",
        ("身份证号", "身份证号码", "id_number"),
        parse=lambda v: parse_id_number(v).number,
    ),
    Column("mode", ("方式", "学习方式", "mode"), parse=_mode),
    Column("hours", ("学时", "hours"), parse=parse_decimal_hours),
    Column("completed_on", ("完成日期", "completed_on"), parse=_completed_on),
    Column("course", ("课程", "course"), required=False),
)


def ce_import(*, actor, data: bytes, filename: str, provider: Institution | None = None) -> int:
    """A provider's CSV/XLSX of completed continuing education, imported all-or-nothing with
    the same importer as exam scores (ImportRefused lists every bad row). A row repeating
    another row of the file, or a record the provider already has (same ID number, completion
    date and course), refuses the file: importing the same file twice adds nothing."""
    provider = _provider_for(actor, provider)

    def validate(rows):
        indexes = {row["_row"]: blind_index(row["id_number"]) for row in rows}
        known = _holder_names(indexes.values(), provider)
        names = [
            RowError(row["_row"], "姓名", str(NAME_NOT_MATCHING))
            for row in rows
            if _name_differs(known, indexes[row["_row"]], row["name"])
        ]
        return names + _ce_duplicates(rows, provider)

    with transaction.atomic():
        # Read under the provider's lock, so the duplicate check sees every committed import.
        _lock_provider(provider)
        rows = read_table(data, filename, CE_COLUMNS, validate=validate)
        ContinuingEducation.objects.bulk_create(
            [
                ContinuingEducation(
                    holder_name=row["name"],
                    holder_id_number=row["id_number"],
                    provider=provider,
                    mode=row["mode"],
                    hours=row["hours"],
                    completed_on=row["completed_on"],
                    course=row.get("course") or "",
                    created_by=actor,
                )
                for row in rows
            ]
        )
        audit_record(
            actor=actor,
            action="renewals.ce.imported",
            obj=provider,
            data={"rows": len(rows), "file": file_label(filename)},
        )
    return len(rows)


def conduct_record_create(
    *, actor, certificate: Certificate, kind: str, occurred_on, description: str
) -> ConductRecord:
    """A violation or accident-responsibility record, by staff of the certificate's authority."""
    require_authority_staff(actor, certificate.authority)
    if kind not in ConductRecord.Kind.values:
        raise ValidationError({"kind": [_("请选择记录类型。")]})
    if occurred_on > timezone.localdate():
        raise ValidationError({"occurred_on": [_("发生日期不能晚于今天。")]})
    if not description.strip():
        raise ValidationError({"description": [_("请填写情况说明。")]})
    if contains_id_number(description):
        raise ValidationError(
            {"description": [_("情况说明中不要填写身份证号码：记录会显示给经办人员并记入日志。")]}
        )
    description = description.strip()
    with transaction.atomic():
        # Under the certificate's lock, so a form sent twice (a double click, the back button)
        # cannot add the same record twice: three copies of one violation refuse a renewal.
        Certificate.objects.select_for_update().filter(pk=certificate.pk).first()
        if (
            ConductRecord.objects.in_force()
            .filter(
                certificate=certificate,
                kind=kind,
                occurred_on=occurred_on,
                description=description,
            )
            .exists()
        ):
            raise ValidationError(
                _(
                    "该证书已有同一日期、同一类型、情况说明相同的记录，不能重复录入；"
                    "同一天的另一起请在情况说明中写明。"
                )
            )
        record = ConductRecord.objects.create(
            certificate=certificate,
            kind=kind,
            occurred_on=occurred_on,
            description=description,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action=f"renewals.conduct.{kind}",
            obj=record,
            data={"certificate": certificate.pk},
        )
        if certificate.holder_id:
            with official_language():
                notify(
                    user=certificate.holder,
                    title=_("新增%(kind)s记录") % {"kind": record.get_kind_display()},
                    body=description,
                    url=f"/me/certificates/{certificate.pk}/renewal/",
                )
    return record


def _void(record, *, actor, reason: str, action: str, data: dict):
    """Void a locked CE or conduct record: refused twice, audited."""
    if record.is_voided:
        raise DomainError(
            _("该记录已于 %(day)s 作废，未变更。")
            % {"day": format_date(timezone.localdate(record.voided_at))},
            code="unchanged",
        )
    record.voided_at = timezone.now()
    record.voided_by = actor
    record.void_reason = reason
    record.save(update_fields=["voided_at", "voided_by", "void_reason"])
    audit_record(actor=actor, action=action, obj=record, reason=reason, data=data)
    return record


def conduct_record_void(*, record: ConductRecord, actor, reason: str) -> ConductRecord:
    """Void a violation or accident record entered in error, by staff of the certificate's
    authority: it no longer counts against a renewal (a renewal already decided on it stays as
    decided). The holder is told."""
    require_authority_staff(actor, record.certificate.authority)
    reason = plain_reason(reason, missing=_("请填写作废原因，例如“录入错误：证书编号填错”。"))
    with transaction.atomic():
        row = (
            ConductRecord.objects.select_for_update()
            .select_related("certificate")
            .get(pk=record.pk)
        )
        _void(
            row,
            actor=actor,
            reason=reason,
            action="renewals.conduct.voided",
            data={"certificate": row.certificate_id, "kind": row.kind},
        )
        if row.certificate.holder_id:
            with official_language():
                notify(
                    user=row.certificate.holder,
                    title=_("%(kind)s记录已作废") % {"kind": row.get_kind_display()},
                    body=_(
                        "%(day)s 的%(kind)s记录已由发证机关作废，不再计入延续审查。"
                        "原因：%(reason)s。"
                    )
                    % {
                        "day": format_date(row.occurred_on),
                        "kind": row.get_kind_display(),
                        "reason": clause(reason),
                    },
                    url=f"/me/certificates/{row.certificate_id}/renewal/",
                )
    return row


def ce_record_void(*, record: ContinuingEducation, actor, reason: str) -> ContinuingEducation:
    """Void a continuing-education record entered in error (wrong person, hours or date), by
    staff of its provider, staff of the provider's authority or a superuser: its hours no
    longer count, and the provider may enter the corrected record."""
    membership = membership_of(actor) if getattr(actor, "is_staff", False) else None
    allowed = getattr(actor, "is_superuser", False) or (
        membership is not None
        and (
            membership.institution_id == record.provider_id
            or (
                membership.authority_id is not None
                and authorities_in_scope(actor).filter(pk=record.provider.authority_id).exists()
            )
        )
    )
    if not allowed:
        raise DomainError(
            _("只有提供这条继续教育的机构或其发证机关的工作人员可以作废这条记录。"),
            code="forbidden",
        )
    reason = plain_reason(reason, missing=_("请填写作废原因，例如“身份证号码录错”。"))
    from applicants.models import Profile

    with transaction.atomic():
        row = ContinuingEducation.objects.select_for_update().get(pk=record.pk)
        _void(
            row,
            actor=actor,
            reason=reason,
            action="renewals.ce.voided",
            data={"provider": row.provider_id, "hours": str(row.hours)},
        )
        # The holder counts on these hours (a renewal under way may now fall short): told.
        profile = Profile.objects.filter(id_number_index=row.holder_id_index).first()
        if profile is not None:
            with official_language():
                notify(
                    user=profile.user,
                    title=_("继续教育记录已作废"),
                    body=_(
                        "%(provider)s %(day)s 的继续教育记录（%(hours)s 学时）已作废，不再计入延续"
                        "所需学时。原因：%(reason)s。"
                    )
                    % {
                        "provider": row.provider.name,
                        "day": format_date(row.completed_on),
                        "hours": row.hours,
                        "reason": clause(reason),
                    },
                )
    return row


# --- the application -----------------------------------------------------------------------


def _require_holder(certificate: Certificate, actor) -> None:
    if certificate.holder_id is None or certificate.holder_id != getattr(actor, "pk", None):
        raise DomainError(_("只能为本人的证书申请延续。"), code="forbidden")


# Checks no effort of the holder can meet before the window closes: a new renewal is refused
# while one of them fails, and the page offers no form. An accident-responsibility record of
# the validity period stays for the whole period (continuing education and violations that
# age out can still change).
BLOCKS_A_NEW_DRAFT = ("status", "window", "age", "accident")


def renewal_save_draft(
    *,
    certificate: Certificate,
    actor,
    ce_city: str,
    ce_district: str,
    declare_health: bool,
    declare_no_accident: bool,
    declare_violations: bool,
    declare_training: bool,
) -> RenewalApplication:
    """Step 1 (在线填表), kept as a draft (保存草稿) until submitted."""
    _require_holder(certificate, actor)
    with transaction.atomic():
        renewal = (
            RenewalApplication.objects.select_for_update()
            .filter(certificate=certificate, status__in=(R.DRAFT, R.RETURNED))
            .first()
        )
        if renewal is None:
            if RenewalApplication.objects.filter(
                certificate=certificate, status=R.SUBMITTED
            ).exists():
                raise DomainError(_("该证书的延续申请已提交，正在审查。"), code="duplicate")
            # No new renewal that could never be submitted: a certificate not valid, outside
            # its window, or already at its age limit (the other checks can still be met).
            blocking = [
                c for c in failing(renewal_checks(certificate)) if c.code in BLOCKS_A_NEW_DRAFT
            ]
            if blocking:
                raise RenewalRefused(blocking)
            try:
                with transaction.atomic():
                    renewal = RenewalApplication.objects.create(
                        certificate=certificate, applicant=actor
                    )
            except IntegrityError as exc:
                raise DomainError(_("该证书已有办理中的延续申请。"), code="duplicate") from exc
            audit_record(
                actor=actor, action="renewals.renewal.created", obj=renewal, to_state=R.DRAFT
            )
        renewal.ce_city, renewal.ce_district = ce_city.strip(), ce_district.strip()
        renewal.declare_health, renewal.declare_no_accident = declare_health, declare_no_accident
        renewal.declare_violations, renewal.declare_training = declare_violations, declare_training
        renewal.save()
    return renewal


def renewal_set_delivery(
    *, renewal: RenewalApplication, actor, delivery: str, mail_address: str = ""
) -> RenewalApplication:
    """Step 2 (取件方式): electronic, or mail to an address at the applicant's cost."""
    _require_holder(renewal.certificate, actor)
    if delivery not in RenewalApplication.Delivery.values:
        raise ValidationError({"delivery": [_("请选择取件方式。")]})
    if delivery == RenewalApplication.Delivery.MAIL and len(mail_address.strip()) < 6:
        raise ValidationError({"mail_address": [_("选择邮寄时请填写完整的邮寄地址。")]})
    with transaction.atomic():
        row = RenewalApplication.objects.select_for_update().get(pk=renewal.pk)
        if row.status not in (R.DRAFT, R.RETURNED):
            raise DomainError(_("已提交的延续申请不能修改。"), code="wrong_state")
        row.delivery = delivery
        row.mail_address = (
            mail_address.strip() if delivery == RenewalApplication.Delivery.MAIL else ""
        )
        row.save()
    return row


def _renewal_transition(renewal: RenewalApplication, **kwargs):
    """``transition`` of a renewal with its certificate locked first: the order every writer of
    both keeps (a revocation locks the certificate, then closes its renewal; the nightly lapse
    does the same), so two of them never wait on each other in opposite orders."""
    with transaction.atomic():
        Certificate.objects.select_for_update().filter(pk=renewal.certificate_id).first()
        return transition(renewal, **kwargs)


def signature_name_mismatch(certificate: Certificate) -> str:
    """Why the holder cannot sign, if the profile's name is not the certificate's (else "").

    SPEC 4.6: the signature must match the profile; the certificate's name is the one renewed.
    Two names cannot both be matched, and neither is taken over the other. Shown from the
    renewal's first step, so the holder learns of it before filling three."""
    name = (
        Profile.objects.filter(user_id=certificate.holder_id).values_list("name", flat=True).first()
    )
    if name is None or normalise_person_name(name) == certificate.holder_name:
        return ""
    return _(
        "您个人信息中的姓名“%(profile)s”与证书上的姓名“%(certificate)s”不一致，"
        "无法签名。如个人信息填写有误，请先改正；如姓名已依法变更，请联系发证机关"
        "更正证书信息。"
    ) % {"profile": normalise_person_name(name), "certificate": certificate.holder_name}


def renewal_submit(
    *, renewal: RenewalApplication, actor, signature_name: str
) -> RenewalApplication:
    """Step 3 (信息确认 + 电子签名): draft | returned → submitted. The typed full name must
    match the holder's; every declaration ticked; every check of SPEC 4.6 passes. A renewal
    submitted before expiry keeps the certificate valid until it is decided (``renewal_pending``).

    A returned renewal first submitted inside the window may be resubmitted until its
    correction deadline (``correct_by``, inclusive): the window is judged on its first
    submission, and the certificate has stayed valid while it was returned. Every other check
    is made again. After the deadline it is refused (``close_lapsed_returns`` closes it)."""
    certificate = renewal.certificate
    _require_holder(certificate, actor)
    problems = []
    if not renewal.declarations_complete:
        problems.append(_("请阅读并勾选全部本人承诺。"))
    if not renewal.delivery:
        problems.append(_("请选择取件方式。"))
    mismatch = signature_name_mismatch(certificate)
    if mismatch:
        problems.append(mismatch)
    elif normalise_person_name(signature_name or "") != certificate.holder_name:
        problems.append(
            _("电子签名须与持证人姓名“%(name)s”完全一致。") % {"name": certificate.holder_name}
        )
    if problems:
        raise DomainError("".join(problems), code="incomplete")

    def apply(row: RenewalApplication):
        if row.status == R.RETURNED and row.correct_by and timezone.localdate() > row.correct_by:
            raise DomainError(
                _("补正期限%(date)s已过，本次延续申请视为撤回，不能再提交。")
                % {"date": format_date(row.correct_by)},
                code="lapsed",
            )
        checks = renewal_checks(row.certificate, submitted_on=row.first_submitted_on)
        failing_checks = failing(checks)
        if failing_checks:
            raise RenewalRefused(failing_checks)
        now = timezone.now()
        row.signature_name = normalise_person_name(signature_name)
        row.signed_at = row.submitted_at = now
        row.first_submitted_at = row.first_submitted_at or now
        row.reason = ""
        row.correct_by = None
        Certificate.objects.filter(pk=row.certificate_id).update(renewal_pending=True)

    row, _changed = _renewal_transition(
        renewal,
        allowed_from=(R.DRAFT, R.RETURNED),
        to=R.SUBMITTED,
        actor=actor,
        action="renewals.renewal.submitted",
        verb=_("提交"),
        apply=apply,
    )
    return row


def renewal_approve(*, renewal: RenewalApplication, actor, note: str = "") -> RenewalApplication:
    """submitted → approved: validity extended (new from = old until + 1 day, new until = old
    until + validity years, capped at retirement), the period recorded, the PDF re-rendered
    as a new version, the holder told."""
    from certificates.tasks import render_certificate

    require_authority_staff(actor, renewal.certificate.authority)

    def apply(row: RenewalApplication):
        failing_checks = [c for c in failing(renewal_checks(row.certificate)) if c.code != "window"]
        if failing_checks:
            raise RenewalRefused(failing_checks)
        certificate = Certificate.objects.select_for_update().get(pk=row.certificate_id)
        new_from = certificate.valid_until + timedelta(days=1)
        years = policy_for(certificate.authority).validity_years
        new_until = min(
            # SPEC 4.6: old valid-until + validity years (28 Feb 2030 → 28 Feb 2032), as the
            # authority computes it by hand; not a fresh term from new valid-from.
            add_months(certificate.valid_until, 12 * years),
            holder_age_limit(certificate) - timedelta(days=1),
        )
        if new_until < new_from:
            raise DomainError(_("持证人已达到年龄上限，不能延续。"), code="retired")
        Certificate.objects.filter(pk=certificate.pk).update(
            valid_from=new_from,
            valid_until=new_until,
            renewal_pending=False,
            content_version=F("content_version") + 1,
        )
        ValidityPeriod.objects.create(
            certificate=certificate,
            valid_from=new_from,
            valid_until=new_until,
            reason=ValidityPeriod.Reason.RENEWED,
        )
        row.decided_at = timezone.now()
        row.new_valid_until = new_until
        row.reason = note
        with official_language():
            notify(
                user=row.applicant,
                title=_("证书延续已批准：%(number)s") % {"number": certificate.number},
                body=_("新的有效期为 %(from)s 至 %(until)s，可在“我的证书”下载新版电子证照。")
                % {"from": new_from.isoformat(), "until": new_until.isoformat()},
                url="/me/certificates/",
            )
        enqueue_on_commit(render_certificate, certificate.pk)

    row, _changed = _renewal_transition(
        renewal,
        allowed_from=(R.SUBMITTED,),
        to=R.APPROVED,
        actor=actor,
        action="renewals.renewal.approved",
        verb=_("准予延续"),
        reason=note,
        apply=apply,
    )
    return row


def _end_pending(row: RenewalApplication) -> None:
    """The renewal is closed undecided or refused: the certificate no longer waits for it, so
    past its valid-until date it shows expired at once and the nightly sweep stores that."""
    Certificate.objects.filter(pk=row.certificate_id).update(renewal_pending=False)


def _decide_against(renewal, actor, reason, *, to, allowed_from, verb, title):
    reason = plain_reason(reason, missing=_("请填写原因，申请人会看到它。"))
    require_authority_staff(actor, renewal.certificate.authority)

    def apply(row: RenewalApplication):
        row.reason = reason
        row.decided_at = timezone.now()
        body = reason
        if to == R.RETURNED:
            row.correct_by = correction_deadline(row.certificate, returned_on=timezone.localdate())
            with official_language():
                body = _(
                    "%(reason)s。请于%(date)s前（含当日）补正并重新提交；"
                    "逾期未补正的，本次延续申请视为撤回。"
                ) % {"reason": clause(reason), "date": format_date(row.correct_by)}
        else:
            _end_pending(row)
        notify(
            user=row.applicant,
            title=title,
            body=body,
            url=f"/me/certificates/{row.certificate_id}/renewal/",
        )

    row, _changed = _renewal_transition(
        renewal,
        allowed_from=allowed_from,
        to=to,
        actor=actor,
        action=f"renewals.renewal.{to}",
        verb=verb,
        reason=reason,
        apply=apply,
    )
    return row


def close_renewals_of_ended_certificate(certificate, to: str, actor, reason: str) -> None:
    """The certificate was revoked, withdrawn or cancelled (a hook of certificates' status
    changes, inside their transaction): its open renewal application (draft, submitted or
    returned) becomes 不予延续 with that reason, as staff refusing it would make it: it leaves
    the staff's queue, and the holder is told why."""
    status = CertificateStatus(to).label
    why = _("证书已%(status)s（%(reason)s），延续申请终止。") % {
        "status": status,
        "reason": reason,
    }
    for renewal in RenewalApplication.objects.filter(
        certificate_id=certificate.pk, status__in=(R.DRAFT, R.SUBMITTED, R.RETURNED)
    ):
        _decide_against(
            renewal,
            actor,
            why,
            to=R.REJECTED,
            allowed_from=(R.DRAFT, R.SUBMITTED, R.RETURNED),
            verb=_("不予延续"),
            title=gettext_lazy("延续申请不予批准"),
        )


def renewal_return(*, renewal: RenewalApplication, actor, reason: str) -> RenewalApplication:
    """submitted → returned (退回补正) with the reason; the holder may correct and resubmit.

    A return is not a decision: the certificate stays valid pending the renewal (SPEC 4.6),
    also past its valid-until date, until the holder resubmits and it is decided, the holder
    withdraws it, it is refused (``renewal_reject``), or its correction deadline passes. The
    deadline (``correct_by``) is the authority's ``renewal_correction_working_days`` working
    days from the day of the return, set again at each return and told to the holder."""
    return _decide_against(
        renewal,
        actor,
        reason,
        to=R.RETURNED,
        allowed_from=(R.SUBMITTED,),
        verb=_("退回补正"),
        title=gettext_lazy("延续申请被退回补正"),
    )


def renewal_reject(*, renewal: RenewalApplication, actor, reason: str) -> RenewalApplication:
    """submitted | returned → rejected (不予延续), final. Refusing a returned renewal closes
    one the holder does not correct before its deadline comes (after it, the nightly
    ``close_lapsed_returns`` treats it as withdrawn); either way the certificate stops waiting
    for it."""
    return _decide_against(
        renewal,
        actor,
        reason,
        to=R.REJECTED,
        allowed_from=(R.SUBMITTED, R.RETURNED),
        verb=_("不予延续"),
        title=gettext_lazy("延续申请不予批准"),
    )


def correction_deadline(certificate, *, returned_on):
    """The last day a renewal returned on ``returned_on`` may be resubmitted: the authority's
    ``renewal_correction_working_days`` working days later (public holidays counted)."""
    days = policy_for(certificate.authority).renewal_correction_working_days
    return add_working_days(returned_on, days)


def close_lapsed_returns(*, today=None) -> int:
    """Nightly: a returned renewal not resubmitted by its correction deadline is treated as
    withdrawn (逾期未补正，视为撤回). It stops keeping the certificate valid, so one past its
    date shows expired at once and the expiry sweep stores that. The holder is told; the
    audit event is ``renewals.renewal.lapsed``. Returns how many were closed.

    Each renewal is closed in its own transaction, the certificate locked before the renewal
    (the order a certificate's revocation takes them); one that fails is logged and left to
    the next night, the others are closed."""
    today = today or timezone.localdate()
    closed = 0
    due = RenewalApplication.objects.filter(status=R.RETURNED, correct_by__lt=today)
    for pk, certificate_pk in due.values_list("pk", "certificate_id").iterator():
        try:
            with transaction.atomic():
                Certificate.objects.select_for_update().filter(pk=certificate_pk).first()
                closed += _lapse(RenewalApplication.objects.get(pk=pk), today)
        except DomainError:  # resubmitted, decided or returned again meanwhile
            continue
        except DatabaseError:
            logger.exception("renewal %s: closing it as lapsed failed", pk)
    return closed


def _lapse(renewal: RenewalApplication, today) -> bool:
    reason = _("补正期限%(date)s已过，未重新提交，视为撤回。") % {
        "date": format_date(renewal.correct_by)
    }

    def apply(row: RenewalApplication):
        if row.correct_by is None or row.correct_by >= today:
            raise DomainError(_("补正期限未到。"), code="not_due")
        row.reason = reason
        row.decided_at = timezone.now()
        _end_pending(row)
        with official_language():
            notify(
                user=row.applicant,
                title=_("延续申请逾期未补正，视为撤回"),
                body=reason,
                url=f"/me/certificates/{row.certificate_id}/renewal/",
            )

    _row, changed = transition(
        renewal,
        allowed_from=(R.RETURNED,),
        to=R.WITHDRAWN,
        actor=None,
        action="renewals.renewal.lapsed",
        verb=_("视为撤回"),
        reason=reason,
        apply=apply,
    )
    return changed


# Named so that the holder's page offers 撤回 exactly where this service accepts it.
WITHDRAWABLE = (R.DRAFT, R.RETURNED)


def renewal_withdraw(*, renewal: RenewalApplication, actor) -> RenewalApplication:
    """draft | returned → withdrawn (已撤回), by the holder, final. Withdrawing a returned
    renewal ends the validity it was keeping: past its valid-until date the certificate shows
    expired at once. A new renewal then needs the window open again."""
    _require_holder(renewal.certificate, actor)

    def apply(row: RenewalApplication):
        if row.status == R.RETURNED:
            _end_pending(row)

    row, _changed = _renewal_transition(
        renewal,
        allowed_from=WITHDRAWABLE,
        to=R.WITHDRAWN,
        actor=actor,
        action="renewals.renewal.withdrawn",
        verb=_("撤回"),
        apply=apply,
    )
    return row
