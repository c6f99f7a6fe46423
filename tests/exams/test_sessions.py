import csv
import io
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone
from openpyxl import Workbook

from certportal.celery import app as celery_app
from certportal.errors import DomainError
from certportal.imports import ImportRefused
from certportal.models import AuditEvent, Notice
from conftest import need
from exams import services
from exams.models import Authority, ExamApplication, ExamSession, Institution
from exams.selectors import tickets_missing_ids
from exams.tasks import enqueue_missing_tickets, render_admission_ticket
from tests.exams.fixtures import bulk_scheduled, hold, make_candidate, make_session, medical
from tests.factories import staff_factory

pytestmark = pytest.mark.django_db
A = ExamApplication.Status
SS = ExamSession.Status


def test_session_create_submit_approve_with_audit(assessor, authority_staff, crane, centre):
    session = make_session(assessor, crane, centre)
    assert session.status == SS.DRAFT and session.authority == centre.authority
    services.session_submit(session=session, actor=assessor)
    approved = services.session_approve(session=session, actor=authority_staff)
    assert approved.status == SS.APPROVED
    assert services.session_approve(session=approved, actor=authority_staff).status == SS.APPROVED
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(session.pk), action__startswith="exams.session"
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == [
        "exams.session.approved",
        "exams.session.created",
        "exams.session.submitted",
    ]


def test_session_wrong_state_and_wrong_actor(
    assessor, authority_staff, other_authority_staff, crane, centre
):
    session = make_session(assessor, crane, centre)
    with pytest.raises(DomainError, match="已报审"):
        services.session_approve(session=session, actor=authority_staff)
    services.session_submit(session=session, actor=assessor)
    with pytest.raises(DomainError, match="无权"):
        services.session_approve(session=session, actor=other_authority_staff)
    with pytest.raises(DomainError, match="无权"):
        services.session_approve(session=session, actor=assessor)


def test_a_training_institution_proposes_a_plan_that_the_authority_approves(
    client, approved, trainer, assessor, authority_staff, other_institution_staff, crane, centre
):
    """Qinghai: 培训机构向主管部门线上提交考试计划. The training school drafts a plan at an
    assessment institution of its own authority and submits it; the authority approves; the
    assessment institution scores. The school sees its plan, never scores it."""
    now = timezone.now()
    session = services.session_create(
        actor=trainer,
        name="培训学校报审的考试计划",
        trade=crane,
        assessment_institution=centre,
        theory_at=now + timedelta(days=10),
        practical_at=now + timedelta(days=11),
        venue="泉州市示例考点",
        capacity=20,
    )
    assert session.training_institution == trainer.staff_membership.institution
    services.session_update(session=session, actor=trainer, capacity=25)
    services.session_submit(session=session, actor=trainer)
    with pytest.raises(DomainError):
        services.session_approve(session=session, actor=trainer)
    session = services.session_approve(session=session, actor=authority_staff)
    assert session.status == SS.APPROVED
    # A candidate trained elsewhere sits the same session.
    elsewhere = Institution.objects.create(
        name="泉州第二培训学校", kind=Institution.Kind.TRAINING, authority=centre.authority
    )
    user = make_candidate()
    theirs = medical(
        services.application_create(
            applicant=user,
            trade=crane,
            assessment_institution=centre,
            training_institution=elsewhere,
        )
    )
    theirs = services.application_submit(application=theirs, actor=user)
    theirs = services.application_institution_approve(
        application=theirs, actor=staff_factory(institution=elsewhere)
    )
    theirs = services.application_approve(application=theirs, actor=authority_staff)
    services.session_assign(session=session, actor=assessor, applications=[approved, theirs])
    approved.refresh_from_db()
    theirs.refresh_from_db()

    hold(session)  # the exams took place
    client.force_login(assessor)
    page = client.get(f"/admin/exams/examsession/{session.pk}/change/").content.decode()
    assert 'name="applications-0-theory_score"' in page  # the centre enters scores

    client.force_login(trainer)
    assert session.name in client.get("/admin/exams/examsession/").content.decode()
    page = client.get(f"/admin/exams/examsession/{session.pk}/change/").content.decode()
    assert 'name="applications-0-theory_score"' not in page  # no score entry for the school
    assert approved.ticket_number in page  # its own trainee
    assert theirs.ticket_number not in page  # not another school's
    add = client.get("/admin/exams/examsession/add/").content.decode()
    assert f'<option value="{centre.pk}"' in add  # its authority's assessment institutions

    # Another institution neither sees nor submits it.
    client.force_login(other_institution_staff)
    assert session.name not in client.get("/admin/exams/examsession/").content.decode()
    with pytest.raises(DomainError):
        services.session_update(session=session, actor=other_institution_staff, capacity=5)


