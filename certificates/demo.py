"""Demo certificates in every national status, with rendered PDFs, and the summary list."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from applicants.demo import demo_id_number
from certportal.demo import DemoContext
from exams import services as exam_services
from exams.demo import _candidate, demo_medical_certificate
from exams.models import Authority, ExamApplication, ExamSession, Trade

from . import services
from .models import Certificate, CertificateStatus, ValidityPeriod

# GB 32100's own example code, used only so the demo can build e-certificate identifiers; a
# real deployment enters each authority's code in the admin.
DEMO_ISSUER_CODE = "91350100M000100Y43"

HOLDERS = [
    ("13800000021", "赵德胜", "35050319800202115", CertificateStatus.SUSPENDED),
    ("13800000022", "钱家豪", "35050319810303117", CertificateStatus.REVOKED),
    ("13800000023", "孙晓东", "35050319820404119", CertificateStatus.WITHDRAWN),
    ("13800000024", "李秀英", "35050319830505120", CertificateStatus.CANCELLED),
]
LEGACY_EXPIRED = ("13800000025", "周建军", "35050319750606131")
# Passed, each with a 新增申请: one awaiting the authority's decision, one refused.
REQUESTERS = [
    ("13800000026", "郭志强", "35050319790303135", "submitted"),
    ("13800000027", "马丽萍", "35050319880808146", "rejected"),
]


def _passed_on_a_session(ctx: DemoContext, name: str, people, *, crane):
    """A session of ``crane`` planned, approved, held two months ago and published, each of
    ``people`` (login, name, ID17) applying through the school and passing on it: the session
    and their applications."""
    reviewer, assessor, trainer = (
        ctx.objects["reviewer"],
        ctx.objects["assessor"],
        ctx.objects["trainer"],
    )
    centre, school = ctx.objects["assessment_centre"], ctx.objects["institution"]
    now = timezone.now()
    session = exam_services.session_create(
        actor=assessor,
        name=name,
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=1),
        practical_at=now + timedelta(days=2),
        venue="泉州市丰泽区示例实训基地",
        capacity=20,
    )
    exam_services.session_submit(session=session, actor=assessor)
    exam_services.session_approve(session=session, actor=reviewer)
    applications = []
    for login, person, id17 in people:
        user = _candidate(ctx, login, person, id17)
        app = exam_services.application_create(
            applicant=user,
            trade=crane,
            assessment_institution=centre,
            training_institution=school,
        )
        app = exam_services.application_attach_medical(
            application=app,
            actor=user,
            data=demo_medical_certificate(),
            exam_date=timezone.localdate() - timedelta(days=10),
        )
        app = exam_services.application_submit(application=app, actor=user)
        app = exam_services.application_institution_approve(application=app, actor=trainer)
        applications.append(exam_services.application_approve(application=app, actor=reviewer))
    exam_services.session_assign(session=session, actor=assessor, applications=applications)
    # History: held two months ago (created ahead of its date, as sessions are); scored once
    # held.
    ExamSession.objects.filter(pk=session.pk).update(
        theory_at=now - timedelta(days=60), practical_at=now - timedelta(days=59)
    )
    session.refresh_from_db()
    for app in applications:
        exam_services.score_record(
            application=app, actor=assessor, theory=Decimal(88), practical=Decimal(85)
        )
    exam_services.session_publish_scores(session=session, actor=reviewer)
    return session, [ExamApplication.objects.get(pk=app.pk) for app in applications]


def seed(ctx: DemoContext) -> None:
    Authority.objects.filter(pk=350000, credit_code="").update(credit_code=DEMO_ISSUER_CODE)
    reviewer = ctx.objects["reviewer"]

    if not Certificate.objects.filter(number__startswith="闽C").exists():
        # 王小明's passed application: the applicant's own request, approved by the authority.
        main = ExamApplication.objects.filter(
            applicant=ctx.objects["applicant"], status="passed"
        ).first()
        if main is not None:
            request = services.certificate_request_submit(application=main, actor=main.applicant)
            services.certificate_request_approve(request=request, actor=reviewer)

        crane = Trade.objects.get(code="05", authority__isnull=True)
        session, applications = _passed_on_a_session(
            ctx,
            "示例考试计划：塔式起重机司机（批量签发）",
            [(login, name, id17) for login, name, id17, _status in HOLDERS],
            crane=crane,
        )
        batch = services.batch_issue_start(
            session=ExamSession.objects.get(pk=session.pk), actor=reviewer
        )
        services.batch_issue_run(batch_id=batch.pk)
        changes = {
            CertificateStatus.SUSPENDED: (
                services.certificate_suspend,
                "施工现场违章指挥，暂扣六个月",
            ),
            CertificateStatus.REVOKED: (services.certificate_revoke, "违章操作造成生产安全事故"),
            CertificateStatus.WITHDRAWN: (services.certificate_withdraw, "以欺骗手段取得证书"),
            CertificateStatus.CANCELLED: (services.certificate_cancel, "本人申请注销"),
        }
        for (_login, _name, _id17, status), app in zip(HOLDERS, applications, strict=True):
            change, reason = changes[status]
            change(
                certificate=Certificate.objects.get(application=app), actor=reviewer, reason=reason
            )

        # 新增申请 awaiting the authority, and one refused: passed on a later session, not
        # issued by its batch.
        _later, requested = _passed_on_a_session(
            ctx,
            "示例考试计划：塔式起重机司机（个人申请）",
            [(login, name, id17) for login, name, id17, _state in REQUESTERS],
            crane=crane,
        )
        for (_login, _name, _id17, state), app in zip(REQUESTERS, requested, strict=True):
            request = services.certificate_request_submit(application=app, actor=app.applicant)
            if state == "rejected":
                services.certificate_request_reject(
                    request=request, actor=reviewer, reason="考核期间有违纪行为，经核查不予签发"
                )

        # Issued before the portal: imported while valid, its holder had the new-version
        # e-certificate made, then it ran out (its date moved back 3 weeks) and the sweep
        # expired it.
        login, name, id17 = LEGACY_EXPIRED
        user = _candidate(ctx, login, name, id17)
        today = timezone.localdate()
        csv = (
            "证书编号,姓名,身份证号,工种代码,初次领证日期,发证日期,有效期起,有效期至,发证机关\n"
            f"闽C4T2021000088,{name},{demo_id_number(id17)},4T,2021-03-01,2023-03-01,"
            f"2023-03-01,{(today + timedelta(days=1)).isoformat()},泉州市住房和城乡建设局\n"
        )
        services.import_certificates(
            data=csv.encode("utf-8"), filename="legacy.csv", actor=reviewer
        )
        legacy = Certificate.objects.get(number="闽C4T2021000088")
        services.certificate_generate_ecert(certificate=legacy, actor=user)
        ended = today - timedelta(days=20)
        Certificate.objects.filter(pk=legacy.pk).update(valid_until=ended)
        ValidityPeriod.objects.filter(certificate=legacy).update(valid_until=ended)
        services.expire_due()

    for pk in services.render_pending_ids():
        services.certificate_render(certificate_pk=pk)
    for certificate in Certificate.objects.order_by("status", "pk"):
        ctx.certificates.append(
            {
                "status": certificate.status,
                "holder_name": certificate.holder_name,
                "id_number": certificate.holder_id_number,
                "number": certificate.number,
                "verify_url": certificate.verify_url,
                "pdf": certificate.pdf.path if certificate.pdf else None,
            }
        )
