"""Public lookup benchmark (SPEC 7): requests per second and latency under wrk, against a
baseline served by the same gunicorn in the same run.

Run: ``.venv/bin/python benchmarks/lookup.py [--sizes 10000,1000000] [--duration 15]``
(needs PostgreSQL, Redis and Debian's ``wrk``; development: ``--sizes 2000 --duration 5``).

For each size N it (re)creates its own PostgreSQL database (``--database-url``, default
``certportal_bench_lookup``; the name must contain ``bench``), migrates, loads the reference
data and times ``manage.py seed_bulk --certificates N``. It then starts gunicorn in
production mode (DEBUG off, benchmark-only keys passed by environment, collected static
files, persistent database connections: ``CONN_MAX_AGE=600``; the lookup rate limit raised,
since every request comes from one address) and drives it with ``wrk`` at 16 connections,
each request a lookup of a real holder drawn from the seeded rows:

- ``page_post``: ``POST /verify/`` name + ID number, as the page's form posts it (no token);
- ``page_get``: ``GET /verify/?cert_no=…&name=…``;
- ``api_post``: ``POST /api/v1/verify`` JSON name + ID number;
- ``api_get``: ``GET /api/v1/verify?cert_no=…&name=…``;
- ``ceiling``: a Django view answering a constant (no query) behind the same middleware: the
  most any Django view can serve on the machine, for reading the targets against;
- ``baseline``: a minimal Django view running the same indexed query (blind index + name)
  and answering JSON, behind the same middleware (``benchmarks/lookup_urls.py``, reachable
  only through ``benchmarks/lookup_settings.py``, never in the product's URLconf); measured
  first and last, the ratios taken to the mean of the two.

Every request carries ``X-Forwarded-Proto: https``, as behind the TLS proxy production runs
behind. After each run the lookup records the portal wrote are counted: every product lookup
must have been recorded as found. Gunicorn runs as deployed, with the project's
``gunicorn.conf.py`` (sync workers, cores + 1; its docstring has the measurements behind
that choice); ``--worker-class``, ``--workers`` and ``--threads`` override it to compare.

Targets (SPEC 7), for each product lookup: ≥ 1,200 requests/s and p99 ≤ 20 ms at 1,000,000
certificates, and the same at 10,000 within ±10 % (requests/s at 10,000 within 10 % of those
at 1,000,000). Prints JSON, then a table; exits 1 when a target is missed. The database is
kept (its size is reported); the next run recreates it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/certportal_bench_lookup"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
SIZES = (10_000, 1_000_000)
CONNECTIONS = 16
WRK_THREADS = 2
DURATION_S = 15
WARM_UP_S = 3
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
SAMPLE = 2_000
TARGET_RPS = 1_200
TARGET_P99_MS = 20.0
TARGET_SAME_WITHIN = 0.10
PRODUCT_ENDPOINTS = ("page_post", "page_get", "api_post", "api_get")
ENDPOINTS = ("ceiling", "baseline", *PRODUCT_ENDPOINTS)

# Benchmark-only keys: production settings refuse the development ones. Published here, so
# good for synthetic data and nothing else.
BENCH_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-certportal-lookup-not-for-production-use",
    "PII_ENCRYPTION_KEYS": "YmVuY2htYXJrLW9ubHktcGlpLWtleS0zMi1ieXRlcyE=",
    "PII_INDEX_KEY": "benchmark-only-blind-index-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SITE_URL": "https://certs.example.gov.cn",
    "CONN_MAX_AGE": "600",
    "VERIFY_RATE_LIMIT": "1000000/s",
    "EMAIL_URL": "consolemail://",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Database -------------------------------------------------------------------------------


def database_name(url: str) -> str:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"拒绝重建数据库 {name!r}：基准测试只重建名称含 bench 的数据库")
    return name


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_name(url)
    maintenance = urllib.parse.urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_data(url: str, size: int, reuse: bool) -> dict:
    """A database holding exactly ``size`` seeded certificates; the seed timed."""
    from django.core.management import call_command
    from django.db import connection, connections

    from certificates.models import Certificate

    if reuse:
        with contextlib.suppress(Exception):
            if Certificate.objects.count() == size:
                log(f"reusing {size:,} certificates in {database_name(url)}")
                return {"seed_s": None, "reused": True}
    connections.close_all()
    recreate_database(url)
    call_command("migrate", verbosity=0)
    call_command("loaddata", "reference", "institutions", verbosity=0)
    log(f"seeding {size:,} certificates …")
    started = time.perf_counter()
    call_command("seed_bulk", certificates=size, stdout=sys.stderr)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    return {"seed_s": round(seconds, 1), "reused": False}


def database_facts(url: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(%s)", [database_name(url)])
        (db_bytes,) = cursor.fetchone()
        cursor.execute("SELECT pg_total_relation_size('certificates_certificate')")
        (table_bytes,) = cursor.fetchone()
    return {"database_bytes": db_bytes, "certificate_table_bytes": table_bytes}


def sample_holders(count: int) -> list[dict]:
    """Real holders (name, ID number, certificate number) drawn at random from the rows."""
    from certificates.models import Certificate

    rows = Certificate.objects.order_by("?").only("number", "holder_name", "holder_id_number")
    return [
        {"name": c.holder_name, "id_number": c.holder_id_number, "cert_no": c.number}
        for c in rows[:count]
    ]


def explain_lookups(holder: dict) -> dict:
    """The plans of the public lookups' reads, as verification.selectors writes them, to
    check that they use the indexes: the generic plan, the one a prepared statement settles
    on (parameters bound on the server, ``plan_cache_mode`` forcing it)."""
    from django.db import connection, transaction

    from verification import selectors

    plans = {}
    for name, lookup in (
        ("person", selectors.person_lookup(name=holder["name"], id_number=holder["id_number"])),
        ("number", selectors.number_lookup(number=holder["cert_no"], name=holder["name"])),
    ):
        sql = selectors.public_select(lookup)
        for number in range(1, len(lookup.params) + 1):
            sql = sql.replace("%s", f"${number}", 1)
        arguments = ", ".join(["%s"] * len(lookup.params))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            cursor.execute(f"PREPARE bench_plan AS {sql}")
            cursor.execute(f"EXPLAIN EXECUTE bench_plan({arguments})", lookup.params)
            rows = cursor.fetchall()
            cursor.execute("DEALLOCATE bench_plan")
        plans[name] = "\n".join(row[0] for row in rows)
    return plans


def recorded_since(since) -> dict[str, int]:
    from django.db.models import Count

    from verification.models import LookupRecord

    rows = LookupRecord.objects.filter(created_at__gte=since).values("outcome")
    return {row["outcome"]: row["n"] for row in rows.annotate(n=Count("id")).order_by()}


# Server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_layout(args) -> dict:
    """The worker class, workers and threads gunicorn runs with: the product's
    ``gunicorn.conf.py`` (as deployed) unless the command line overrides them."""
    from gunicorn.config import Config

    config = Config()
    namespace: dict = {}
    exec(GUNICORN_CONF.read_text(), namespace)  # noqa: S102 - the project's own file
    overrides = {
        "worker_class": args.worker_class,
        "workers": args.workers,
        "threads": args.threads,
    }
    for name, value in overrides.items():
        if value or name in namespace:
            config.set(name, value or namespace[name])
    # gunicorn itself runs a sync worker with more than one thread as gthread.
    return {
        "worker_class": config.worker_class_str,
        "workers": config.workers,
        "threads": config.threads,
    }


def start_gunicorn(env: dict, port: int, layout: dict, logfile: Path):
    command = [
        str(BIN / "gunicorn"),
        "certportal.wsgi:application",
        "--config",
        str(GUNICORN_CONF),
        "--chdir",
        str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        layout["worker_class"],
        "--workers",
        str(layout["workers"]),
        "--threads",
        str(layout["threads"]),
        "--log-level",
        "warning",
    ]
    server_env = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.lookup_settings"}
    with logfile.open("ab") as out:
        server = subprocess.Popen(command, env=server_env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn 启动失败：\n{logfile.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            status, _, _ = fetch(port, "GET", "/healthz")
            if status == 200:
                return server
        time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"gunicorn 60 秒内未就绪：\n{logfile.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def fetch(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        method=method,
        headers={"X-Forwarded-Proto": "https", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - localhost
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


# wrk ------------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    """A Lua string literal: printable ASCII as is, every other byte as a decimal escape."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def endpoint_requests(endpoint: str, holders: list[dict], port: int):
    """(method, headers, [(path, body)]) for one endpoint, one request per holder."""
    origin = f"https://127.0.0.1:{port}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    by_number = [
        urllib.parse.urlencode({"cert_no": h["cert_no"], "name": h["name"]}) for h in holders
    ]
    if endpoint == "baseline":
        return (
            "POST",
            form,
            [
                (
                    "/bench/baseline",
                    urllib.parse.urlencode({"name": h["name"], "id_number": h["id_number"]}),
                )
                for h in holders
            ],
        )
    if endpoint == "page_post":
        # As a browser posts the page's form: it carries no CSRF token (the lookup needs none,
        # verification.views.verify), and the page set no cookie.
        return (
            "POST",
            {**form, "Origin": origin, "Referer": f"{origin}/verify/"},
            [
                (
                    "/verify/",
                    urllib.parse.urlencode({"name": h["name"], "id_number": h["id_number"]}),
                )
                for h in holders
            ],
        )
    if endpoint == "page_get":
        return "GET", {}, [(f"/verify/?{query}", None) for query in by_number]
    if endpoint == "ceiling":
        return "GET", {}, [("/bench/empty", None)]
    if endpoint == "api_post":
        return (
            "POST",
            {"Content-Type": "application/json"},
            [
                (
                    "/api/v1/verify",
                    json.dumps(
                        {"name": h["name"], "id_number": h["id_number"]}, ensure_ascii=False
                    ),
                )
                for h in holders
            ],
        )
    if endpoint == "api_get":
        return "GET", {}, [(f"/api/v1/verify?{query}", None) for query in by_number]
    raise ValueError(endpoint)