def test_a_plan_whose_exam_time_passed_is_neither_submitted_nor_approved(
    assessor, authority_staff, crane, centre
):
    draft = make_session(assessor, crane, centre, days=2)
    ExamSession.objects.filter(pk=draft.pk).update(
        theory_at=timezone.now() - timedelta(hours=1), practical_at=timezone.now()
    )
    draft.refresh_from_db()
    with pytest.raises(DomainError, match="理论考核时间已过"):
        services.session_submit(session=draft, actor=assessor)
    ExamSession.objects.filter(pk=draft.pk).update(status=SS.SUBMITTED)
    draft.refresh_from_db()
    with pytest.raises(DomainError, match="理论考核时间已过，不能批准；请将考试计划退回修改"):
        services.session_approve(session=draft, actor=authority_staff)
    assert ExamSession.objects.get(pk=draft.pk).status == SS.SUBMITTED

    # The way out: the authority returns it with why; the institution changes the time and
    # submits again, and the authority approves.
    with pytest.raises(DomainError, match="请填写退回原因"):
        services.session_return(session=draft, actor=authority_staff, reason="  ")
    returned = services.session_return(
        session=draft, actor=authority_staff, reason="理论考核时间已过，请调整后重新报审。"
    )
    assert returned.status == SS.DRAFT and returned.return_reason.startswith("理论考核时间已过")
    event = AuditEvent.objects.get(action="exams.session.returned")
    assert (event.actor_id, event.from_state, event.to_state) == (
        authority_staff.pk,
        SS.SUBMITTED,
        SS.DRAFT,
    )
    assert Notice.objects.filter(user=assessor, title__contains="考试计划被退回修改").exists()
    later = timezone.now() + timedelta(days=7)
    services.session_update(
        session=returned, actor=assessor, theory_at=later, practical_at=later + timedelta(days=1)
    )
    services.session_submit(session=returned, actor=assessor)
    approved = services.session_approve(session=returned, actor=authority_staff)
    assert approved.status == SS.APPROVED and approved.return_reason == ""


def test_only_a_submitted_plan_is_returned_and_only_by_its_people(
    assessor, authority_staff, other_authority_staff, other_institution_staff, crane, centre
):
    session = make_session(assessor, crane, centre)
    # A draft is already where a return leads: nothing changes, nothing is recorded.
    services.session_return(session=session, actor=authority_staff, reason="x")
    assert ExamSession.objects.get(pk=session.pk).return_reason == ""
    assert not AuditEvent.objects.filter(action="exams.session.returned").exists()
    services.session_submit(session=session, actor=assessor)
    for stranger in (other_authority_staff, other_institution_staff):
        with pytest.raises(DomainError, match="无权"):
            services.session_return(session=session, actor=stranger, reason="x")
    assert ExamSession.objects.get(pk=session.pk).status == SS.SUBMITTED
    # The planner may withdraw its own plan to change it; no notice to itself.
    services.session_return(session=session, actor=assessor, reason="考点有变，撤回修改")
    assert ExamSession.objects.get(pk=session.pk).status == SS.DRAFT
    assert not Notice.objects.filter(title__contains="考试计划被退回修改").exists()
    services.session_submit(session=session, actor=assessor)
    services.session_approve(session=session, actor=authority_staff)
    with pytest.raises(DomainError, match="仅“已报审”状态可以"):
        services.session_return(session=session, actor=authority_staff, reason="x")
    assert ExamSession.objects.get(pk=session.pk).status == SS.APPROVED


def test_a_training_institution_cannot_propose_to_another_authority(trainer, crane):
    ningbo = Institution.objects.get(name="宁波示例建设工程考核中心")
    now = timezone.now()
    with pytest.raises(DomainError):
        services.session_create(
            actor=trainer,
            name="x",
            trade=crane,
            assessment_institution=ningbo,
            theory_at=now + timedelta(days=10),
            practical_at=now + timedelta(days=11),
            venue="v",
            capacity=5,
        )
    assert not ExamSession.objects.exists()


def test_session_refuses_practical_before_theory(assessor, crane, centre):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.session_create(
            actor=assessor,
            name="x",
            trade=crane,
            assessment_institution=centre,
            theory_at=now + timedelta(days=2),
            practical_at=now + timedelta(days=1),
            venue="v",
            capacity=10,
        )
    assert "practical_at" in exc.value.message_dict


