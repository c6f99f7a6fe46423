"""Batch issuance benchmark (SPEC 7): records, numbers and audit, then the PDFs by real workers.

Run: ``.venv/bin/python benchmarks/issuance.py [N] [--keep] [--database NAME]`` (N passed
candidates, default 10000; PostgreSQL and Redis must be running).

It works on a database of its own, ``certportal_bench_issuance`` (or ``--database``, whose
name must start with ``certportal_bench``) on the PostgreSQL server of ``DATABASE_URL``
(default ``postgres://postgres@127.0.0.1:5432``): dropped and created afresh, migrated, the
reference data loaded; the database ``DATABASE_URL`` names is never touched. The broker is
``REDIS_URL`` (default ``redis://127.0.0.1:6379/7``), on queues named for this run and deleted
after it. Media go to a temporary directory, removed at the end, and so is the database
(unless ``--keep``). Like production it runs with ``DEBUG`` off, on keys generated for the
run (DEBUG's query log would tax every query).

Setup (not timed): N applicants with a real-name profile (encrypted ID number and blind
index), a 1-inch photo file each, and a passed application each in one exam session whose
scores are published — all by bulk inserts.

Records: ``batch_issue_start`` as the 批量签发 admin action calls it, then its task's service
``batch_issue_run``, timed, in this process: numbers from the locked counter, certificate
and validity rows, photo copies, notices, one audit event per certificate, and the render
tasks enqueued after each commit. Baseline, in the same run: one query for the candidates
and a bare ``bulk_create`` of N certificate rows (no numbering, no audit, no photo), rolled
back.

PDFs: one ``celery worker --pool prefork --concurrency 2`` (the docker-compose worker: two
processes) against the benchmark database, started on an idle queue and then told to consume
the queue the issuance enqueued its renders on; timed from that moment until every
certificate's PDF is of its content (``pdf_version == content_version``, the last row's
``updated_at``). The worker starts cold, as after a deploy: its first render in each process
registers the fonts. Baseline, in the same run: the same N renders of the same data by a
warm 2-process ``multiprocessing`` pool calling ``render_certificate_pdf`` directly (no
Celery, no database, no file).

Targets, scaled to N: records at ≥ 500 certificates per second (10,000 in ≤ 20 s) and PDFs at
≥ 130 per second. Prints JSON, then a table; exits non-zero when a target is missed or a
check (every number distinct, one audit event, validity period, photo and PDF per
certificate) fails. Figures from a machine busy with other work say little: note the load.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATABASE_NAME = "certportal_bench_issuance"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
N = 10_000
TARGET_RECORDS_PER_SECOND = 10_000 / 20
TARGET_PDFS_PER_SECOND = 130
WORKER_PROCESSES = 2
DEMO_CREDIT_CODE = "91350100M000100Y43"  # GB 32100's own example
UNUSABLE = "!"  # Django's mark of an account that cannot log in with a password
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许"
    "韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌海波辉鹏"


def benchmark_database_url(name: str) -> str:
    """The server (and credentials) of DATABASE_URL when it is PostgreSQL, our own database."""
    configured = os.environ.get("DATABASE_URL", "")
    server = configured if configured.startswith(("postgres://", "postgresql://")) else ""
    parts = urlsplit(server or DEFAULT_SERVER)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def configure_environment(media_root: Path, database: str) -> dict[str, str]:
    """Production-like settings for this process and the worker it starts."""
    fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    values = {
        "DJANGO_SETTINGS_MODULE": "certportal.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "PII_ENCRYPTION_KEYS": fernet_key,
        "PII_INDEX_KEY": secrets.token_urlsafe(48),
        "SITE_URL": "https://certs.example.gov.cn",
        "DATABASE_URL": benchmark_database_url(database),
        "REDIS_URL": os.environ.get("REDIS_URL") or DEFAULT_REDIS,
        "MEDIA_ROOT": str(media_root),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(values)
    return values


def drop_database(url: str, *, create: bool = False) -> None:
    """Drop the benchmark database (ending its sessions), and create it afresh if asked."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = sql.Identifier(parts.path.lstrip("/"))
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if create:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))


