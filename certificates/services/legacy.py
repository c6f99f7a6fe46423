"""Certificates issued before the portal: import, and the new-version e-certificate on request."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from applicants.idcard import parse_id_number
from applicants.models import Profile
from applicants.validators import normalise_person_name, validate_person_name
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.imports import Column, RowError, check_unique, parse_date, read_table
from certportal.pii import blind_index
from certportal.queue import enqueue_on_commit
from exams.models import Authority, Trade

from ..models import Certificate, CertificateStatus, ValidityPeriod
from .issuance import require_authority_staff


def _person_name(value: str) -> str:
    value = normalise_person_name(value)
    validate_person_name(value)
    return value


def _id_number(value: str):
    return parse_id_number(value)


def _status(value: str) -> str:
    value = value.strip() or CertificateStatus.VALID
    if value not in CertificateStatus.values:
        raise ValidationError(_("状态应为 01–06 的国家代码。"))
    return value


LEGACY_COLUMNS = (
    Column("number", ("证书编号", "number")),
    Column("name", ("姓名", "name"), parse=_person_name),
    Column("id_number", ("身份证号", "身份证号码", "id_number"), parse=_id_number),
    Column("trade", ("工种代码", "操作类别代码", "trade_code")),
    Column("first_issued_on", ("初次领证日期", "first_issued_on"), parse=parse_date),
    Column("issued_on", ("发证日期", "issued_on"), parse=parse_date),
    Column("valid_from", ("有效期起", "valid_from"), parse=parse_date),
    Column("valid_until", ("有效期至", "valid_until"), parse=parse_date),
    Column("authority", ("发证机关", "发证机关代码", "authority")),
    Column("status", ("状态", "status"), required=False, parse=_status),
)


def _trade(code: str) -> Trade | None:
    """Old (pre-2023) or new codes; for code 99 only the national trade (建筑电气焊接)."""
    code = code.strip().upper()
    national = Trade.objects.filter(authority__isnull=True)
    return national.filter(Q(code=code) | Q(old_code=code)).order_by("-code").first()


def import_certificates(*, data: bytes, filename: str, actor=None) -> int:
    """Import legacy certificates all-or-nothing (per-row errors in ImportRefused).

    Numbers are kept; old trade codes are mapped to the new ones; holders are linked to an
    account with the same ID number when one exists. No PDF is made until requested.
    """
    plan: list[tuple[dict, Authority, Trade]] = []

    def validate(rows: list[dict]) -> list[RowError]:
        errors: list[RowError] = check_unique(rows, "number", "证书编号")
        numbers = [r["number"] for r in rows]
        existing = set(
            Certificate.objects.filter(number__in=numbers).values_list("number", flat=True)
        )
        for row in rows:
            line = row["_row"]
            if row["number"] in existing:
                errors.append(RowError(line, "证书编号", _("该证书编号已存在。")))
            authority = Authority.objects.filter(
                Q(name=row["authority"]) | Q(region_code=row["authority"])
            ).first()
            if authority is None:
                errors.append(
                    RowError(
                        line, "发证机关", _("找不到该发证机关（填写名称或 6 位行政区划代码）。")
                    )
                )
                continue
            if actor is not None:
                try:
                    require_authority_staff(actor, authority)
                except DomainError as exc:
                    errors.append(RowError(line, "发证机关", exc.message))
                    continue
            trade = _trade(row["trade"])
            if trade is None:
                errors.append(RowError(line, "工种代码", _("工种代码不是新版或旧版的全国代码。")))
                continue
            if row["valid_until"] < row["valid_from"]:
                errors.append(RowError(line, "有效期至", _("有效期至早于有效期起。")))
            if not row["number"].startswith(authority.province.abbreviation):
                errors.append(
                    RowError(line, "证书编号", _("证书编号应以发证机关所在省的简称开头。"))
                )
            plan.append((row, authority, trade))
        return errors

    read_table(data, filename, LEGACY_COLUMNS, validate=validate)
    with transaction.atomic():
        for row, authority, trade in plan:
            parsed = row["id_number"]
            holder = (
                Profile.objects.filter(id_number_index=blind_index(parsed.number))
                .values_list("user_id", flat=True)
                .first()
            )
            certificate = Certificate.objects.create(
                number=row["number"],
                holder_id=holder,
                holder_name=row["name"],
                holder_sex=parsed.sex,
                holder_id_number=parsed.number,
                holder_birth_date=parsed.birth_date,
                trade=trade,
                authority=authority,
                first_issued_on=row["first_issued_on"],
                issued_on=row["issued_on"],
                valid_from=row["valid_from"],
                valid_until=row["valid_until"],
                status=row.get("status") or CertificateStatus.VALID,
                is_legacy=True,
                content_version=0,
            )
            ValidityPeriod.objects.create(
                certificate=certificate,
                valid_from=row["valid_from"],
                valid_until=row["valid_until"],
                reason="imported",
            )
            audit_record(
                actor=actor,
                action="certificates.certificate.imported",
                obj=certificate,
                to_state=certificate.status,
                data={"file": filename[:100]},
            )
    return len(plan)


def certificate_generate_ecert(*, certificate: Certificate, actor) -> Certificate:
    """手动生成新版电子证照 for an imported certificate: by its holder or scoped staff."""
    from ..tasks import render_certificate

    is_holder = certificate.holder_id is not None and certificate.holder_id == getattr(
        actor, "pk", None
    )
    if not is_holder:
        require_authority_staff(actor, certificate.authority)
    with transaction.atomic():
        row = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if row.content_version > 0:
            return row
        Certificate.objects.filter(pk=row.pk).update(content_version=F("content_version") + 1)
        audit_record(actor=actor, action="certificates.certificate.ecert_requested", obj=row)
        enqueue_on_commit(render_certificate, row.pk)
    row.refresh_from_db()
    return row
