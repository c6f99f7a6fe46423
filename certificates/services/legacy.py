"""Certificates issued before the portal: import, and the new-version e-certificate on request."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from applicants.idcard import parse_id_number
from applicants.models import Profile
from applicants.validators import normalise_person_name, validate_person_name
from certportal.audit import audit_record
from certportal.errors import DomainError
from certportal.imports import (
    Column,
    ImportRefused,
    RowError,
    check_unique,
    file_label,
    parse_date,
    read_table,
)
from certportal.pii import blind_index
from certportal.queue import enqueue_on_commit
from exams.models import Authority, Trade

from ..models import HELD_STATES, Certificate, CertificateStatus, ValidityPeriod
from ..numbering import NUMBER_MAX_LENGTH, normalise_certificate_number, serials_used_up_to
from .holders import holder_for
from .issuance import require_authority_staff


def _person_name(value: str) -> str:
    value = normalise_person_name(value)
    validate_person_name(value)
    return value


def _number(value: str) -> str:
    """Stored as the public lookup normalises what an inspector types, so every imported
    number can be found (闽c…, full-width 闽Ｃ…, spaces)."""
    number = normalise_certificate_number(value)
    if not number:
        raise ValidationError(_("请填写证书编号。"))
    if len(number) > NUMBER_MAX_LENGTH:
        raise ValidationError(
            _("证书编号不能超过 %(max)d 个字符（去掉空格后为 %(length)d 个）。")
            % {"max": NUMBER_MAX_LENGTH, "length": len(number)}
        )
    return number


def _id_number(value: str):
    return parse_id_number(value)


def _stored_status(row: dict) -> str:
    """What an imported row is stored as: valid or suspended past its date is expired (06)
    at once, as pages show it, so the nightly sweep does not "expire" years-old certificates
    the first night, each with a notice and a new PDF."""
    status = row.get("status") or CertificateStatus.VALID
    if status in HELD_STATES and row["valid_until"] < timezone.localdate():
        return CertificateStatus.EXPIRED
    return status


def _status(value: str) -> str:
    value = value.strip() or CertificateStatus.VALID
    if value not in CertificateStatus.values:
        raise ValidationError(_("状态应为 01–06 的国家代码。"))
    return value


LEGACY_COLUMNS = (
    Column("number", ("证书编号", "number"), parse=_number),
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


# The new trade codes (seed 003, 鲁建培注字〔2022〕2号, 附件 2) came with the new-version
# certificate: "自2023年1月1日起，在全省住建领域启用新版建筑施工特种作业操作资格证书电子证照".
# It is Shandong's notice, and the only date the seeds give.
NEW_CODES_FROM = date(2023, 1, 1)


@dataclass(frozen=True)
class _NumberParts:
    """A number shaped like the portal's: prefix, 2-character trade code, year, serial."""

    prefix: str
    trade_code: str
    year: int
    serial: int


def _number_parts(number: str, authority: Authority) -> _NumberParts | None:
    """The parts of a number in the portal's shape for the authority's province (the city
    letter optional, as for a provincial authority), whose trade part may be an old code
    (闽C4T2021000001); ``None`` for a number in any other format."""
    abbreviation = authority.province.abbreviation
    if not abbreviation:
        return None
    match = re.fullmatch(
        rf"({re.escape(abbreviation)}[A-Z]?)([0-9A-Z]{{2}})(\d{{4}})(\d{{6}})", number
    )
    if match is None:
        return None
    prefix, trade_code, year, serial = match.groups()
    return _NumberParts(prefix, trade_code, int(year), int(serial))


@dataclass(frozen=True)
class _NationalCodes:
    """The national trades by new code and by old (pre-2023) code; for 99 only the national
    trade (建筑电气焊接（切割）工), never a province's own."""

    new: dict[str, Trade]
    old: dict[str, Trade]

    @classmethod
    def load(cls) -> _NationalCodes:
        trades = list(Trade.objects.filter(authority__isnull=True).order_by("pk"))
        return cls(
            new={t.code: t for t in trades},
            old={t.old_code: t for t in trades if t.old_code},
        )

    def meanings(self, code: str) -> tuple[Trade | None, Trade | None]:
        return self.new.get(code), self.old.get(code)

    def in_year(self, code: str, year: int) -> Trade | None:
        """What ``code`` meant in ``year``: a code that is both a new and another trade's
        old code is read by the table in force then."""
        new, old = self.meanings(code)
        if new is not None and old is not None:
            return new if year >= NEW_CODES_FROM.year else old
        return new or old


