"""Verification page weight (SPEC 7): bytes transferred per page against the 50 KB target.

Run: ``DEBUG=true .venv/bin/python benchmarks/pages.py`` (after ``manage.py seed_demo``).

Through Django's test client against the configured database (the demo data), inside a
transaction that is rolled back, so the lookups it makes leave no LookupRecord behind. For
each page it fetches the HTML and every stylesheet, script and image the HTML references, and
counts what a first visit transfers: the status line, the headers and the body of each
response. Stylesheets and images count towards the 50 KB: the QR page's preview, though
lazy, sits within the distance at which phones' browsers load lazy images at once. Of a
<picture>, a browser loads one source: the WebP, which every current phone browser takes;
the PNG fallback is listed apart. Any reference to another host is listed as a third-party
request, which the target forbids outright. The total is what a first visit transfers in
production: the HTML as Django sends it (uncompressed: nothing in the stack compresses it),
stylesheets as WhiteNoise sends them to a browser that accepts gzip (its
CompressedManifestStaticFilesStorage keeps a .gz of each; this script, run with DEBUG, gzips
them itself), images as they are. The all-uncompressed and all-gzip sums are shown beside.

Prints JSON, then a table.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certportal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from certificates.models import Certificate, CertificateStatus  # noqa: E402

TARGET_BYTES = 50 * 1024
REFERENCE = re.compile(
    r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src|img[^>]*src|source[^>]*srcset)='
    r'"([^"]+)"'
)


class NoDemoData(SystemExit):
    pass


def wire_size(response) -> int:
    """Status line + headers + body, as HTTP/1.1 would send them (uncompressed)."""
    body = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    response._bench_body = body
    head = f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in response.items()) + "\r\n"
    return len(head.encode()) + len(body)


def measure(client: Client, label: str, method: str, path: str, data=None) -> dict:
    response = getattr(client, method)(path, data or {})
    if response.status_code not in (200, 404):
        raise SystemExit(f"{label}: HTTP {response.status_code}")
    html_bytes = wire_size(response)
    html = response._bench_body
    resources, images, third_party = [], [], []
    for url in dict.fromkeys(REFERENCE.findall(html.decode())):
        if url.startswith("data:"):
            continue
        if not url.startswith("/"):
            third_party.append(url)
            continue
        fetched = client.get(url)
        size = wire_size(fetched)
        entry = {
            "url": url,
            "bytes": size,
            "body_bytes": len(fetched._bench_body),
            "gzip_bytes": len(gzip.compress(fetched._bench_body)),
        }
        (images if fetched["Content-Type"].startswith("image/") else resources).append(entry)
    # A <picture>'s WebP source is what the browser loads; its PNG fallback is not.
    has_webp = any(i["url"].split("?")[0].endswith(".webp") for i in images)
    for image in images:
        image["counted"] = not (has_webp and image["url"].split("?")[0].endswith(".png"))
    images_bytes = sum(i["bytes"] for i in images if i["counted"])
    uncompressed = html_bytes + sum(r["bytes"] for r in resources) + images_bytes
    # A static file's headers as sent, with its gzipped body (see the module docstring).
    total = (
        html_bytes
        + sum(r["bytes"] - r["body_bytes"] + r["gzip_bytes"] for r in resources)
        + images_bytes
    )
    return {
        "page": label,
        "status": response.status_code,
        "html_bytes": html_bytes,
        "html_gzip_bytes": len(gzip.compress(html)),
        "css_js": resources,
        "total_bytes": total,
        "uncompressed_bytes": uncompressed,
        "total_gzip_bytes": len(gzip.compress(html))
        + sum(r["gzip_bytes"] for r in resources)
        + sum(i["gzip_bytes"] for i in images if i["counted"]),
        "images": images,
        "third_party": third_party,
        "meets_target": total <= TARGET_BYTES and not third_party,
    }


def main() -> list[dict]:
    settings.VERIFY_RATE_LIMIT = "1000/m"  # this process only: the benchmark is one client
    valid = Certificate.objects.filter(status=CertificateStatus.VALID).exclude(pdf="").first()
    revoked = Certificate.objects.filter(status=CertificateStatus.REVOKED).exclude(pdf="").first()
    if valid is None:
        raise NoDemoData("No certificate with a PDF: run `manage.py seed_demo --password …` first.")
    client = Client(REMOTE_ADDR="192.0.2.10")
    results = []
    with transaction.atomic():
        cache.clear()
        results.append(measure(client, "/verify/ (empty forms)", "get", "/verify/"))
        results.append(
            measure(
                client,
                "/verify/ name + ID number → found",
                "post",
                "/verify/",
                {"name": valid.holder_name, "id_number": valid.holder_id_number},
            )
        )
        results.append(
            measure(
                client,
                "/verify/?cert_no=…&name=… → found",
                "get",
                "/verify/",
                {"cert_no": valid.number, "name": valid.holder_name},
            )
        )
        results.append(measure(client, "/v/<token>/ valid", "get", valid.verify_path))
        if revoked is not None:
            results.append(measure(client, "/v/<token>/ revoked", "get", revoked.verify_path))
        results.append(measure(client, "/v/<unknown>/ (404)", "get", "/v/no-such-token-000000/"))
        transaction.set_rollback(True)
    return results


def print_table(results: list[dict]) -> None:
    print()
    print(
        f"{'page':<38} {'HTML':>7} {'CSS gz':>7} {'total':>7} {'uncompr':>8} {'all gz':>7} "
        f"{'target':>7}  ok"
    )
    for r in results:
        css = sum(x["bytes"] - x["body_bytes"] + x["gzip_bytes"] for x in r["css_js"])
        ok = "yes" if r["meets_target"] else "NO"
        print(
            f"{r['page']:<38} {r['html_bytes']:>7,} {css:>7,} {r['total_bytes']:>7,} "
            f"{r['uncompressed_bytes']:>8,} {r['total_gzip_bytes']:>7,} {TARGET_BYTES:>7,}  {ok}"
        )
        for image in r["images"]:
            name = "  image " + image["url"].rsplit("/", 1)[-1].split("?")[0]
            note = "(in the total)" if image["counted"] else "(fallback, not loaded)"
            print(f"{name:<38} {image['bytes']:>8,}  {note}")
        for url in r["third_party"]:
            print(f"  THIRD-PARTY REQUEST: {url}")


if __name__ == "__main__":
    figures = main()
    print(
        json.dumps({"target_bytes": TARGET_BYTES, "pages": figures}, ensure_ascii=False, indent=2)
    )
    print_table(figures)