LUA_TEMPLATE = """
local method = %(method)s
local headers = {%(headers)s}
local entries = {%(entries)s}
local prepared = {}
local position = 0
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

init = function(args)
  for i, entry in ipairs(entries) do
    prepared[i] = wrk.format(method, entry[1], headers, entry[2])
  end
  position = ((thread_number or 1) * 7919) %% #prepared
end

request = function()
  position = position %% #prepared + 1
  return prepared[position]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %%.0f, "duration_us": %%.0f, "bytes": %%.0f, ' ..
    '"errors": {"connect": %%.0f, "read": %%.0f, "write": %%.0f, "status": %%.0f, ' ..
    '"timeout": %%.0f}, "p50_us": %%.0f, "p90_us": %%.0f, "p99_us": %%.0f, ' ..
    '"max_us": %%.0f, "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def write_lua(path: Path, method: str, headers: dict, entries: list) -> None:
    headers_lua = ", ".join(
        f"[{lua_string(k)}] = {lua_string(v)}"
        for k, v in {"X-Forwarded-Proto": "https", **headers}.items()
    )
    entries_lua = ",\n".join(
        "{" + lua_string(p) + ", " + (lua_string(b) if b is not None else "nil") + "}"
        for p, b in entries
    )
    path.write_text(
        LUA_TEMPLATE
        % {"method": lua_string(method), "headers": headers_lua, "entries": entries_lua}
    )


def run_wrk(port: int, script: Path, duration: int) -> dict:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH-JSON "))
    raw = json.loads(line.removeprefix("BENCH-JSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": int(raw["requests"]),
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
        "bytes_per_response": round(raw["bytes"] / max(raw["requests"], 1)),
        "errors": {k: int(v) for k, v in raw["errors"].items()},
    }


def check_answer(endpoint: str, port: int, method: str, headers: dict, entry) -> None:
    """One request before the load: it must find the holder's certificate."""
    path, body = entry
    status, _, content = fetch(
        port, method, path, body.encode() if body is not None else None, headers
    )
    text = content.decode()
    if endpoint == "ceiling":
        found = status == 200
    elif endpoint == "baseline":
        found = status == 200 and json.loads(text)["certificates"]
    elif endpoint.startswith("api"):
        found = status == 200 and json.loads(text)["found"]
    else:
        found = status == 200 and 'class="v-list"' in text
    if not found:
        raise SystemExit(f"{endpoint}: 压测前的查验没有查到证书（HTTP {status}）：{text[:500]}")