def _trade(
    code: str, *, number: _NumberParts | None, first_issued_on: date, codes: _NationalCodes
) -> Trade:
    """The trade of a row's 工种代码, a new or an old (pre-2023) national code.

    03, 06 and 07 are each a new code and another trade's old code (new 03 附着升降脚手架 /
    old 03 司索信号工, new 06 施工升降机司机 / old 06 吊篮安装拆卸工, new 07 物料提升机司机 /
    old 07 电气焊接). For those the row decides, in this order:

    1. a number in the portal's shape names a trade with its code part, read by the table in
       force in the number's year (闽C072024… is new 07, 闽C072020… old 07; 闽C4W2020… is
       物料提升机司机 whatever the year). That trade is taken if it is one of the two meanings;
       if it is neither, the row contradicts itself and is refused;
    2. else a certificate first issued (初次领证日期) on or after 2023-01-01 is a new-version
       certificate, so the code is new: from that day holders who pass are given the new
       version (seed 003, 一.1);
    3. else it is refused: an older certificate may appear with either table's codes, as its
       holder may have had the new version made for it (seed 003, 二.2). The message names
       the unambiguous code to write instead (the new meaning's old code, the old meaning's
       new code).

    Raises ``ValidationError`` with the message for the 工种代码 column.
    """
    code = code.strip().upper()
    new, old = codes.meanings(code)
    if new is None or old is None or new == old:
        if new is None and old is None:
            if code.isdigit() and len(code) == 1:
                # A spreadsheet drops the leading zero of 04 once the column is numbers.
                raise ValidationError(
                    _("工种代码应为两位，如“0%(code)s”：请将该列设置为文本格式后重新填写。")
                    % {"code": code}
                )
            raise ValidationError(_("工种代码不是新版或旧版的全国代码。"))
        return new or old
    if number is not None:
        named = codes.in_year(number.trade_code, number.year)
        if named in (new, old):
            return named
        if named is not None:
            raise ValidationError(
                _(
                    "工种代码 %(code)s（新版为“%(new)s”，旧版为“%(old)s”）与证书编号中的"
                    "工种代码 %(number_code)s（“%(named)s”）不是同一工种，请核对。"
                )
                % {
                    "code": code,
                    "new": new.name,
                    "old": old.name,
                    "number_code": number.trade_code,
                    "named": named.name,
                }
            )
    if first_issued_on >= NEW_CODES_FROM:
        return new
    raise ValidationError(
        _(
            "工种代码 %(code)s 在新版代码表中是“%(new)s”，在 2023 年 1 月 1 日前的旧版代码表中是"
            "“%(old)s”；本行初次领证日期早于 2023 年 1 月 1 日，证书编号中也看不出工种，"
            "无法判断是哪一个。请改填无歧义的代码：“%(new)s”填 %(new_instead)s，"
            "“%(old)s”填 %(old_instead)s。"
        )
        % {
            "code": code,
            "new": new.name,
            "old": old.name,
            "new_instead": new.old_code,
            "old_instead": old.code,
        }
    )


def _advance_serial_counters(numbers: Iterable[tuple[str, Authority]]) -> None:
    """Raise the serial counter of each imported number in the portal's own format (trade
    part two digits) to at least its serial, so that issuance never makes that number again.

    Must run inside the import's transaction, before the certificates are inserted. The
    counters are locked as ``reserve_serials`` locks them (``numbering.serials_used_up_to``),
    in sorted order as batch issuance takes them, and held until commit. A counter is never
    lowered.
    """
    highest: dict[tuple[str, str, int], int] = {}
    for number, authority in numbers:
        parts = _number_parts(number, authority)
        if parts is None or not parts.trade_code.isdigit():
            continue
        key = (parts.prefix, parts.trade_code, parts.year)
        highest[key] = max(highest.get(key, 0), parts.serial)
    for (prefix, trade_code, year), serial in sorted(highest.items()):
        serials_used_up_to(prefix=prefix, trade_code=trade_code, year=year, serial=serial)