def _approved_candidates(n, crane, centre, school, trainer, authority_staff):
    apps = []
    for _ in range(n):
        user = make_candidate()
        app = medical(
            services.application_create(
                applicant=user,
                trade=crane,
                assessment_institution=centre,
                training_institution=school,
            )
        )
        app = services.application_submit(application=app, actor=user)
        app = services.application_institution_approve(application=app, actor=trainer)
        apps.append(services.application_approve(application=app, actor=authority_staff))
    return apps


def test_a_session_in_the_past_is_refused_and_a_held_one_takes_no_candidates(
    approved, assessor, authority_staff, crane, centre, time_machine
):
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        services.session_create(
            actor=assessor,
            name="x",
            trade=crane,
            assessment_institution=centre,
            theory_at=now - timedelta(days=1),
            practical_at=now,
            venue="v",
            capacity=10,
        )
    assert exc.value.message_dict["theory_at"] == ["理论考核时间须晚于现在。"]
    assert not ExamSession.objects.exists()

    session = make_session(assessor, crane, centre, approve_with=authority_staff, days=3)
    time_machine.move_to(session.theory_at + timedelta(hours=1))
    with pytest.raises(DomainError, match="理论考核时间已过，不能再安排考生。"):
        services.session_assign(session=session, actor=assessor, applications=[approved])
    approved.refresh_from_db()
    assert approved.status == A.APPROVED and approved.ticket_number is None


def test_assign_fills_in_order_of_approval_up_to_capacity(
    assessor, authority_staff, trainer, crane, centre, school, django_capture_on_commit_callbacks
):
    apps = _approved_candidates(3, crane, centre, school, trainer, authority_staff)
    session = make_session(assessor, crane, centre, capacity=2, approve_with=authority_staff)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.session_assign(session=session, actor=assessor)
    assert [a.pk for a in result.assigned] == [apps[0].pk, apps[1].pk]
    for app in apps[:2]:
        app.refresh_from_db()
        assert app.status == A.SCHEDULED and app.ticket_number and app.ticket_pdf
    apps[2].refresh_from_db()
    assert apps[2].status == A.APPROVED
    assert len({a.ticket_number for a in apps[:2]}) == 2
    assert Notice.objects.filter(user=apps[0].applicant, title__contains="准考证").exists()