# --- setup -------------------------------------------------------------------------------


def create_candidates(count: int) -> dict:
    """N passed candidates of one published session, by bulk inserts; returns the context."""
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from applicants.demo import demo_photo
    from applicants.idcard import compute_check_character
    from applicants.models import Material, Profile, User
    from certportal import roles
    from exams.models import (
        Authority,
        ExamApplication,
        ExamSession,
        Institution,
        StaffMembership,
        Trade,
    )

    rng = random.Random(2026)
    authority = Authority.objects.select_related("parent").get(region_code="350500")
    Authority.objects.filter(pk=authority.parent_id, credit_code="").update(
        credit_code=DEMO_CREDIT_CODE
    )
    trade = Trade.objects.get(code="05", authority__isnull=True)
    centre = Institution.objects.get(name="泉州市住建行业中介服务中心")
    photo = demo_photo(7)
    photo_sha = hashlib.sha256(photo).hexdigest()
    materials_dir = Path(settings.MEDIA_ROOT) / "materials"
    materials_dir.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    with transaction.atomic():
        actor = User.objects.create_user(username="bench-authority", is_staff=True)
        actor.groups.add(Group.objects.get(name=roles.AUTHORITY_STAFF))
        StaffMembership.objects.create(user=actor, authority=authority)
        session = ExamSession.objects.create(
            name="基准测试考试计划",
            trade=trade,
            assessment_institution=centre,
            authority=authority,
            theory_at=now - timedelta(days=20),
            practical_at=now - timedelta(days=19),
            venue="泉州市基准测试考点",
            capacity=count,
            status=ExamSession.Status.SCORES_PUBLISHED,
            created_by=actor,
            published_at=now - timedelta(days=1),
        )
        users = User.objects.bulk_create(
            [User(username=f"139{index:08d}", password=UNUSABLE) for index in range(count)],
            batch_size=2000,
        )
        profiles = []
        materials = []
        applications = []
        for index, user in enumerate(users):
            birth = date(1975, 1, 1) + timedelta(days=index % 9000)
            first17 = f"350503{birth:%Y%m%d}{index // 9000 + 100:03d}"
            sex = "M" if int(first17[16]) % 2 else "F"
            name = rng.choice(SURNAMES) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
            )
            profiles.append(
                Profile(
                    user=user,
                    name=name,
                    id_number=first17 + compute_check_character(first17),
                    birth_date=birth,
                    sex=sex,
                    mobile=user.username,
                    education="senior",
                    id_number_locked=True,
                )
            )
            file_name = f"materials/{uuid.uuid4().hex}.jpg"
            (Path(settings.MEDIA_ROOT) / file_name).write_bytes(photo)
            materials.append(
                Material(
                    owner=user,
                    kind="photo",
                    file=file_name,
                    content_type="image/jpeg",
                    size=len(photo),
                    width=330,
                    height=462,
                    sha256=photo_sha,
                )
            )
            applications.append(
                ExamApplication(
                    applicant=user,
                    trade=trade,
                    authority=authority,
                    assessment_institution=centre,
                    status=ExamApplication.Status.PASSED,
                    session=session,
                    ticket_number=f"{now.year}350500{trade.code}{session.pk:05d}{index:05d}",
                    theory_score=Decimal(90),
                    practical_score=Decimal(85),
                    submitted_at=now - timedelta(days=40),
                    approved_at=now - timedelta(days=30),
                )
            )
        Profile.objects.bulk_create(profiles, batch_size=2000)
        Material.objects.bulk_create(materials, batch_size=2000)
        ExamApplication.objects.bulk_create(applications, batch_size=2000)
    return {"actor": actor, "session": session, "authority": authority, "trade": trade}


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- records -----------------------------------------------------------------------------