# Main -----------------------------------------------------------------------------------


def bench_size(size: int, args, env: dict, workdir: Path) -> dict:
    from django.utils import timezone

    facts = prepare_data(args.database_url, size, args.reuse)
    facts.update(database_facts(args.database_url))
    holders = sample_holders(SAMPLE)
    plans = explain_lookups(holders[0])
    facts["plans"] = plans
    facts["plans_use_index"] = all("Index" in plan for plan in plans.values())
    port = free_port()
    server = start_gunicorn(env, port, gunicorn_layout(args), workdir / "gunicorn.log")
    try:
        scripts = {}
        for endpoint in args.endpoints:
            method, headers, entries = endpoint_requests(endpoint, holders, port)
            check_answer(endpoint, port, method, headers, entries[0])
            scripts[endpoint] = workdir / f"{endpoint}.lua"
            write_lua(scripts[endpoint], method, headers, entries)
        for endpoint in args.endpoints:
            run_wrk(port, scripts[endpoint], WARM_UP_S)
        results = {}
        # The baseline runs first and last: the machine's load drifts during a run, and the
        # ratios are taken to the mean of the two.
        order = list(args.endpoints)
        if "baseline" in order and len(order) > 1:
            order.append("baseline")
        for endpoint in order:
            since = timezone.now()
            log(f"{size:,}: {endpoint} for {args.duration} s …")
            figures = run_wrk(port, scripts[endpoint], args.duration)
            if endpoint in PRODUCT_ENDPOINTS:
                figures["recorded"] = recorded_since(since)
                results[endpoint] = figures
            elif endpoint == "baseline":
                results.setdefault("baseline", {"runs": []})["runs"].append(figures)
            else:
                results[endpoint] = figures
    finally:
        stop(server)
    if "baseline" in results:
        runs = results["baseline"]["runs"]
        results["baseline"].update(
            {
                key: round(sum(run[key] for run in runs) / len(runs), 2)
                for key in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms")
            },
            errors={k: sum(run["errors"][k] for run in runs) for k in runs[0]["errors"]},
        )
    if "baseline" in results:
        base = results["baseline"]
        for endpoint in PRODUCT_ENDPOINTS:
            if endpoint in results:
                figures = results[endpoint]
                figures["ratio_rps_to_baseline"] = round(
                    figures["requests_per_s"] / base["requests_per_s"], 3
                )
                figures["ratio_p99_to_baseline"] = round(figures["p99_ms"] / base["p99_ms"], 3)
    facts["endpoints"] = results
    return facts


