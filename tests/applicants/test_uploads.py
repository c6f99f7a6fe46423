import io
import re

import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageDraw, ImageFile, PngImagePlugin

from applicants import uploads
from applicants.uploads import (
    CleanFile,
    MaterialKind,
    MaterialRules,
    make_thumbnail,
    validate_material,
)
from tests.applicants.corpus import (
    KB,
    bad_uploads,
    good_id_scan,
    good_pdf,
    good_photo,
    image_bytes,
    jpeg_bytes,
    one_colour_png,
    pad_jpeg,
    photo_jpeg,
    portrait,
    scan,
    with_sof_size,
)

EXIF_MAKE, EXIF_MODEL, EXIF_DATETIME = 0x010F, 0x0110, 0x0132


def error_codes(caught: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error.code for error in caught.value.error_list}


def jpeg_markers(data: bytes) -> list[bytes]:
    """The headers of the segments before the first scan: marker and, for APPn, its tag."""
    markers, pos = [], 2
    while data[pos + 1] != 0xDA:
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        markers.append(data[pos : pos + 2] + data[pos + 4 : pos + 4 + min(length - 2, 12)])
        pos += 2 + length
    return markers


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def scan_data(data: bytes) -> bytes:
    """From the first start-of-scan marker to the end-of-image marker."""
    return data[data.index(b"\xff\xda") : data.rindex(b"\xff\xd9") + 2]


@pytest.mark.parametrize("upload", bad_uploads(), ids=lambda upload: upload.name)
def test_bad_upload_is_refused_with_its_rule(upload):
    with pytest.raises(ValidationError) as caught:
        validate_material(upload.kind, upload.data)

    assert upload.code in error_codes(caught)
    assert any(upload.message in message for message in caught.value.messages), (
        caught.value.messages
    )


def test_corpus_has_enough_distinct_hostile_files():
    corpus = bad_uploads()

    assert len(corpus) >= 25
    assert len({upload.name for upload in corpus}) == len(corpus)
    assert {upload.kind for upload in corpus} == set(MaterialKind.values)


def test_material_kind_labels_are_chinese():
    assert MaterialKind.PHOTO.label == "电子照片"
    assert MaterialKind.MEDICAL.label == "体检合格证明"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        validate_material("passport", photo_jpeg(60 * KB))


def test_good_photo_is_accepted_as_jpeg():
    clean = validate_material("photo", good_photo())

    assert isinstance(clean, CleanFile)
    assert (clean.extension, clean.content_type) == ("jpg", "image/jpeg")
    assert (clean.width, clean.height) == (358, 500)
    assert Image.open(io.BytesIO(clean.content)).size == (358, 500)


def test_photo_at_the_minimum_size_plus_one_byte_is_accepted():
    assert validate_material("photo", photo_jpeg(30 * KB + 1)).extension == "jpg"
    assert validate_material("photo", photo_jpeg(100 * KB - 1)).extension == "jpg"


@pytest.mark.parametrize("size", [30 * KB, 100 * KB])
def test_photo_size_bounds_are_strict(size):
    data = photo_jpeg(size)
    assert len(data) == size

    with pytest.raises(ValidationError) as caught:
        validate_material("photo", data)

    assert error_codes(caught) == {"photo_size"}
    assert caught.value.messages == [f"照片大小为 {size // KB} KB，须大于 30 KB 且小于 100 KB。"]


def test_photo_size_is_measured_as_uploaded_and_rounded_away_from_the_range():
    with pytest.raises(ValidationError, match=r"照片大小为 100\.1 KB"):
        validate_material("photo", photo_jpeg(100 * KB + 1))


def test_photo_multiple_failures_are_reported_together():
    image = portrait(500, 300, background=(40, 40, 40))
    data = photo_jpeg(120 * KB, image)

    with pytest.raises(ValidationError) as caught:
        validate_material("photo", data)

    assert error_codes(caught) == {
        "photo_size",
        "photo_too_small",
        "photo_aspect",
        "photo_background",
    }
    assert "照片大小为 120 KB，须大于 30 KB 且小于 100 KB。" in caught.value.messages
    assert "照片至少 295×413 像素，当前为 500×300 像素。" in caught.value.messages


