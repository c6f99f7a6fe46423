"""Staff's Excel export (certportal.exports): seconds per row for the certificate list, against
a bare openpyxl write-only workbook of the same values in the same run, and the rows that fit
in one request (gunicorn's 30-second timeout) at that pace, to read ``MAX_EXPORT_ROWS`` against.

Run: ``.venv/bin/python benchmarks/export.py [--rows 5000,20000]`` after ``benchmarks/lookup.py``
has seeded its database (it reads ``certportal_bench_lookup`` as that script left it; with
``--sizes 2000`` there are 2,000 certificates, so ask for as many rows as there are).

Prints JSON, then a table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lookup import BENCH_ENV, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL  # noqa: E402

REQUEST_TIMEOUT_S = 30  # gunicorn.conf.py


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="2000")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    args = parser.parse_args()
    os.environ.update(
        {
            **BENCH_ENV,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": DEFAULT_REDIS_URL,
            "DJANGO_SETTINGS_MODULE": "benchmarks.lookup_settings",
        }
    )
    import django

    django.setup()
    from openpyxl import Workbook

    from certificates.exports import CERTIFICATE_COLUMNS
    from certificates.models import Certificate
    from certportal.exports import MAX_EXPORT_ROWS, cell_value, xlsx_response

    available = Certificate.objects.count()
    result = {"certificates": available, "max_export_rows": MAX_EXPORT_ROWS, "runs": []}
    for rows in (int(n) for n in args.rows.split(",")):
        if rows > available:
            raise SystemExit(f"数据库只有 {available} 份证书，少于 {rows}：请先用 lookup.py 生成")
        queryset = Certificate.objects.select_related(
            "trade", "authority", "holder__profile"
        ).order_by("pk")[:rows]
        started = time.perf_counter()
        response = xlsx_response(
            filename="bench.xlsx",
            title="证书清单",
            columns=CERTIFICATE_COLUMNS,
            objects=queryset.iterator(chunk_size=2000),
        )
        size = len(response.content)
        portal = time.perf_counter() - started

        # Baseline: the same values (read beforehand) through a bare write-only workbook.
        values = [
            [cell_value(column.value(c)) for column in CERTIFICATE_COLUMNS]
            for c in queryset.iterator(chunk_size=2000)
        ]
        started = time.perf_counter()
        book = Workbook(write_only=True)
        sheet = book.create_sheet("证书清单")
        for row in values:
            sheet.append(row)
        book.save(io.BytesIO())
        bare = time.perf_counter() - started
        per_row = portal / rows
        result["runs"].append(
            {
                "rows": rows,
                "portal_s": round(portal, 2),
                "portal_ms_per_row": round(per_row * 1e3, 3),
                "bare_openpyxl_s": round(bare, 2),
                "ratio": round(portal / bare, 2),
                "rows_in_timeout": int(REQUEST_TIMEOUT_S / per_row),
                "file_kib": size // 1024,
            }
        )
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        f"\n{'rows':>8} {'portal s':>9} {'ms/row':>7} {'bare s':>7} {'÷ bare':>7} {'rows/30 s':>10}"
    )
    for run in result["runs"]:
        print(
            f"{run['rows']:>8,} {run['portal_s']:>9} {run['portal_ms_per_row']:>7} "
            f"{run['bare_openpyxl_s']:>7} {run['ratio']:>7} {run['rows_in_timeout']:>10,}"
        )
    print(f"MAX_EXPORT_ROWS = {MAX_EXPORT_ROWS:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