def test_the_admin_says_how_many_candidates_a_full_session_left_waiting(
    client, assessor, authority_staff, trainer, crane, centre, school
):
    _approved_candidates(3, crane, centre, school, trainer, authority_staff)
    session = make_session(assessor, crane, centre, capacity=2, approve_with=authority_staff)
    client.force_login(assessor)
    response = client.post(
        "/admin/exams/examsession/",
        {"action": "assign", "_selected_action": [session.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert f"{session}：安排 2 人。" in shown
    assert f"{session}：考试计划已满，另有 1 名审核通过的考生未安排。" in shown


def test_assign_refused_unless_session_approved(approved, assessor, crane, centre):
    session = make_session(assessor, crane, centre)
    with pytest.raises(DomainError, match="已批准"):
        services.session_assign(session=session, actor=assessor, applications=[approved])
    approved.refresh_from_db()
    assert approved.status == A.APPROVED


def test_assign_skips_applications_of_another_trade(approved, assessor, authority_staff, centre):
    from exams.models import Trade

    other = make_session(
        assessor, Trade.objects.get(code="01"), centre, approve_with=authority_staff
    )
    result = services.session_assign(session=other, actor=assessor, applications=[approved])
    assert result.assigned == [] and len(result.skipped) == 1
    # Said in words staff can act on: which trade, against which.
    [(_application, why)] = result.skipped
    assert why == (f"报考工种为“{approved.trade.name}”，与本计划的工种“{other.trade.name}”不同。")


def test_assign_says_why_a_selected_application_is_not_placed(
    submitted, assessor, authority_staff, crane, centre
):
    session = make_session(assessor, crane, centre, approve_with=authority_staff)
    result = services.session_assign(session=session, actor=assessor, applications=[submitted])
    assert [why for _a, why in result.skipped] == [
        "状态为“已提交”，只有“审核通过”的报名可以安排考试。"
    ]


def test_assign_says_on_which_plan_a_candidate_already_is(
    approved, assessor, authority_staff, crane, centre
):
    first = make_session(assessor, crane, centre, approve_with=authority_staff)
    services.session_assign(session=first, actor=assessor, applications=[approved])
    second = make_session(assessor, crane, centre, approve_with=authority_staff)
    result = services.session_assign(session=second, actor=assessor, applications=[approved])
    assert [why for _a, why in result.skipped] == [f"已安排在考试计划“{first.name}”。"]


def test_assign_takes_only_candidates_who_chose_the_sessions_assessment_institution(
    approved, assessor, authority_staff, crane, centre
):
    """Two assessment institutions under one authority: a session of the second one never
    takes the candidates who chose the first, with or without a selection."""
    second_centre = Institution.objects.create(
        name="泉州第二考核中心", kind=Institution.Kind.ASSESSMENT, authority=centre.authority
    )
    second_assessor = staff_factory(institution=second_centre)
    theirs = make_session(second_assessor, crane, second_centre, approve_with=authority_staff)

    result = services.session_assign(session=theirs, actor=second_assessor)
    assert result.assigned == []
    result = services.session_assign(session=theirs, actor=authority_staff, applications=[approved])
    assert result.assigned == []
    [(skipped, why)] = result.skipped
    assert skipped.pk == approved.pk and "考核机构" in why
    approved.refresh_from_db()
    assert approved.status == A.APPROVED and approved.session_id is None

    ours = make_session(assessor, crane, centre, approve_with=authority_staff)
    assert [a.pk for a in services.session_assign(session=ours, actor=assessor).assigned] == [
        approved.pk
    ]


def test_the_authority_moves_an_approved_exam_and_every_candidate_gets_a_new_ticket(
    client, scheduled, assessor, authority_staff, django_capture_on_commit_callbacks
):
    session = scheduled.session
    old_ticket = scheduled.ticket_pdf.name
    later = timezone.localtime(session.theory_at) + timedelta(days=7)
    with pytest.raises(DomainError):  # the authority's decision, not the centre's
        services.session_reschedule(
            session=session,
            actor=assessor,
            theory_at=later,
            practical_at=later + timedelta(days=1),
            venue="泉州市新考点",
        )
    with pytest.raises(ValidationError) as exc:
        services.session_reschedule(
            session=session,
            actor=authority_staff,
            theory_at=timezone.now() - timedelta(days=1),
            practical_at=later,
            venue="泉州市新考点",
        )
    assert "theory_at" in exc.value.message_dict

    with django_capture_on_commit_callbacks(execute=True):
        moved = services.session_reschedule(
            session=session,
            actor=authority_staff,
            theory_at=later,
            practical_at=later + timedelta(days=1),
            venue="泉州市新考点",
        )
    assert (moved.theory_at, moved.venue) == (later, "泉州市新考点")
    scheduled.refresh_from_db()
    assert scheduled.ticket_pdf.name != old_ticket  # drawn again with the new time
    notice = Notice.objects.get(user=scheduled.applicant, title__contains="考试时间或地点已调整")
    assert "泉州市新考点" in notice.body and f"{later:%Y-%m-%d %H:%M}" in notice.body
    event = AuditEvent.objects.get(action="exams.session.rescheduled")
    assert event.data["fields"] == ["theory_at", "practical_at", "venue"]
    assert event.data["to"]["venue"] == "泉州市新考点" and event.data["from"]["venue"] != ""
    assert not default_storage.exists(old_ticket)  # no one downloads the old time any more

    # The same again changes nothing.
    services.session_reschedule(
        session=session,
        actor=authority_staff,
        theory_at=later,
        practical_at=later + timedelta(days=1),
        venue="泉州市新考点",
    )
    assert AuditEvent.objects.filter(action="exams.session.rescheduled").count() == 1

    # In the admin, the authority may change the time and venue of an approved session.
    client.force_login(authority_staff)
    page = client.get(f"/admin/exams/examsession/{session.pk}/change/").content.decode()
    assert 'name="theory_at_0"' in page and 'name="venue"' in page
    again = later + timedelta(days=2)
    response = client.post(
        f"/admin/exams/examsession/{session.pk}/change/",
        {
            "theory_at_0": f"{again:%Y-%m-%d}",
            "theory_at_1": f"{again:%H:%M:%S}",
            "practical_at_0": f"{again + timedelta(days=1):%Y-%m-%d}",
            "practical_at_1": f"{again:%H:%M:%S}",
            "venue": "泉州市第三考点",
            "applications-TOTAL_FORMS": "1",
            "applications-INITIAL_FORMS": "1",
            "applications-MIN_NUM_FORMS": "0",
            "applications-MAX_NUM_FORMS": "1000",
            "applications-0-id": str(scheduled.pk),
            "applications-0-session": str(session.pk),
            "applications-0-theory_score": "",
            "applications-0-practical_score": "",
            "_save": "保存",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ExamSession.objects.get(pk=session.pk).venue == "泉州市第三考点"
    assert AuditEvent.objects.filter(action="exams.session.rescheduled").count() == 2
    client.force_login(assessor)
    page = client.get(f"/admin/exams/examsession/{session.pk}/change/").content.decode()
    assert 'name="theory_at_0"' not in page


def test_the_practical_exam_moves_after_the_theory_exam_is_held(
    scheduled, authority_staff, time_machine
):
    session = scheduled.session
    time_machine.move_to(session.theory_at + timedelta(hours=2))
    later = session.practical_at + timedelta(days=3)
    moved = services.session_reschedule(
        session=session,
        actor=authority_staff,
        theory_at=session.theory_at,
        practical_at=later,
        venue=session.venue,
    )
    assert moved.practical_at == later
    with pytest.raises(ValidationError) as exc:
        services.session_reschedule(
            session=session,
            actor=authority_staff,
            theory_at=session.theory_at + timedelta(hours=1),
            practical_at=later,
            venue=session.venue,
        )
    assert "理论考核已于" in exc.value.message_dict["theory_at"][0]


def test_an_exam_that_has_begun_keeps_its_time_and_its_scores(
    scheduled, assessor, authority_staff, time_machine
):
    """Scores are entered once an exam has begun; that exam's time then stays, so a session
    is never moved into the future with scores already in it."""
    session = scheduled.session
    time_machine.move_to(session.practical_at + timedelta(hours=2))
    services.score_record(
        application=scheduled, actor=assessor, theory=Decimal(80), practical=Decimal(70)
    )
    for field, moved in (
        ("theory_at", {"theory_at": session.theory_at + timedelta(days=30)}),
        ("practical_at", {"practical_at": session.practical_at + timedelta(days=30)}),
    ):
        times = {"theory_at": session.theory_at, "practical_at": session.practical_at, **moved}
        if field == "theory_at":
            times["practical_at"] = times["theory_at"] + timedelta(days=1)
        with pytest.raises(ValidationError) as exc:
            services.session_reschedule(
                session=session, actor=authority_staff, venue=session.venue, **times
            )
        assert "开始，时间不能再调整" in exc.value.message_dict[field][0]
    session.refresh_from_db()
    scheduled.refresh_from_db()
    assert session.practical_at < timezone.now()
    assert (scheduled.theory_score, scheduled.practical_score) == (80, 70)
    assert not AuditEvent.objects.filter(action="exams.session.rescheduled").exists()


def test_admission_ticket_pdf_has_number_and_name(scheduled):
    need(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-layout", scheduled.ticket_pdf.path, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert scheduled.ticket_number in text and "王小明" in text
    assert scheduled.applicant.profile.id_number not in text


def test_score_record_rules(scheduled, assessor):
    hold(scheduled.session)
    with pytest.raises(ValidationError, match="不参加实操"):
        services.score_record(
            application=scheduled, actor=assessor, theory=Decimal("59"), practical=Decimal("80")
        )
    with pytest.raises(ValidationError, match="缺考"):
        services.score_record(
            application=scheduled, actor=assessor, theory=Decimal("80"), practical=None, absent=True
        )
    services.score_record(
        application=scheduled, actor=assessor, theory=Decimal("80"), practical=Decimal("75")
    )
    services.score_record(
        application=scheduled, actor=assessor, theory=Decimal("80"), practical=Decimal("75")
    )
    assert AuditEvent.objects.filter(action="exams.application.scored").count() == 1


def test_no_score_or_absence_before_the_theory_exam(scheduled, assessor):
    """A score before the exam would be invented: refused, by hand and by file, until the
    session's theory exam has begun; nothing is stored or audited."""
    session = scheduled.session
    for theory, absent in ((Decimal("80"), False), (None, True)):
        with pytest.raises(DomainError, match=r"理论考核（.*）尚未开始") as exc:
            services.score_record(
                application=scheduled, actor=assessor, theory=theory, practical=None, absent=absent
            )
        assert exc.value.code == "not_held"
    number = scheduled.applicant.profile.id_number
    with pytest.raises(DomainError, match="尚未开始"):
        services.score_import(
            session=session,
            actor=assessor,
            data=csv_bytes([[scheduled.ticket_number, number, 80, "", ""]]),
            filename="s.csv",
        )
    scheduled.refresh_from_db()
    assert (scheduled.theory_score, scheduled.absent) == (None, False)
    assert not AuditEvent.objects.filter(action__startswith="exams.application.scored").exists()
    assert not AuditEvent.objects.filter(action="exams.session.scores_imported").exists()

    hold(session)
    services.score_record(
        application=scheduled, actor=assessor, theory=Decimal("80"), practical=None
    )
    scheduled.refresh_from_db()
    assert scheduled.theory_score == Decimal("80")


def test_practical_scores_wait_for_the_practical_exam(session, assessor):
    """Between the two exams the theory scores (and absences) may be entered; a practical
    score is refused, naming its column in a file, and the file changes nothing."""
    (a, number), (b, _b_number) = bulk_scheduled(session, 2)
    hold(session, theory_days_ago=1, practical_days_ago=-1)
    with pytest.raises(ValidationError, match=r"实操考核（.*）尚未开始"):
        services.score_record(
            application=a, actor=assessor, theory=Decimal("80"), practical=Decimal("70")
        )
    with pytest.raises(ImportRefused) as exc:
        services.score_import(
            session=session,
            actor=assessor,
            data=csv_bytes([[a.ticket_number, number, 80, 70, ""]]),
            filename="s.csv",
        )
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "实操成绩")]
    assert "尚未开始" in exc.value.errors[0].message
    assert not ExamApplication.objects.filter(theory_score__isnull=False).exists()

    services.score_record(application=a, actor=assessor, theory=Decimal("80"), practical=None)
    services.score_record(application=b, actor=assessor, theory=None, practical=None, absent=True)
    a.refresh_from_db()
    assert (a.theory_score, a.practical_score) == (Decimal("80"), None)

    hold(session)
    services.score_record(
        application=a, actor=assessor, theory=Decimal("80"), practical=Decimal("70")
    )
    a.refresh_from_db()
    assert a.practical_score == Decimal("70")


def test_staff_of_another_institution_cannot_score(scheduled, other_institution_staff):
    with pytest.raises(DomainError, match="无权录入这份考试计划的成绩"):
        services.score_record(
            application=scheduled,
            actor=other_institution_staff,
            theory=Decimal("80"),
            practical=Decimal("80"),
        )


def csv_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["准考证号", "身份证号", "理论成绩", "实操成绩", "缺考"])
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["准考证号", "身份证号", "理论成绩", "实操成绩", "缺考"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_score_import_from_csv_and_xlsx(session, assessor):
    candidates = bulk_scheduled(session, 4)
    hold(session)
    rows = [[a.ticket_number, number, 85, 90, "否"] for a, number in candidates[:2]]
    assert (
        services.score_import(
            session=session, actor=assessor, data=csv_bytes(rows), filename="s.csv"
        )
        == 2
    )
    rows = [[a.ticket_number, number.lower(), 55.0, None, None] for a, number in candidates[2:3]]
    rows += [[candidates[3][0].ticket_number, candidates[3][1], None, None, "是"]]
    assert (
        services.score_import(
            session=session, actor=assessor, data=xlsx_bytes(rows), filename="s.xlsx"
        )
        == 2
    )
    first, _, low, absent = (ExamApplication.objects.get(pk=a.pk) for a, _n in candidates)
    assert (first.theory_score, first.practical_score) == (Decimal("85"), Decimal("90"))
    assert (low.theory_score, low.practical_score) == (Decimal("55"), None)
    assert absent.absent


def test_score_import_with_one_bad_row_among_200_changes_nothing(session, assessor):
    candidates = bulk_scheduled(session, 200)
    hold(session)
    rows = [[a.ticket_number, number, 80, 85, ""] for a, number in candidates]
    rows[136][3] = 101
    with pytest.raises(ImportRefused) as exc:
        services.score_import(
            session=session, actor=assessor, data=csv_bytes(rows), filename="s.csv"
        )
    assert [(e.row, e.column) for e in exc.value.errors] == [(138, "实操成绩")]
    assert not ExamApplication.objects.filter(theory_score__isnull=False).exists()
    assert not AuditEvent.objects.filter(
        action__in=["exams.application.scored", "exams.session.scores_imported"]
    ).exists()


def test_score_import_reports_wrong_ticket_id_mismatch_and_rule_breaks(session, assessor):
    (a, number), (b, other_number) = bulk_scheduled(session, 2)
    hold(session)
    rows = [
        ["NOPE", number, 80, 80, ""],
        [a.ticket_number, other_number, 80, 80, ""],
        [b.ticket_number, other_number, 40, 80, ""],
    ]
    with pytest.raises(ImportRefused) as exc:
        services.score_import(
            session=session, actor=assessor, data=csv_bytes(rows), filename="s.csv"
        )
    messages = {e.row: e.message for e in exc.value.errors}
    assert "不属于本考试计划" in messages[2]
    assert "不一致" in messages[3]
    assert "不参加实操" in messages[4]
    assert all(other_number not in e.message for e in exc.value.errors)
    # Every error names its column, the rule breaks too: the cell to fix.
    assert {e.row: e.column for e in exc.value.errors}[4] == "实操成绩"
    assert all(e.column for e in exc.value.errors)


def test_score_import_names_the_column_of_an_absent_candidate_with_scores(session, assessor):
    [(a, number)] = bulk_scheduled(session, 1)
    hold(session)
    with pytest.raises(ImportRefused) as exc:
        services.score_import(
            session=session,
            actor=assessor,
            data=csv_bytes([[a.ticket_number, number, 70, "", "是"]]),
            filename="s.csv",
        )
    assert [(e.row, e.column, e.message) for e in exc.value.errors] == [
        (2, "缺考", "缺考的考生不能有成绩。")
    ]


@pytest.mark.parametrize(
    ("marks", "scores", "expected"),
    [
        # The defaults (60 / 70): each mark itself passes, a tenth below fails.
        # (A theory failure sits no practical exam: no practical score.)
        (None, [(60, 70), ("59.9", None), (90, "69.9"), (60, "70.0")], ["p", "f", "f", "p"]),
        # An authority with its own marks (80 / 60): the same scores read differently.
        ((80, 60), [(60, None), ("79.9", None), (80, 60), (90, "59.9")], ["f", "f", "p", "f"]),
    ],
)
def test_publish_applies_the_authoritys_pass_marks_at_their_edges(
    session, assessor, authority_staff, marks, scores, expected
):
    from exams.selectors import policy_for

    if marks is not None:
        policy = policy_for(session.authority)
        policy.theory_pass_mark, policy.practical_pass_mark = marks
        policy.save()
    candidates = bulk_scheduled(session, len(scores))
    hold(session)
    for (app, _n), (theory, practical) in zip(candidates, scores, strict=True):
        services.score_record(
            application=app,
            actor=assessor,
            theory=Decimal(str(theory)),
            practical=None if practical is None else Decimal(str(practical)),
        )
    services.session_publish_scores(session=session, actor=authority_staff)
    statuses = [ExamApplication.objects.get(pk=a.pk).status for a, _n in candidates]
    assert statuses == [A.PASSED if e == "p" else A.FAILED for e in expected]


def test_publish_sets_passed_failed_and_tells_applicants(session, assessor, authority_staff):
    candidates = bulk_scheduled(session, 4)
    hold(session)
    for (app, _n), scores in zip(candidates, [(90, 80), (90, 60), (50, None), None], strict=True):
        if scores is None:
            services.score_record(
                application=app, actor=assessor, theory=None, practical=None, absent=True
            )
        else:
            services.score_record(
                application=app,
                actor=assessor,
                theory=Decimal(scores[0]),
                practical=Decimal(scores[1]) if scores[1] is not None else None,
            )
    for n, (app, _n) in enumerate(candidates):
        app.applicant.email = f"worker{n}@example.com"
        app.applicant.save()

    published = services.session_publish_scores(session=session, actor=authority_staff)
    assert published.status == SS.SCORES_PUBLISHED and published.published_at
    statuses = [ExamApplication.objects.get(pk=a.pk).status for a, _n in candidates]
    assert statuses == [A.PASSED, A.FAILED, A.FAILED, A.FAILED]
    assert Notice.objects.filter(title__contains="考核成绩已发布").count() == 4
    assert AuditEvent.objects.filter(action="exams.application.passed").count() == 1
    services.session_publish_scores(session=session, actor=authority_staff)
    assert Notice.objects.filter(title__contains="考核成绩已发布").count() == 4


def test_publish_refused_while_a_candidate_has_no_result(session, assessor, authority_staff):
    (a, _), (b, _) = bulk_scheduled(session, 2)
    hold(session)
    services.score_record(application=a, actor=assessor, theory=Decimal(90), practical=Decimal(90))
    services.score_record(application=b, actor=assessor, theory=Decimal(90), practical=None)
    with pytest.raises(DomainError, match=b.ticket_number):
        services.session_publish_scores(session=session, actor=authority_staff)
    assert ExamApplication.objects.get(pk=a.pk).status == A.SCHEDULED
    # The refusal says what was refused and who may: not "this application".
    with pytest.raises(DomainError, match="无权发布成绩：只有发证机关工作人员可以发布"):
        services.session_publish_scores(session=session, actor=assessor)


def test_publish_mails_after_commit(
    session, assessor, authority_staff, django_capture_on_commit_callbacks
):
    ((app, _),) = bulk_scheduled(session, 1)
    hold(session)
    app.applicant.email = "worker@example.com"
    app.applicant.save()
    services.score_record(
        application=app, actor=assessor, theory=Decimal(90), practical=Decimal(90)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.session_publish_scores(session=session, actor=authority_staff)
    assert len(mail.outbox) == 1 and "考核合格" in mail.outbox[0].subject


def test_scores_cannot_change_after_publication(session, assessor, authority_staff):
    ((app, _),) = bulk_scheduled(session, 1)
    hold(session)
    services.score_record(
        application=app, actor=assessor, theory=Decimal(90), practical=Decimal(90)
    )
    services.session_publish_scores(session=session, actor=authority_staff)
    with pytest.raises(DomainError):
        services.score_record(application=app, actor=assessor, theory=Decimal(10), practical=None)


def test_a_ticket_whose_render_was_lost_is_rendered_by_the_sweep(approved, session, assessor):
    """The render message is sent after commit; if it is lost (the broker down, a worker
    killed before it took it), the periodic sweep sends it again, once per missing ticket."""
    # Outside django_capture_on_commit_callbacks the render sent after commit never runs:
    # the message is lost.
    services.session_assign(session=session, actor=assessor, applications=[approved])
    approved.refresh_from_db()
    assert approved.status == A.SCHEDULED and not approved.ticket_pdf
    assert tickets_missing_ids() == []  # just scheduled: its message may still be queued
    ExamApplication.objects.filter(pk=approved.pk).update(
        updated_at=timezone.now() - timedelta(minutes=11)
    )
    assert tickets_missing_ids() == [approved.pk]

    assert enqueue_missing_tickets.apply(throw=True).get() == 1
    approved.refresh_from_db()
    assert approved.ticket_pdf and approved.ticket_pdf.storage.exists(approved.ticket_pdf.name)
    assert tickets_missing_ids() == []
    assert enqueue_missing_tickets.apply(throw=True).get() == 0  # nothing sent twice

    # And a render interrupted by its worker's death is handed out again, not dropped.
    assert render_admission_ticket.acks_late and render_admission_ticket.reject_on_worker_lost
    sweep = settings.CELERY_BEAT_SCHEDULE["render-missing-tickets"]
    assert sweep["task"] in celery_app.tasks and sweep["schedule"] <= 600


def test_an_institution_cannot_approve_its_own_plan_under_a_province_level_authority(crane):
    """A province-level authority (Beijing's) has no parent, and an institution's staff have no
    authority: they must still not pass as the authority that approves and publishes."""
    beijing = Authority.objects.get(pk=110000)
    centre = Institution.objects.create(
        name="北京示例考核中心", kind=Institution.Kind.ASSESSMENT, authority=beijing
    )
    assessor = staff_factory(institution=centre)
    session = make_session(assessor, crane, centre)
    services.session_submit(session=session, actor=assessor)
    with pytest.raises(DomainError, match="无权"):
        services.session_approve(session=session, actor=assessor)
    session.refresh_from_db()
    assert session.status == SS.SUBMITTED
    session = services.session_approve(session=session, actor=staff_factory(authority=beijing))
    assert session.status == SS.APPROVED
    with pytest.raises(DomainError, match="无权"):
        services.session_publish_scores(session=session, actor=assessor)
    session.refresh_from_db()
    assert session.status == SS.APPROVED


def test_a_started_exam_whose_time_has_seconds_can_still_be_saved_with_its_scores(
    client, scheduled, authority_staff, time_machine
):
    """Times are entered to the minute: a stored time with seconds comes back from the
    admin's form without them, which is no change, so the page of a held exam still saves
    (its scores) instead of saying its time can no longer be adjusted."""
    session = scheduled.session
    ExamSession.objects.filter(pk=session.pk).update(
        theory_at=session.theory_at.replace(second=37),
        practical_at=session.practical_at.replace(second=12),
    )
    session.refresh_from_db()
    time_machine.move_to(session.practical_at + timedelta(hours=2))  # both exams held
    theory, practical = (timezone.localtime(t) for t in (session.theory_at, session.practical_at))

    # As the form sends them: to the minute. Nothing changes, nothing is recorded.
    same = services.session_reschedule(
        session=session,
        actor=authority_staff,
        theory_at=theory.replace(second=0),
        practical_at=practical.replace(second=0),
        venue=session.venue,
    )
    assert (same.theory_at, same.practical_at) == (session.theory_at, session.practical_at)
    assert not AuditEvent.objects.filter(action="exams.session.rescheduled").exists()

    # Another minute is still refused once the exam has begun.
    with pytest.raises(ValidationError) as exc:
        services.session_reschedule(
            session=session,
            actor=authority_staff,
            theory_at=theory.replace(second=0) + timedelta(minutes=1),
            practical_at=practical,
            venue=session.venue,
        )
    assert "时间不能再调整" in exc.value.message_dict["theory_at"][0]
    session.refresh_from_db()
    assert session.theory_at.second == 37
