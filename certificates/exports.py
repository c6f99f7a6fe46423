"""The certificate list as staff export it from the admin (Excel)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from certportal.exports import Column, xlsx_export_action


def _employer(certificate) -> str:
    profile = getattr(certificate.holder, "profile", None) if certificate.holder_id else None
    return profile.employer_name if profile else ""


CERTIFICATE_COLUMNS = (
    Column(_("证书编号"), lambda c: c.number, 18),
    Column(_("姓名"), lambda c: c.holder_name, 12),
    Column(_("性别"), lambda c: c.get_holder_sex_display(), 6),
    Column(_("公民身份号码"), lambda c: c.masked_id_number, 21),
    Column(_("操作类别"), lambda c: f"{c.trade.code} {c.trade.name}", 30),
    Column(_("发证机关"), lambda c: c.authority.name, 24),
    Column(_("初次领证日期"), lambda c: c.first_issued_on, 13),
    Column(_("发证日期"), lambda c: c.issued_on, 12),
    Column(_("有效期起"), lambda c: c.valid_from, 12),
    Column(_("有效期至"), lambda c: c.valid_until, 12),
    Column(_("状态"), lambda c: c.effective_status_label, 8),
    Column(_("延续审查中"), lambda c: c.renewal_pending, 10),
    Column(_("状态变更原因"), lambda c: c.status_reason, 30),
    Column(_("工作单位"), _employer, 30),
    Column(_("历史证书（导入）"), lambda c: c.is_legacy, 10),
)

export_certificates_xlsx = xlsx_export_action(
    description=_("导出所选证书（Excel）"),
    title=_("证书清单"),
    columns=CERTIFICATE_COLUMNS,
    audit_action="certificates.certificate.exported",
    related=("trade", "authority", "holder__profile"),
)