def measure_bulk_create_baseline(ctx: dict, issued_on: date) -> float:
    """Seconds to read the candidates and bulk-insert N bare certificate rows (rolled back)."""
    from django.db import transaction

    from certificates.models import Certificate
    from certificates.numbering import format_certificate_number
    from exams.models import ExamApplication

    authority, trade = ctx["authority"], ctx["trade"]
    prefix = authority.number_prefix
    valid_until = issued_on.replace(year=issued_on.year + 2) - timedelta(days=1)
    with transaction.atomic():
        start = time.perf_counter()
        applications = (
            ExamApplication.objects.filter(
                session=ctx["session"], status=ExamApplication.Status.PASSED
            )
            .select_related("applicant__profile")
            .order_by("ticket_number")
        )
        rows = []
        for serial, application in enumerate(applications, start=1):
            profile = application.applicant.profile
            rows.append(
                Certificate(
                    number=format_certificate_number(
                        prefix=prefix, trade_code=trade.code, year=issued_on.year, serial=serial
                    ),
                    holder_id=application.applicant_id,
                    holder_name=profile.name,
                    holder_sex=profile.sex,
                    holder_id_number=profile.id_number,
                    holder_birth_date=profile.birth_date,
                    trade=trade,
                    authority=authority,
                    application_id=application.pk,
                    first_issued_on=issued_on,
                    issued_on=issued_on,
                    valid_from=issued_on,
                    valid_until=valid_until,
                )
            )
        Certificate.objects.bulk_create(rows, batch_size=1000)
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def measure_batch_issue(ctx: dict, issued_on: date) -> tuple[float, object]:
    """Seconds of ``batch_issue_run`` over the session's N passed candidates."""
    from certificates.services import batch_issue_run, batch_issue_start

    # The admin action's service records the batch and enqueues its task after commit; that
    # task goes to the parking queue, and the benchmark runs it here, timed.
    batch = batch_issue_start(session=ctx["session"], actor=ctx["actor"])
    start = time.perf_counter()
    batch = batch_issue_run(batch_id=batch.pk, issued_on=issued_on)
    return time.perf_counter() - start, batch


def issuance_checks(count: int, batch) -> dict:
    from django.db.models import Count

    from certificates.models import Certificate, SerialCounter, ValidityPeriod
    from certportal.models import AuditEvent

    issued = Certificate.objects.count()
    numbers = Certificate.objects.values("number").distinct().count()
    audited = (
        AuditEvent.objects.filter(action="certificates.certificate.issued")
        .values("object_id")
        .annotate(n=Count("id"))
    )
    counter = SerialCounter.objects.get()
    return {
        "batch_done": batch.status == "done" and batch.done == count,
        "batch_all_ok": all(result["ok"] for result in batch.results),
        "certificates": issued == count,
        "numbers_distinct": numbers == count,
        "counter_at_n": counter.last == count,
        "one_audit_event_each": audited.count() == count and all(a["n"] == 1 for a in audited),
        "one_validity_period_each": ValidityPeriod.objects.count() == count,
        "photo_copied_each": not Certificate.objects.filter(holder_photo="").exists(),
    }


# --- PDFs --------------------------------------------------------------------------------

_RENDER_DATA: list = []


def _render_size(index: int) -> int:
    from certificates.pdf import render_certificate_pdf

    return len(render_certificate_pdf(_RENDER_DATA[index]))


def _warm_pool_process() -> None:
    _render_size(0)
    _render_size(len(_RENDER_DATA) - 1)


