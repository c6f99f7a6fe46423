"""Demo continuing education, conduct records, and renewal applications in every state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from applicants.demo import demo_id_number
from certificates.models import Certificate
from certificates.services import certificate_generate_ecert, import_certificates
from certportal.demo import DemoContext
from exams.demo import _candidate

from . import services
from .models import RenewalApplication

# login, name, ID (first 17), the state the demo leaves the renewal in
HOLDERS = [
    ("13800000031", "冯志远", "35050319790101133", "draft"),
    ("13800000032", "陈立华", "35050319800212135", "submitted"),
    ("13800000033", "褚国庆", "35050319810323137", "approved"),
    ("13800000034", "卫东升", "35050319820404139", "returned"),
    ("13800000035", "蒋文涛", "35050319830515151", "rejected"),
    ("13800000036", "韩明辉", "35050319840626153", "withdrawn"),
]


def seed(ctx: DemoContext) -> None:
    if RenewalApplication.objects.exists():
        return
    reviewer, provider_staff = ctx.objects["reviewer"], ctx.objects["trainer"]
    today = timezone.localdate()
    until = today + timedelta(days=45)
    lines = ["证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关"]
    for n, (login, name, id17, _state) in enumerate(HOLDERS, start=1):
        _candidate(ctx, login, name, id17)
        issued = until - timedelta(days=730)
        lines.append(
            f"闽C012024{n:06d},{name},{demo_id_number(id17)},01,2018-06-01,{issued},"
            f"{issued + timedelta(days=1)},{until},泉州市住房和城乡建设局"
        )
    import_certificates(data="\n".join(lines).encode(), filename="renewal-demo.csv", actor=reviewer)

    for n, (_login, name, id17, state) in enumerate(HOLDERS, start=1):
        certificate = Certificate.objects.get(number=f"闽C012024{n:06d}")
        holder = certificate.holder
        certificate_generate_ecert(certificate=certificate, actor=holder)
        # The withdrawn one was begun without any continuing education, then given up.
        courses = () if state == "withdrawn" else ((16, 200), (8, 40))
        for hours, days_ago in courses:
            services.ce_record_create(
                actor=provider_staff,
                name=name,
                id_number=demo_id_number(id17),
                mode="online",
                hours=Decimal(hours),
                completed_on=today - timedelta(days=days_ago),
                course="安全生产继续教育",
            )
        if state == "returned":
            services.conduct_record_create(
                actor=reviewer,
                certificate=certificate,
                kind="violation",
                occurred_on=today - timedelta(days=60),
                description="未按规定佩戴安全带作业",
            )
            # One entered against the wrong certificate, and voided: it no longer counts.
            mistaken = services.conduct_record_create(
                actor=reviewer,
                certificate=certificate,
                kind="violation",
                occurred_on=today - timedelta(days=20),
                description="施工升降机超载运行",
            )
            services.conduct_record_void(
                record=mistaken, actor=reviewer, reason="录入错误：应记在另一本证书上"
            )
        renewal = services.renewal_save_draft(
            certificate=certificate,
            actor=holder,
            ce_city="泉州",
            ce_district="丰泽区",
            declare_health=True,
            declare_no_accident=True,
            declare_violations=True,
            declare_training=True,
        )
        if state == "withdrawn":
            services.renewal_withdraw(renewal=renewal, actor=holder)
        if state in ("draft", "withdrawn"):
            continue
        renewal = services.renewal_set_delivery(
            renewal=renewal, actor=holder, delivery="electronic"
        )
        if state == "rejected":
            # Submitted before the accident record was entered, then refused on review.
            renewal = services.renewal_submit(renewal=renewal, actor=holder, signature_name=name)
            services.conduct_record_create(
                actor=reviewer,
                certificate=certificate,
                kind="accident",
                occurred_on=today - timedelta(days=100),
                description="吊装作业指挥失误，对一般生产安全事故负有责任",
            )
            services.renewal_reject(
                renewal=renewal, actor=reviewer, reason="对生产安全事故负有责任，不予延续"
            )
            continue
        renewal = services.renewal_submit(renewal=renewal, actor=holder, signature_name=name)
        if state == "approved":
            services.renewal_approve(renewal=renewal, actor=reviewer)
        elif state == "returned":
            services.renewal_return(
                renewal=renewal, actor=reviewer, reason="继续教育证明与记录不一致，请核对后重新提交"
            )
