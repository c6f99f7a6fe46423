"""CPU per public lookup in a warm process, without the network or a load generator.

Run: ``.venv/bin/python benchmarks/lookup_cpu.py [--requests 3000]`` after
``benchmarks/lookup.py`` has seeded its database (it reads ``certportal_bench_lookup`` as that
script left it, and refuses an empty one).

``benchmarks/lookup.py`` measures what the machine serves under load; this one says where a
request's own Python goes, to compare the endpoints with each other: the same requests as
there (the same real holders, ``X-Forwarded-Proto: https``),
handed to Django's WSGI handler in this process one after another, with the production
settings of that benchmark (DEBUG off, persistent database connections). The figure is CPU time
of this process per request (``time.process_time``: the database's and Redis's work is theirs,
not counted), and wall time beside it. The baseline (the minimal view running the same indexed
query) and the ceiling (a view answering a constant) are measured in the same run; each
lookup is shown as its CPU time over the baseline's.

Prints JSON, then a table.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lookup import (  # noqa: E402
    BENCH_ENV,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    ENDPOINTS,
    SAMPLE,
    endpoint_requests,
    sample_holders,
)

REQUESTS = 3_000
WARM_UP = 300
PORT = 8000


def environ(method: str, headers: dict, path: str, body: str | None) -> dict:
    """A WSGI environ as gunicorn builds it for this request."""
    path, _, query = path.partition("?")
    data = (body or "").encode()
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": urllib.parse.unquote(path),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(PORT),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SCRIPT_NAME": "",
        "HTTP_HOST": f"127.0.0.1:{PORT}",
        "HTTP_X_FORWARDED_PROTO": "https",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return env


def call(app, request: tuple) -> tuple[str, bytes, list]:
    status_headers: list = []
    chunks = app(
        environ(*request), lambda status, headers, *_: status_headers.extend([status, headers])
    )
    body = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return status_headers[0], body, status_headers[1]


def measure(app, requests: list[tuple], count: int, warm_up: int = WARM_UP) -> dict:
    for n in range(warm_up):
        status, body, _ = call(app, requests[n % len(requests)])
        if not status.startswith("200"):
            raise SystemExit(f"{requests[0][2]}: {status} {body[:300]!r}")
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        call(app, requests[n % len(requests)])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_us": round(cpu / count * 1e6), "wall_us": round(wall / count * 1e6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--warm-up", type=int, default=WARM_UP)
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="certportal-bench-cpu-") as tmp:
        os.environ.update(
            {
                **BENCH_ENV,
                "DATABASE_URL": args.database_url,
                "REDIS_URL": args.redis_url,
                "STATIC_ROOT": str(Path(tmp) / "static"),
                "MEDIA_ROOT": str(Path(tmp) / "media"),
                "DJANGO_SETTINGS_MODULE": "benchmarks.lookup_settings",
            }
        )
        import django

        django.setup()
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.management import call_command

        from certificates.models import Certificate

        certificates = Certificate.objects.count()
        if not certificates:
            raise SystemExit("数据库中没有证书：请先运行 benchmarks/lookup.py 生成测试数据")
        call_command("collectstatic", interactive=False, verbosity=0)
        app = WSGIHandler()
        holders = sample_holders(SAMPLE)
        result = {"certificates": certificates, "requests": args.requests, "endpoints": {}}
        for endpoint in args.endpoints.split(","):
            method, headers, entries = endpoint_requests(endpoint, holders, PORT)
            requests = [(method, headers, path, body) for path, body in entries]
            result["endpoints"][endpoint] = measure(app, requests, args.requests, args.warm_up)
    base = result["endpoints"].get("baseline", {}).get("cpu_us")
    for figures in result["endpoints"].values():
        figures["cpu_over_baseline"] = round(figures["cpu_us"] / base, 2) if base else None
    print(json.dumps(result, indent=2))
    print(f"\n{result['certificates']:,} certificates, {args.requests:,} requests each")
    print(f"{'lookup':<10} {'CPU µs':>8} {'wall µs':>8} {'÷ base':>7}")
    for endpoint, figures in result["endpoints"].items():
        print(
            f"{endpoint:<10} {figures['cpu_us']:>8} {figures['wall_us']:>8} "
            f"{figures['cpu_over_baseline'] or '—':>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