def judge(sizes: dict) -> dict:
    verdict = {}
    for size, facts in sizes.items():
        for endpoint, figures in facts["endpoints"].items():
            if endpoint not in PRODUCT_ENDPOINTS:
                continue
            recorded = figures.get("recorded", {})
            verdict[f"{size}:{endpoint}"] = {
                "requests_per_s": figures["requests_per_s"] >= TARGET_RPS,
                "p99": figures["p99_ms"] <= TARGET_P99_MS,
                "no_errors": not any(figures["errors"].values()),
                "all_found": set(recorded) == {"found"},
            }
    if "10000" in sizes and "1000000" in sizes:
        small, large = sizes["10000"]["endpoints"], sizes["1000000"]["endpoints"]
        for endpoint in PRODUCT_ENDPOINTS:
            if endpoint in small and endpoint in large:
                ratio = small[endpoint]["requests_per_s"] / large[endpoint]["requests_per_s"]
                verdict[f"same_at_10000:{endpoint}"] = {
                    "ratio_10000_to_1000000": round(ratio, 3),
                    "within": abs(ratio - 1) <= TARGET_SAME_WITHIN,
                }
    return verdict


def passed(verdict: dict) -> bool:
    return all(
        v for checks in verdict.values() for k, v in checks.items() if k != "ratio_10000_to_1000000"
    )


def print_table(result: dict) -> None:
    print()
    print(
        f"{'size':>10} {'lookup':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'÷ base':>8}{'errors':>8}  recorded"
    )
    for size, facts in result["sizes"].items():
        for endpoint, f in facts["endpoints"].items():
            ratio = f.get("ratio_rps_to_baseline")
            recorded = ", ".join(f"{k} {v}" for k, v in sorted(f.get("recorded", {}).items()))
            print(
                f"{int(size):>10,} {endpoint:<10}{f['requests_per_s']:>9.0f}{f['p50_ms']:>9.2f}"
                f"{f['p99_ms']:>9.2f}{ratio if ratio is not None else '':>8}"
                f"{sum(f['errors'].values()):>8}  {recorded}"
            )
    for size, facts in result["sizes"].items():
        seed = "reused" if facts["reused"] else f"{facts['seed_s']} s"
        print(
            f"{int(size):>10,} certificates: seed {seed}, database "
            f"{facts['database_bytes'] / 2**20:,.0f} MiB (certificate table "
            f"{facts['certificate_table_bytes'] / 2**20:,.0f} MiB), index used: "
            f"{facts['plans_use_index']}"
        )
    print(
        f"targets: ≥ {TARGET_RPS} req/s and p99 ≤ {TARGET_P99_MS:g} ms at {CONNECTIONS} "
        f"connections; 10,000 within ±{TARGET_SAME_WITHIN:.0%} of 1,000,000 → "
        f"{'PASS' if result['passed'] else 'MISS'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--duration", type=int, default=DURATION_S, help="seconds per lookup")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--worker-class", help="default: gunicorn.conf.py's (sync)")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database that already holds N certificates"
    )
    args = parser.parse_args()
    args.endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = set(args.endpoints) - set(ENDPOINTS)
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    database_name(args.database_url)

    with tempfile.TemporaryDirectory(prefix="certportal-bench-lookup-") as tmp:
        workdir = Path(tmp)
        env = {
            **os.environ,
            **BENCH_ENV,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "STATIC_ROOT": str(workdir / "static"),
            "MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_SETTINGS_MODULE": "certportal.settings",
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        result = {
            "connections": CONNECTIONS,
            "duration_s": args.duration,
            "cpu_count": os.cpu_count(),
            "gunicorn": gunicorn_layout(args),
            "sizes": {},
        }
        for size in sizes:
            result["sizes"][str(size)] = bench_size(size, args, env, workdir)
    result["targets"] = {
        "requests_per_s": TARGET_RPS,
        "p99_ms": TARGET_P99_MS,
        "same_within": TARGET_SAME_WITHIN,
    }
    result["pass"] = judge(result["sizes"])
    result["passed"] = passed(result["pass"])
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print_table(result)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
