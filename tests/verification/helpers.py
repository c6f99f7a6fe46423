"""Helpers for the verification tests: certificates in every national status, and a client
that checks every response it receives for a full ID number."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from applicants.demo import demo_id_number
from certificates import services
from certificates.models import Certificate, CertificateStatus

C = CertificateStatus

# Imported (legacy) holders, one per status besides the issued valid certificate; the names
# differ so that a lookup can only find its own.
HOLDERS = {
    C.SUSPENDED: ("赵德胜", "35050319800202115", 101),
    C.REVOKED: ("钱家豪", "35050319810303117", 102),
    C.WITHDRAWN: ("孙晓东", "35050319820404119", 103),
    C.CANCELLED: ("李秀英", "35050319830505120", 104),
    C.EXPIRED: ("周建军", "35050319750606131", 105),
}
CHANGES = {
    C.SUSPENDED: (services.certificate_suspend, "施工现场违章指挥，暂扣六个月"),
    C.REVOKED: (services.certificate_revoke, "违章操作造成生产安全事故"),
    C.WITHDRAWN: (services.certificate_withdraw, "以欺骗手段取得证书"),
    C.CANCELLED: (services.certificate_cancel, "本人申请注销"),
}
# ID numbers typed in tests that belong to nobody: never to be echoed either.
UNKNOWN_ID = demo_id_number("11010119900307001")
SECRET_IDS: set[str] = {UNKNOWN_ID}


def assert_no_full_id(body: bytes, where: str = "response") -> None:
    known = SECRET_IDS | {c.holder_id_number for c in Certificate.objects.all()}
    for number in known:
        assert number.encode() not in body, f"a full ID number appears in the {where}"
        assert number.lower().encode() not in body, f"a full ID number appears in the {where}"


class IdGuardClient(Client):
    """A test client that fails the test when any response, body or header, carries a full
    ID number: every response of every verification test is checked."""

    def request(self, **request):
        response = super().request(**request)
        if not getattr(response, "streaming", False):
            assert_no_full_id(response.content)
        headers = "\n".join(f"{k}: {v}" for k, v in response.items()).encode()
        assert_no_full_id(headers, "headers")
        return response


def import_holder(*, actor, name: str, id17: str, serial: int, trade: str = "05") -> Certificate:
    """A certificate through the legacy import service, with its e-certificate rendered."""
    today = timezone.localdate()
    number = f"闽C{trade}2024{serial:06d}"
    csv = (
        "证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关\n"
        f"{number},{name},{demo_id_number(id17)},{trade},2024-03-01,"
        f"{(today - timedelta(days=100)).isoformat()},{(today - timedelta(days=100)).isoformat()},"
        f"{(today + timedelta(days=600)).isoformat()},泉州市住房和城乡建设局\n"
    )
    services.import_certificates(data=csv.encode(), filename="legacy.csv", actor=actor)
    certificate = Certificate.objects.get(number=number)
    services.certificate_generate_ecert(certificate=certificate, actor=actor)
    return certificate
