"""Reference data, the demo staff, and exam records in every state (SPEC section 5)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from PIL import Image, ImageDraw

from applicants.demo import (
    demo_education_proof,
    demo_id_number,
    demo_id_scan,
    demo_photo,
    demo_user,
)
from applicants.models import Material, Profile, User
from applicants.services import material_upload, profile_save
from certportal import roles
from certportal.demo import DemoContext
from certportal.models import Notice
from certportal.reference import load_missing_reference

from . import services
from .models import Authority, ExamApplication, ExamSession, Institution, StaffMembership, Trade
from .services.sessions import local_minute

QUANZHOU_BUREAU = 350500
QUANZHOU_ASSESSMENT_CENTRE = "泉州市住建行业中介服务中心"
QUANZHOU_TRAINING_SCHOOL = "泉州示例建筑职业培训学校"
TOWER_CRANE_DRIVER = "05"
ELECTRICIAN = "01"


def demo_medical_certificate() -> bytes:
    image = Image.new("RGB", (900, 1200), "white")
    draw = ImageDraw.Draw(image)
    for block in range(3):
        top = 60 + block * 380
        draw.rectangle((60, top, 840, top + 330), outline=(80, 80, 80), width=3)
        for line in range(6):
            draw.rectangle(
                (100, top + 40 + line * 45, 700 - line * 40, top + 55 + line * 45),
                fill=(90, 90, 90),
            )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _staff(ctx, username, role, *, institution=None, authority=None, listed=True, **fields):
    if listed:
        user = demo_user(ctx, username, role=role, is_staff=True, **fields)
    else:
        user, _ = User.objects.update_or_create(
            username=username, defaults={"is_staff": True, **fields}
        )
        user.set_password(ctx.password)
        user.save()
        from django.contrib.auth.models import Group

        user.groups.set([Group.objects.get(name=role)])
    StaffMembership.objects.update_or_create(
        user=user, defaults={"institution": institution, "authority": authority}
    )
    return user


def _candidate(ctx: DemoContext, login: str, name: str, id17: str) -> User:
    user, _ = User.objects.get_or_create(username=login)
    user.set_password(ctx.password)
    user.save()
    from django.contrib.auth.models import Group

    user.groups.set([Group.objects.get(name=roles.APPLICANT)])
    if not Profile.objects.filter(user=user).exists():
        profile_save(
            user=user, name=name, id_number=demo_id_number(id17), mobile=login, education="senior"
        )
    have = set(Material.objects.filter(owner=user).values_list("kind", flat=True))
    for kind, make in (
        ("photo", lambda: demo_photo(int(login[-2:]))),
        ("id_scan", lambda: demo_id_scan(name)),
        ("education_proof", demo_education_proof),
    ):
        if kind not in have:
            material_upload(user=user, kind=kind, data=make())
    return user


# login, name, ID (first 17), the state the demo leaves the application in
CANDIDATES = [
    ("13800000011", "陈志强", "35050319880301101", "draft"),
    ("13800000012", "林美华", "35050319900415102", "submitted"),
    ("13800000013", "黄建平", "35050319850720103", "institution_approved"),
    ("13800000014", "吴国栋", "35050319870911105", "approved"),
    ("13800000015", "郑海涛", "35050319891205107", "scheduled"),
    ("13800000016", "蔡文斌", "35050319830618109", "failed"),
    ("13800000017", "许丽娟", "35050319920227104", "returned"),
    ("13800000018", "周立新", "35050319781030111", "rejected"),
    ("13800000019", "何伟", "35050319950808113", "withdrawn"),
]


def seed(ctx: DemoContext) -> None:
    # Rows already there stay as staff left them (a demo seeded again keeps its edits).
    load_missing_reference()
    authority = Authority.objects.get(pk=QUANZHOU_BUREAU)
    centre = Institution.objects.get(name=QUANZHOU_ASSESSMENT_CENTRE)
    school = Institution.objects.get(name=QUANZHOU_TRAINING_SCHOOL)

    trainer = _staff(
        ctx, "institution", roles.INSTITUTION_STAFF, institution=school, first_name="培训机构初审员"
    )
    reviewer = _staff(
        ctx, "authority", roles.AUTHORITY_STAFF, authority=authority, first_name="发证机关审核员"
    )
    assessor = _staff(
        ctx,
        "assessor",
        roles.INSTITUTION_STAFF,
        institution=centre,
        listed=False,
        first_name="考核机构考务员",
    )
    demo_user(ctx, "admin", role=roles.SUPERUSER, is_staff=True, is_superuser=True)
    ctx.objects.update(
        authority=authority,
        institution=school,
        assessment_centre=centre,
        reviewer=reviewer,
        trainer=trainer,
        assessor=assessor,
    )

    if ExamSession.objects.filter(name__startswith="示例").exists():
        return  # exam records are seeded once; accounts above are reset every run
    crane = Trade.objects.get(code=TOWER_CRANE_DRIVER, authority__isnull=True)
    electrician = Trade.objects.get(code=ELECTRICIAN, authority__isnull=True)
    now = timezone.now()
    medical_date = timezone.localdate() - timedelta(days=20)

    def application(user, trade=crane, until="approved"):
        app = services.application_create(
            applicant=user, trade=trade, assessment_institution=centre, training_institution=school
        )
        app = services.application_attach_medical(
            application=app, actor=user, data=demo_medical_certificate(), exam_date=medical_date
        )
        steps = ["submitted", "institution_approved", "approved"]
        for step in steps[: steps.index(until) + 1] if until in steps else []:
            if step == "submitted":
                app = services.application_submit(application=app, actor=user)
            elif step == "institution_approved":
                app = services.application_institution_approve(application=app, actor=trainer)
            else:
                app = services.application_approve(application=app, actor=reviewer)
        return app

    # A session whose scores are published: the main demo applicant passed, one candidate failed.
    past = services.session_create(
        actor=assessor,
        name="示例考试计划：塔式起重机司机（已发布成绩）",
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=1),
        practical_at=now + timedelta(days=2),
        venue="泉州市丰泽区示例实训基地",
        capacity=30,
    )
    services.session_submit(session=past, actor=assessor)
    services.session_approve(session=past, actor=reviewer)
    main = ctx.objects["applicant"]
    failed_user = _candidate(ctx, *CANDIDATES[5][:3])
    passed_app = application(main)
    failed_app = application(failed_user)
    services.session_assign(session=past, actor=assessor, applications=[passed_app, failed_app])
    # History: the session was held a month ago (created ahead of its date, as sessions are),
    # and scored once held.
    planned = past.theory_at
    ExamSession.objects.filter(pk=past.pk).update(
        theory_at=now - timedelta(days=30), practical_at=now - timedelta(days=29)
    )
    past.refresh_from_db()
    # The candidates' notices of their placing named the date the plan was created with.
    for notice in Notice.objects.filter(user__in=[main, failed_user]):
        notice.body = notice.body.replace(local_minute(planned), local_minute(past.theory_at))
        notice.save(update_fields=["body"])
    services.score_record(
        application=passed_app, actor=assessor, theory=Decimal("86"), practical=Decimal("92")
    )
    services.score_record(
        application=failed_app, actor=assessor, theory=Decimal("52"), practical=None
    )
    services.session_publish_scores(session=past, actor=reviewer)

    # An approved session in the future with one scheduled candidate; a submitted and a draft one.
    upcoming = services.session_create(
        actor=assessor,
        name="示例考试计划：塔式起重机司机（已批准）",
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=14),
        practical_at=now + timedelta(days=15),
        venue="泉州市丰泽区示例实训基地",
        capacity=40,
    )
    services.session_submit(session=upcoming, actor=assessor)
    services.session_approve(session=upcoming, actor=reviewer)
    for state, session_name in (("submitted", "已报审"), ("draft", "草稿")):
        draft = services.session_create(
            actor=assessor,
            name=f"示例考试计划：建筑电工（{session_name}）",
            trade=electrician,
            assessment_institution=centre,
            theory_at=now + timedelta(days=40),
            practical_at=now + timedelta(days=41),
            venue="泉州市示例考点",
            capacity=50,
        )
        if state == "submitted":
            services.session_submit(session=draft, actor=assessor)
    # A plan the training school drew up and submitted to the authority (Qinghai's 培训机构
    # 报审考试计划): the demo's institution login finds it under 考试计划.
    proposed = services.session_create(
        actor=trainer,
        name="示例考试计划：塔式起重机司机（培训机构报审）",
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=30),
        practical_at=now + timedelta(days=31),
        venue="泉州市丰泽区示例实训基地",
        capacity=30,
    )
    services.session_submit(session=proposed, actor=trainer)

    for login, name, id17, state in CANDIDATES:
        if state == "failed":
            continue
        user = _candidate(ctx, login, name, id17)
        if state == "draft":
            application(user, until="draft")
        elif state in ("submitted", "institution_approved", "approved"):
            application(user, until=state)
        elif state == "scheduled":
            app = application(user)
            services.session_assign(session=upcoming, actor=assessor, applications=[app])
        elif state == "returned":
            app = application(user, until="submitted")
            services.application_return(
                application=app,
                actor=trainer,
                reason="体检合格证明缺少心电图报告，请补充后重新提交",
            )
        elif state == "rejected":
            app = application(user, until="institution_approved")
            services.application_reject(
                application=app,
                actor=reviewer,
                reason="身份证复印件与实名信息不符，经核查不予受理",
            )
        elif state == "withdrawn":
            app = application(user, until="submitted")
            services.application_withdraw(application=app, actor=user)
    missing = set(ExamApplication.Status.values) - set(
        ExamApplication.objects.values_list("status", flat=True)
    )
    if missing:
        raise RuntimeError(f"demo left application states unseeded: {sorted(missing)}")