def measure_pool_baseline() -> float:
    """Renders per second of the issued certificates' data by a warm 2-process pool."""
    global _RENDER_DATA
    from django.db import connection

    from certificates.models import Certificate
    from certificates.services.rendering import certificate_data

    certificates = Certificate.objects.select_related("authority__parent", "trade").order_by("pk")
    _RENDER_DATA = [certificate_data(certificate, version=1) for certificate in certificates]
    connection.close()  # never share a database connection with forked children
    context = multiprocessing.get_context("fork")
    count = len(_RENDER_DATA)
    with context.Pool(WORKER_PROCESSES, initializer=_warm_pool_process) as pool:
        pool.map(_render_size, range(WORKER_PROCESSES * 4), chunksize=1)
        start = time.perf_counter()
        pool.map(_render_size, range(count), chunksize=max(1, count // (WORKER_PROCESSES * 16)))
        elapsed = time.perf_counter() - start
    _RENDER_DATA = []
    return count / elapsed


class Worker:
    """One real ``celery worker`` (prefork, 2 processes) against the benchmark database."""

    def __init__(self, env: dict[str, str], idle_queue: str, log_path: Path):
        self.hostname = f"{idle_queue}@{socket.gethostname()}"
        self.idle_queue = idle_queue
        self.log_path = log_path
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from certportal.celery import app

        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "certportal",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(WORKER_PROCESSES),
                "--queues",
                self.idle_queue,
                "--hostname",
                self.hostname,
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + self.tail())
            if app.control.ping(destination=[self.hostname], timeout=1.0):
                return
        raise RuntimeError("celery worker did not answer within 60 s:\n" + self.tail())

    def consume(self, queue: str) -> None:
        from certportal.celery import app

        replies = app.control.add_consumer(queue, destination=[self.hostname], reply=True)
        if not replies:
            raise RuntimeError("celery worker did not confirm the render queue")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def measure_workers(worker: Worker, render_queue: str, count: int) -> float:
    """PDFs per second from the moment the warm-started worker takes the queue until every
    certificate's PDF is current (the last one's ``updated_at``)."""
    from django.db.models import F, Max

    from certificates.models import Certificate

    pending = Certificate.objects.filter(pdf_version__lt=F("content_version"))
    deadline = time.monotonic() + 120 + count / 10
    started = time.time()
    worker.consume(render_queue)
    while pending.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{pending.count()} PDFs still missing after the deadline:\n" + worker.tail()
            )
        if worker.process.poll() is not None:
            raise RuntimeError("celery worker exited:\n" + worker.tail())
        time.sleep(0.25)
    finished: datetime = Certificate.objects.aggregate(last=Max("updated_at"))["last"]
    return count / (finished.timestamp() - started)


def pdf_checks(count: int) -> dict:
    from django.conf import settings
    from django.db.models import F

    from certificates.models import Certificate, CertificatePdf

    files = list(Certificate.objects.values_list("pdf", flat=True))
    return {
        "every_pdf_current": Certificate.objects.filter(pdf_version=F("content_version")).count()
        == count,
        "one_pdf_version_each": CertificatePdf.objects.count() == count,
        "every_file_written": all((Path(settings.MEDIA_ROOT) / name).is_file() for name in files),
    }


def route_tasks(render_queue: str, parking_queue: str) -> None:
    """Renders to the queue the worker will take; any other task to a queue no one reads."""
    from certportal.celery import app

    def route(name, args, kwargs, options, task=None, **extra):
        if name.startswith("certificates.tasks.render_certificate"):
            return {"queue": render_queue}
        return {"queue": parking_queue}

    app.conf.task_routes = (route,)