def test_photo_background_tolerates_light_grey_and_a_little_hair():
    grey = portrait(background=(235, 235, 232))
    hair = portrait()
    ImageDraw.Draw(hair).ellipse((150, -40, 210, 40), fill=(20, 15, 10))

    assert validate_material("photo", photo_jpeg(60 * KB, grey)).width == 358
    assert validate_material("photo", photo_jpeg(60 * KB, hair)).width == 358


def test_photo_background_message_gives_the_non_white_share():
    image = portrait()
    ImageDraw.Draw(image).rectangle((0, 0, 30, 500), fill=(90, 90, 90))

    with pytest.raises(ValidationError) as caught:
        validate_material("photo", photo_jpeg(60 * KB, image))

    assert error_codes(caught) == {"photo_background"}
    share = re.search(r"照片边缘有 (\d+)% 的像素不是白色", caught.value.messages[0])
    assert share and 20 <= int(share.group(1)) <= 40


def test_photo_exif_is_stripped_without_reencoding():
    exif = Image.Exif()
    exif[EXIF_MAKE] = "Canon"
    exif[EXIF_MODEL] = "EOS R5 serial 0123456789"
    exif[EXIF_DATETIME] = "2024:05:01 09:30:00"
    original = photo_jpeg(60 * KB, portrait(), exif=exif, quality=92)
    assert b"Exif\x00\x00" in original

    clean = validate_material("photo", original)

    assert b"Exif\x00\x00" not in clean.content
    assert b"Canon" not in clean.content
    assert not Image.open(io.BytesIO(clean.content)).getexif()
    assert Image.open(io.BytesIO(clean.content)).size == (358, 500)
    assert scan_data(original) in clean.content  # the compressed picture, byte for byte
    assert (
        Image.open(io.BytesIO(clean.content)).tobytes()
        == Image.open(io.BytesIO(original)).tobytes()
    )


def test_photo_xmp_icc_comment_and_appended_data_are_stripped():
    picture = jpeg_bytes(portrait(noise=120), quality=92)
    segments = [
        segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>王小明</x:xmpmeta>".encode()),
        segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"p" * 128),
        segment(0xED, b"Photoshop 3.0\x008BIM"),
        segment(0xFE, b"<?php system($_GET['c']); ?>"),
    ]
    tampered = picture[:2] + b"".join(segments) + picture[2:] + b"<?php echo 'appended'; ?>"

    clean = validate_material("photo", pad_jpeg(tampered, 60 * KB))

    assert [marker[:2] for marker in jpeg_markers(clean.content)].count(b"\xff\xe0") == 1
    assert not {marker[:2] for marker in jpeg_markers(clean.content)} & {
        b"\xff\xe1",
        b"\xff\xe2",
        b"\xff\xed",
        b"\xff\xfe",
    }
    assert b"php" not in clean.content
    assert b"xmpmeta" not in clean.content
    assert clean.content.endswith(b"\xff\xd9")