def _create_or_refuse(row: dict, **fields) -> Certificate:
    """The certificate, or the whole import refused with the row's error when its number was
    written meanwhile (issued or imported after the file was checked)."""
    try:
        with transaction.atomic():
            return Certificate.objects.create(**fields)
    except IntegrityError as exc:
        if not Certificate.objects.filter(number=fields["number"]).exists():
            raise
        raise ImportRefused(
            [RowError(row["_row"], "证书编号", _("该证书编号已存在（核对文件后刚被写入）。"))]
        ) from exc


def import_certificates(*, data: bytes, filename: str, actor=None) -> int:
    """Import legacy certificates all-or-nothing (per-row errors in ImportRefused).

    Numbers are kept; old trade codes are mapped to the new ones (see ``_trade`` for the
    codes that are both); a holder is linked to an account whose profile has the same name
    and ID number, when one exists (``holders``). A number in the portal's own format
    advances its serial counter, in the same transaction, so the portal never issues it
    again. No PDF is made until requested.
    """
    plan: list[tuple[dict, Authority, Trade]] = []

    def validate(rows: list[dict]) -> list[RowError]:
        codes = _NationalCodes.load()
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
            try:
                trade = _trade(
                    row["trade"],
                    number=_number_parts(row["number"], authority),
                    first_issued_on=row["first_issued_on"],
                    codes=codes,
                )
            except ValidationError as exc:
                errors.append(RowError(line, "工种代码", exc.message))
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
        _advance_serial_counters((row["number"], authority) for row, authority, _t in plan)
        for row, authority, trade in plan:
            parsed = row["id_number"]
            # Linked only to a profile with the same name *and* ID number (holders.py).
            holder = holder_for(name=row["name"], id_index=blind_index(parsed.number))
            certificate = _create_or_refuse(
                row,
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
                status=_stored_status(row),
                is_legacy=True,
                content_version=0,
            )
            ValidityPeriod.objects.create(
                certificate=certificate,
                valid_from=row["valid_from"],
                valid_until=row["valid_until"],
                reason=ValidityPeriod.Reason.IMPORTED,
            )
            if holder is not None:  # its ID number now holds a certificate: locked
                Profile.objects.filter(user_id=holder).update(id_number_locked=True)
            audit_record(
                actor=actor,
                action="certificates.certificate.imported",
                obj=certificate,
                to_state=certificate.status,
                data={"file": file_label(filename)},
            )
    return len(plan)


def certificate_generate_ecert(*, certificate: Certificate, actor) -> Certificate:
    """手动生成新版电子证照 for an imported certificate: by its holder while it is valid or
    suspended, or by scoped staff whatever its status. Asked again, it changes nothing and
    says so (``unchanged``)."""
    from ..tasks import render_certificate

    is_holder = certificate.holder_id is not None and certificate.holder_id == getattr(
        actor, "pk", None
    )
    if not is_holder:
        require_authority_staff(actor, certificate.authority)
    with transaction.atomic():
        row = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if not row.is_legacy:
            raise DomainError(_("只有导入的原有证书需要生成新版电子证照。"), code="not_legacy")
        if row.content_version > 0:
            raise DomainError(_("新版电子证照已经生成，无需再次生成。"), code="unchanged")
        if is_holder and row.effective_status not in HELD_STATES:
            raise DomainError(
                _("证书状态为“%(status)s”，不能生成新版电子证照；如有疑问请联系发证机关。")
                % {"status": row.effective_status_label},
                code="wrong_state",
            )
        Certificate.objects.filter(pk=row.pk).update(content_version=F("content_version") + 1)
        audit_record(actor=actor, action="certificates.certificate.ecert_requested", obj=row)
        enqueue_on_commit(render_certificate, row.pk)
    row.refresh_from_db()
    return row