def delete_queues(redis_url: str, *queues: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for queue in queues:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("n", nargs="?", type=int, default=N, help="passed candidates")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--database",
        default=DATABASE_NAME,
        help=f"database to (re)create (default {DATABASE_NAME})",
    )
    args = parser.parse_args()
    if not args.database.startswith("certportal_bench"):
        parser.error("--database must start with certportal_bench (it is dropped and recreated)")
    count = args.n
    media_root = Path(tempfile.mkdtemp(prefix="certportal-bench-issuance-"))
    env = configure_environment(media_root, args.database)
    run = uuid.uuid4().hex[:8]
    render_queue, idle_queue, parking_queue = (
        f"bench-issuance-{run}-render",
        f"bench-issuance-{run}-idle",
        f"bench-issuance-{run}-parked",
    )
    worker = Worker(env, idle_queue, media_root / "worker.log")
    load_before = os.getloadavg()
    drop_database(env["DATABASE_URL"], create=True)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        route_tasks(render_queue, parking_queue)
        call_command("migrate", verbosity=0)
        call_command("loaddata", "reference", "institutions", verbosity=0)
        setup_started = time.perf_counter()
        ctx = create_candidates(count)
        vacuum_analyze()
        setup_seconds = time.perf_counter() - setup_started
        issued_on = timezone.localdate()

        baseline_seconds = measure_bulk_create_baseline(ctx, issued_on)
        vacuum_analyze()
        issue_seconds, batch = measure_batch_issue(ctx, issued_on)
        checks = issuance_checks(count, batch)
        vacuum_analyze()

        pool_per_second = measure_pool_baseline()
        worker.start()
        connection.close()
        workers_per_second = measure_workers(worker, render_queue, count)
        worker.stop()
        checks.update(pdf_checks(count))
        load_after = os.getloadavg()
    finally:
        worker.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not be set up yet; nothing to close then
            pass
        delete_queues(env["REDIS_URL"], render_queue, idle_queue, parking_queue)
        if not args.keep:
            drop_database(env["DATABASE_URL"])
        shutil.rmtree(media_root, ignore_errors=True)

    records_per_second = count / issue_seconds
    result = {
        "n": count,
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15_min": {
            "start": [round(load, 2) for load in load_before],
            "end": [round(load, 2) for load in load_after],
        },
        "setup_seconds": round(setup_seconds, 2),
        "records": {
            "seconds": round(issue_seconds, 3),
            "per_second": round(records_per_second, 1),
            "baseline_bulk_create_seconds": round(baseline_seconds, 3),
            "baseline_per_second": round(count / baseline_seconds, 1),
            "ratio": round(issue_seconds / baseline_seconds, 2),
        },
        "pdfs": {
            "worker": f"1 celery worker, prefork, --concurrency {WORKER_PROCESSES}",
            "per_second": round(workers_per_second, 1),
            "seconds": round(count / workers_per_second, 2),
            "baseline_pool_per_second": round(pool_per_second, 1),
            "ratio": round(workers_per_second / pool_per_second, 2),
        },
        "targets": {
            "records_per_second": TARGET_RECORDS_PER_SECOND,
            "records_seconds_for_n": round(count / TARGET_RECORDS_PER_SECOND, 2),
            "pdfs_per_second": TARGET_PDFS_PER_SECOND,
        },
        "checks": checks,
    }
    result["pass"] = {
        "records": records_per_second >= TARGET_RECORDS_PER_SECOND,
        "pdfs": workers_per_second >= TARGET_PDFS_PER_SECOND,
        "checks": all(checks.values()),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print()
    records, pdfs = result["records"], result["pdfs"]
    print(f"{'':<34}{'seconds':>10}{'per s':>10}{'target':>12}")
    records_target = f"≤ {result['targets']['records_seconds_for_n']} s"
    print(
        f"{'records: batch_issue_run':<34}{records['seconds']:>10.2f}"
        f"{records['per_second']:>10.1f}{records_target:>12}"
    )
    print(
        f"{'records: bare bulk_create':<34}{records['baseline_bulk_create_seconds']:>10.2f}"
        f"{records['baseline_per_second']:>10.1f}"
    )
    print(f"{'records: ratio to baseline':<34}{records['ratio']:>10.2f}")
    print(
        f"{'PDFs: celery worker, 2 processes':<34}{pdfs['seconds']:>10.2f}"
        f"{pdfs['per_second']:>10.1f}{'≥ ' + str(TARGET_PDFS_PER_SECOND) + '/s':>12}"
    )
    print(
        f"{'PDFs: bare 2-process pool':<34}{count / pdfs['baseline_pool_per_second']:>10.2f}"
        f"{pdfs['baseline_pool_per_second']:>10.1f}"
    )
    print(f"{'PDFs: share of the pool rate':<34}{pdfs['ratio']:>10.2f}")
    print(f"load average (1 min) {load_before[0]:.2f} at start, {load_after[0]:.2f} at end")
    failed = [name for name, ok in checks.items() if not ok]
    print(f"checks: {'all passed' if not failed else 'FAILED ' + ', '.join(failed)}")
    return 0 if all(result["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