def test_cmyk_jpeg_keeps_its_adobe_segment():
    cmyk = scan(800, 500).convert("CMYK")
    data = image_bytes(cmyk, "JPEG", quality=90)

    clean = validate_material("education_proof", data)

    assert b"Adobe" in clean.content
    assert Image.open(io.BytesIO(clean.content)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_truncated_jpeg_is_refused_even_when_pillow_tolerates_truncation(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    picture = jpeg_bytes(portrait(noise=150), quality=95)

    with pytest.raises(ValidationError) as caught:
        validate_material("education_proof", picture[: len(picture) * 8 // 10])

    assert error_codes(caught) == {"corrupt_image"}


@pytest.mark.parametrize(
    ("width", "height", "image_format"),
    [(856, 540, "JPEG"), (900, 600, "PNG"), (600, 900, "JPEG"), (540, 540, "PNG")],
)
def test_id_scan_within_900_by_600_is_accepted_in_either_orientation(width, height, image_format):
    clean = validate_material("id_scan", image_bytes(scan(width, height), image_format))

    assert (clean.width, clean.height) == (width, height)
    assert clean.extension == {"JPEG": "jpg", "PNG": "png"}[image_format]


def test_id_scan_good_helper_is_accepted():
    clean = validate_material("id_scan", good_id_scan())

    assert (clean.extension, clean.content_type, clean.width) == ("jpg", "image/jpeg", 856)


def test_id_scan_png_loses_text_and_exif_chunks_but_no_pixels():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "王小明 13900000001")
    info.add_itxt("Comment", "扫描于家中", lang="zh")
    exif = Image.Exif()
    exif[EXIF_MAKE] = "ScannerCo"
    data = image_bytes(scan(800, 500), "PNG", pnginfo=info, exif=exif)

    clean = validate_material("id_scan", data)

    assert (clean.extension, clean.content_type) == ("png", "image/png")
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf"):
        assert chunk not in clean.content
    assert b"ScannerCo" not in clean.content
    assert Image.open(io.BytesIO(clean.content)).tobytes() == Image.open(io.BytesIO(data)).tobytes()


@pytest.mark.parametrize("kind", ["education_proof", "medical"])
def test_document_pdf_is_stored_as_given(kind):
    pdf = good_pdf()

    clean = validate_material(kind, pdf)

    assert clean == CleanFile(pdf, "pdf", "application/pdf", None, None)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_document_image_is_accepted(image_format):
    clean = validate_material("medical", image_bytes(scan(1200, 1700), image_format))

    assert (clean.width, clean.height) == (1200, 1700)


def test_policy_rules_change_the_limits():
    rules = MaterialRules(photo_min_kb=20, photo_max_kb=50, id_scan_max_long_px=1000)

    assert validate_material("photo", photo_jpeg(40 * KB), rules).extension == "jpg"
    assert validate_material("id_scan", image_bytes(scan(1000, 600), "JPEG"), rules).width == 1000
    with pytest.raises(ValidationError, match="须大于 20 KB 且小于 50 KB"):
        validate_material("photo", photo_jpeg(60 * KB), rules)


def test_bomb_is_refused_before_any_pixel_is_decoded(monkeypatch):
    def must_not_decode(data):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(uploads, "_decode", must_not_decode)

    with pytest.raises(ValidationError) as caught:
        validate_material("id_scan", one_colour_png(8000, 6000))

    assert error_codes(caught) == {"decompression_bomb"}


def test_pillow_bomb_warning_is_a_refusal():
    rules = MaterialRules(max_pixels=10**9)  # our own limit out of the way: Pillow's warns
    data = with_sof_size(jpeg_bytes(Image.new("RGB", (64, 64), "white")), 10_000, 10_000)

    with pytest.raises(ValidationError) as caught:
        validate_material("photo", data, rules)

    assert error_codes(caught) == {"decompression_bomb"}


def test_thumbnail_is_a_small_jpeg_for_images_and_none_for_pdf():
    photo = validate_material("photo", photo_jpeg(60 * KB))
    transparent = Image.new("RGBA", (800, 500), (0, 0, 0, 0))
    scan_png = validate_material("id_scan", image_bytes(transparent, "PNG"))
    pdf = validate_material("education_proof", good_pdf())

    photo_thumbnail = Image.open(io.BytesIO(make_thumbnail(photo)))
    scan_thumbnail = Image.open(io.BytesIO(make_thumbnail(scan_png, max_side=100)))

    assert (photo_thumbnail.format, photo_thumbnail.size) == ("JPEG", (115, 160))
    assert (scan_thumbnail.format, scan_thumbnail.size) == ("JPEG", (100, 63))
    assert scan_thumbnail.getpixel((50, 30)) == (255, 255, 255)  # transparent → white
    assert make_thumbnail(pdf) is None


def test_thumbnail_of_16_bit_png_keeps_its_tones():
    grey = Image.new("I;16", (800, 500), 32768)
    clean = validate_material("id_scan", image_bytes(grey, "PNG"))

    thumbnail = Image.open(io.BytesIO(make_thumbnail(clean)))

    assert 120 <= thumbnail.getpixel((10, 10))[0] <= 136


def test_photo_from_a_multi_picture_phone_file_keeps_only_the_first_picture():
    out = io.BytesIO()
    second = Image.new("RGB", (100, 100), "red")
    portrait(noise=150).save(out, "MPO", save_all=True, append_images=[second], quality=90)
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"

    clean = validate_material("photo", pad_jpeg(out.getvalue(), 60 * KB))

    assert Image.open(io.BytesIO(clean.content)).format == "JPEG"
    assert clean.content.count(b"\xff\xd8\xff") == 1
    assert b"MPF\x00" not in clean.content
