"""E-certificate render benchmark (SPEC 7): the renderer against a bare reportlab page.

Run: ``DEBUG=true .venv/bin/python benchmarks/render.py [N]``

In one warm process it renders N certificates (default 200), each timed, interleaved with a
baseline: a bare reportlab page with the same content (the same strings in the same
registered TrueType font through plain ``drawString``, the same photo through
``drawImage``, the QR code from segno as one rect per dark module; no fallback fonts, no seal,
no frame). A second baseline takes its QR code from certportal.pdf.qr_matrix, the renderer's
own (faster) encoder, so the ratio to it is the cost of the renderer's machinery alone.
Then certificates per second with 1 and 2 warm worker processes. Prints JSON, then a table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import string
import sys
import time
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certportal.settings")

import django  # noqa: E402

django.setup()

import segno  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from certificates import pdf as layout  # noqa: E402
from certificates.pdf import CertificateData, format_date, render_certificate_pdf  # noqa: E402
from certportal.pdf import (  # noqa: E402
    QR_ERROR_CORRECTION,
    QR_QUIET_ZONE_MODULES,
    qr_matrix,
    register_fonts,
)

N = 200
WARM_UP = 20
WORKER_COUNTS = (1, 2)
TARGET_MEDIAN_MS = 14.0
TARGET_RATIO = 1.2
TARGET_BYTES = 150 * 1024
SITE_URL = "https://zjt.example.gov.cn"
NAMES = ("王小明", "李建国", "陈思远", "林秀英", "张伟", "黄志强", "欧阳晓东", "郑丽娟")
TRADES = (
    "建筑电工",
    "建筑起重机械司机（塔式起重机）",
    "建筑起重机械安装拆卸工（施工升降机）",
    "建筑起重司索信号工",
)


def holder_photo() -> bytes:
    """A ~40 KB 1-inch JPEG (295×413): a face, hair, shoulders and some sensor noise."""
    rng = random.Random(2026)
    image = Image.new("RGB", (295, 413), (90, 150, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 70, 215, 250), fill=(222, 184, 150))
    draw.rectangle((35, 280, 260, 413), fill=(30, 40, 60))
    draw.ellipse((75, 55, 220, 150), fill=(20, 20, 20))
    noise = Image.frombytes("L", image.size, rng.randbytes(image.width * image.height))
    image = Image.blend(image, Image.merge("RGB", (noise, noise, noise)), 0.1)
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


PHOTO = holder_photo()


def certificate(index: int) -> CertificateData:
    """The index-th certificate of a batch: its own number, token, name and trade."""
    rng = random.Random(index)
    serial = f"{index + 1:06d}"
    token = "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=24))
    return CertificateData(
        number=f"闽C052026{serial}",
        name=NAMES[index % len(NAMES)],
        sex="男" if index % 3 else "女",
        trade_name=TRADES[index % len(TRADES)],
        first_issued_on=date(2026, 12, 1),
        valid_from=date(2026, 12, 1),
        valid_until=date(2028, 11, 30),
        authority_name="泉州市住房和城乡建设局",
        issued_on=date(2026, 12, 1),
        ecert_identifier=(
            f"1.2.156.3005.2.11100000000013338W032.91350100M000100Y43.C052026{serial}.001.X"
        ),
        verify_url=f"{SITE_URL}/v/{token}/",
        photo=PHOTO,
    )


def segno_matrix(data: str):
    return segno.make_qr(data, error=QR_ERROR_CORRECTION, boost_error=False).matrix


_DIGITS_AS_BITS = bytes.maketrans(b"01", b"\x00\x01")


def fast_matrix(data: str):
    return [row.encode().translate(_DIGITS_AS_BITS) for row in qr_matrix(data)]


def render_baseline(data: CertificateData, matrix_of=segno_matrix) -> bytes:
    """The same content on a bare reportlab canvas, without the renderer's machinery."""
    font = register_fonts().main
    buffer = BytesIO()
    canvas = Canvas(
        buffer, pagesize=layout.PAGE_SIZE, pageCompression=1, invariant=1, initialFontName=font
    )
    canvas.setTitle(f"{layout.TITLE} {data.number}")
    canvas.setFont(font, layout.TITLE_SIZE)
    canvas.drawCentredString(layout.PAGE_WIDTH / 2, layout.TITLE_BASELINE, layout.TITLE)
    baseline = layout.FIELD_TOP_BASELINE
    validity = f"{format_date(data.valid_from)} 至 {format_date(data.valid_until)}"
    for label, value in (
        ("编号", data.number),
        ("姓名", data.name),
        ("性别", data.sex),
        ("操作类别", data.trade_name),
        ("初次领证日期", format_date(data.first_issued_on)),
        ("有效期", validity),
    ):
        canvas.setFont(font, layout.LABEL_SIZE)
        canvas.drawString(layout.FIELD_LEFT, baseline, label + layout.COLON)
        canvas.drawString(layout.VALUE_LEFT, baseline, value)
        baseline -= layout.FIELD_PITCH
    canvas.drawImage(
        ImageReader(BytesIO(data.photo)),
        layout.PHOTO_X,
        layout.PHOTO_Y,
        layout.PHOTO_WIDTH,
        layout.PHOTO_HEIGHT,
    )
    matrix = matrix_of(data.verify_url)
    module = layout.QR_SIZE / (len(matrix) + 2 * QR_QUIET_ZONE_MODULES)
    top = layout.QR_Y + layout.QR_SIZE - QR_QUIET_ZONE_MODULES * module
    left = layout.QR_X + QR_QUIET_ZONE_MODULES * module
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            if dark:
                canvas.rect(
                    left + column_index * module,
                    top - (row_index + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )
    canvas.setFont(font, layout.QR_CAPTION_SIZE)
    canvas.drawCentredString(
        layout.QR_X + layout.QR_SIZE / 2, layout.QR_CAPTION_BASELINE, layout.QR_CAPTION
    )
    canvas.setFont(font, layout.ISSUER_SIZE)
    issuer_values = (data.authority_name, format_date(data.issued_on))
    for label, value, line in zip(
        layout.ISSUER_LABELS, issuer_values, layout.ISSUER_BASELINES, strict=True
    ):
        canvas.drawString(layout.ISSUER_LEFT, line, label + layout.COLON)
        canvas.drawString(layout.ISSUER_VALUE_LEFT, line, value)
    canvas.setFont(font, layout.SUPERVISOR_SIZE)
    canvas.drawCentredString(layout.PAGE_WIDTH / 2, layout.SUPERVISOR_BASELINE, layout.SUPERVISOR)
    canvas.setFont(font, layout.IDENTIFIER_SIZE)
    canvas.drawCentredString(
        layout.PAGE_WIDTH / 2,
        layout.IDENTIFIER_BASELINE,
        layout.IDENTIFIER_LABEL + data.ecert_identifier,
    )
    if data.status_label:
        canvas.setFont(font, layout.STATUS_SIZE)
        canvas.drawCentredString(*layout.STATUS_CENTRE, data.status_label)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _timed_ms(render, data: CertificateData) -> float:
    start = time.perf_counter_ns()
    render(data)
    return (time.perf_counter_ns() - start) / 1e6


def _summary(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(statistics.quantiles(times, n=20)[18], 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }


def render_baseline_fast_qr(data: CertificateData) -> bytes:
    return render_baseline(data, fast_matrix)


RENDERERS = {
    "certificate": render_certificate_pdf,
    "baseline": render_baseline,
    "baseline_same_qr_encoder": render_baseline_fast_qr,
}


def measure_single_process(count: int) -> dict:
    for index in range(WARM_UP):
        for render in RENDERERS.values():
            render(certificate(index))
    times: dict[str, list[float]] = {name: [] for name in RENDERERS}
    names = list(RENDERERS)
    for index in range(count):
        data = certificate(index)
        # Rotate the order so none always runs first, on a warmer or colder cache.
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed_ms(RENDERERS[name], data))
    result = {name: _summary(values) for name, values in times.items()}
    renderer = result["certificate"]["median_ms"]
    result["ratio_median"] = round(renderer / result["baseline"]["median_ms"], 3)
    result["ratio_median_same_qr_encoder"] = round(
        renderer / result["baseline_same_qr_encoder"]["median_ms"], 3
    )
    return result


def _warm_worker() -> None:
    render_certificate_pdf(certificate(0))
    render_certificate_pdf(certificate(1))


def _render_size(index: int) -> int:
    return len(render_certificate_pdf(certificate(index)))


def measure_throughput(workers: int, count: int) -> float:
    """Certificates per second over ``count`` renders by ``workers`` warm processes."""
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_warm_worker) as pool:
        pool.map(_render_size, range(workers * 4), chunksize=1)
        start = time.perf_counter()
        pool.map(_render_size, range(count), chunksize=max(1, count // (workers * 8)))
        elapsed = time.perf_counter() - start
    return round(count / elapsed, 1)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else N
    register_fonts()
    single = measure_single_process(count)
    sample = certificate(0)
    with_photo = render_certificate_pdf(sample)
    without_photo = render_certificate_pdf(replace(sample, photo=None))
    revoked = render_certificate_pdf(replace(sample, status_label="已吊销"))
    throughput = {str(workers): measure_throughput(workers, count) for workers in WORKER_COUNTS}
    result = {
        "n": count,
        "cpu_count": os.cpu_count(),
        **single,
        "per_second": throughput,
        "bytes": {
            "with_photo": len(with_photo),
            "photo_jpeg": len(PHOTO),
            "without_photo": len(without_photo),
            "revoked_with_photo": len(revoked),
            "baseline_with_photo": len(render_baseline(sample)),
        },
        "targets": {
            "median_ms": TARGET_MEDIAN_MS,
            "ratio": TARGET_RATIO,
            "bytes": TARGET_BYTES,
        },
    }
    result["pass"] = {
        "median": single["certificate"]["median_ms"] <= TARGET_MEDIAN_MS,
        "ratio": single["ratio_median"] <= TARGET_RATIO,
        "bytes": len(with_photo) <= TARGET_BYTES,
    }
    print(json.dumps(result, indent=2))
    print()
    print(f"{'':<30}{'median ms':>11}{'p95 ms':>10}")
    for label, key in (
        ("e-certificate", "certificate"),
        ("bare reportlab (segno QR)", "baseline"),
        ("bare reportlab (same QR)", "baseline_same_qr_encoder"),
    ):
        print(f"{label:<30}{result[key]['median_ms']:>11.2f}{result[key]['p95_ms']:>10.2f}")
    print(f"{'ratio to baseline (median)':<30}{single['ratio_median']:>11.2f}")
    print(f"{'ratio to same-QR baseline':<30}{single['ratio_median_same_qr_encoder']:>11.2f}")
    for workers, rate in throughput.items():
        print(f"{'certificates/s, ' + workers + ' worker(s)':<30}{rate:>11.1f}")
    print(f"{'file size with photo':<30}{len(with_photo):>11,} bytes (photo {len(PHOTO):,})")


if __name__ == "__main__":
    main()
