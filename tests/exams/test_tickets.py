import os
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO

import pytest
from PIL import Image, ImageDraw

from certportal import pdf
from certportal.pdf import MissingGlyphError
from conftest import need
from exams.tickets import TITLE, TicketData, format_exam_time, render_admission_ticket

TICKET_NUMBER = "T350500202612050001"


def need_poppler() -> None:
    need(shutil.which("pdftotext") is not None, "poppler-utils")


def need_rare_character_fonts() -> None:
    for path in (pdf.HANAMIN_A_PATH, pdf.HANAMIN_B_PATH):
        need(os.path.exists(path), f"font {path} (fonts-hanazono)")


def photo_jpeg() -> bytes:
    """A 1-inch ID photo: white background, a face and shoulders."""
    image = Image.new("RGB", (295, 413), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((75, 60, 220, 250), fill=(214, 170, 140))
    draw.rectangle((40, 270, 255, 413), fill=(30, 60, 120))
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def ticket() -> TicketData:
    return TicketData(
        ticket_number=TICKET_NUMBER,
        name="王小明",
        masked_id_number="3505**********1234",
        sex="男",
        trade_name="建筑起重司索信号工",
        assessment_institution="泉州市建设职业技术培训中心",
        authority_name="泉州市住房和城乡建设局",
        theory_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        practical_at=datetime(2026, 12, 6, 6, 30, tzinfo=UTC),
        venue="福建省泉州市丰泽区东海街道建设培训基地",
        photo=photo_jpeg(),
        verify_text=TICKET_NUMBER,
    )


def write(data: bytes, tmp_path) -> str:
    path = tmp_path / "ticket.pdf"
    path.write_bytes(data)
    return str(path)


def pdftotext(data: bytes, tmp_path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", write(data, tmp_path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout


def test_render_admission_ticket_text_comes_back_from_pdftotext(ticket, tmp_path):
    need_poppler()
    text = pdftotext(render_admission_ticket(ticket), tmp_path)
    for expected in (
        TITLE,
        TICKET_NUMBER,
        "王小明",
        "3505**********1234",
        "建筑起重司索信号工",
        "泉州市建设职业技术培训中心",
        "泉州市住房和城乡建设局",
        "福建省泉州市丰泽区东海街道建设培训基地",
        "考生须知",
        "30分钟",
    ):
        assert expected in text


def test_render_admission_ticket_shows_exam_times_in_beijing_time(ticket, tmp_path):
    need_poppler()
    text = pdftotext(render_admission_ticket(ticket), tmp_path)
    assert "2026年12月5日 09:00" in text
    assert "2026年12月6日 14:30" in text


def test_format_exam_time_converts_to_asia_shanghai():
    assert format_exam_time(datetime(2026, 12, 4, 16, 5, tzinfo=UTC)) == "2026年12月5日 00:05"


def test_render_admission_ticket_embeds_subsetted_fonts(ticket, tmp_path):
    need_poppler()
    output = subprocess.run(
        ["pdffonts", write(render_admission_ticket(ticket), tmp_path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    fonts = [line.split() for line in output.splitlines()[2:] if line.strip()]
    assert fonts
    for name, *_, emb, sub, uni, _object_id, _generation in fonts:
        assert (emb, sub, uni) == ("yes", "yes", "yes"), name
        assert name[6] == "+", name  # the subset tag, ABCDEF+


def test_render_admission_ticket_qr_reads_the_ticket_number(ticket, tmp_path):
    need_poppler()
    need(shutil.which("zbarimg") is not None, "zbar-tools")
    path = write(render_admission_ticket(ticket), tmp_path)
    subprocess.run(["pdftoppm", "-r", "150", "-png", path, str(tmp_path / "page")], check=True)
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", *map(str, sorted(tmp_path.glob("page*.png")))],
        capture_output=True,
        text=True,
    )
    assert result.stdout.splitlines() == [TICKET_NUMBER]


@pytest.mark.parametrize("name", ["李䶮", "吉𠮷", "㐀𪚥"], ids=["ext-a", "ext-b", "ext-a-and-b"])
def test_render_admission_ticket_rare_name_characters_come_back(ticket, tmp_path, name):
    need_poppler()
    need_rare_character_fonts()
    text = pdftotext(render_admission_ticket(replace(ticket, name=name)), tmp_path)
    assert name in text


def test_render_admission_ticket_refuses_a_character_no_font_has(ticket):
    with pytest.raises(MissingGlyphError, match="U\\+10FFFD"):
        render_admission_ticket(replace(ticket, name="王\U0010fffd"))


def test_render_admission_ticket_is_deterministic(ticket):
    assert render_admission_ticket(ticket) == render_admission_ticket(replace(ticket))


def test_render_admission_ticket_embeds_the_jpeg_photo_unchanged(ticket):
    data = render_admission_ticket(ticket)
    assert ticket.photo in data
    assert len(data) < 150_000


def test_render_admission_ticket_without_photo_marks_the_place(ticket, tmp_path):
    need_poppler()
    data = render_admission_ticket(replace(ticket, photo=None))
    assert b"/Subtype /Image" not in data
    assert "照片" in pdftotext(data, tmp_path)


def test_render_admission_ticket_wraps_a_long_venue(ticket, tmp_path):
    need_poppler()
    venue = "福建省泉州市丰泽区东海街道" + "某某路八十八号建设培训基地实操考核场地" * 9
    assert len(venue) < 200  # ExamSession.venue's max_length
    text = pdftotext(render_admission_ticket(replace(ticket, venue=venue)), tmp_path)
    assert "".join(text.split()).count("某某路八十八号建设培训基地实操考核场地") == 9


def test_render_admission_ticket_refuses_a_value_too_long_for_its_cell(ticket):
    from exams.tickets import ValueTooLong

    with pytest.raises(ValueTooLong, match="考核地点") as exc:
        render_admission_ticket(replace(ticket, venue="考" * 600))
    # Staff read it in Chinese, with what to do.
    assert exc.value.explain() == (
        "“考核地点”内容过长，准考证上排不下。请修改后用“重新生成准考证”再次生成。"
    )


def test_ticket_data_refuses_naive_times_and_unknown_sex(ticket):
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(ticket, theory_at=datetime(2026, 12, 5, 9, 0))
    with pytest.raises(ValueError, match="男 or 女"):
        replace(ticket, sex="M")


def test_a_ticket_drawn_while_its_session_moved_is_drawn_again(scheduled, monkeypatch):
    """Two forced redraws (a session moved twice, a name corrected beside it) may finish in
    either order: the one that finds its drawing stale throws it away and draws again."""
    from exams.models import ExamSession
    from exams.services import tickets

    real = tickets.render_admission_ticket_pdf
    drawn = []

    def moving_while_drawing(data):
        drawn.append(data)
        if len(drawn) == 1:  # someone moves the session while the first drawing is made
            ExamSession.objects.filter(pk=scheduled.session_id).update(venue="泉州市临时考点")
        return real(data)

    first_venue = ExamSession.objects.get(pk=scheduled.session_id).venue
    monkeypatch.setattr(tickets, "render_admission_ticket_pdf", moving_while_drawing)
    row = tickets.ticket_render(application_pk=scheduled.pk, force=True)
    assert [d.venue for d in drawn] == [first_venue, "泉州市临时考点"]
    assert row.ticket_pdf


def test_the_ticket_prints_the_name_the_application_was_reviewed_under(scheduled):
    """The profile may be edited while another application of the person is returned; a
    ticket drawn again (a session moved) keeps the reviewed name, as the certificate will."""
    from applicants.models import Profile
    from exams.services.tickets import ticket_data

    reviewed = scheduled.submitted_name
    assert reviewed
    Profile.objects.filter(user_id=scheduled.applicant_id).update(name="王大明")
    scheduled.refresh_from_db()
    assert ticket_data(scheduled).name == reviewed
