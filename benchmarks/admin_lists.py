"""Staff lists at scale: the certificate list, the record of public lookups and the exam
applications, as a superuser, a province's staff and a city's staff see them, against two
figures from the same run:

- ``django``: the same page with Django's defaults, as the lists were before
  (``date_hierarchy``, ``RelatedOnlyFieldListFilter``, an exact count and the unfiltered
  total; for the lookup record, the scope as a join made distinct): what the page costs when
  it reads every row in scope;
- ``bare``: the page's own rows alone (the first page of the scoped queryset, listed), the
  least any list page can cost.

Run: ``.venv/bin/python benchmarks/admin_lists.py [--certificates 200000] [--lookups 2000000]
[--applications 500000]`` (PostgreSQL). It (re)creates its own database (``--database-url``, default
``certportal_bench_admin``; the name must contain ``bench``), seeds the certificates with
``seed_bulk``, gives a quarter to Quanzhou, a quarter to its province Fujian and the rest to
other authorities (a city is a small part of a national table), writes the lookup records in
one statement (one in three found nothing; a found lookup names one certificate) and the
applications with their institutions and sessions (``seed_applications``), then renders
each page in a warm process through Django's test client, ``--repeat`` times, and prints the
median in milliseconds as JSON, then a table. ``--reuse`` keeps a database of the same size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.lookup import (  # noqa: E402
    BENCH_ENV,
    DEFAULT_REDIS_URL,
    database_name,
    log,
    recreate_database,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/certportal_bench_admin"
QUANZHOU, FUJIAN = 350500, 350000
OTHERS = (330200, 370100, 630100, 110000, 440000)  # Ningbo, Jinan, Xining, Beijing, Guangdong
# Each page as the portal asks for it, and as Django's defaults did (the date hierarchy's own
# parameter for a year).
PAGES = {
    "certificates": ("/admin/certificates/certificate/",) * 2,
    "certificates, one year": (
        "/admin/certificates/certificate/?issued_on_year={year}",
        "/admin/certificates/certificate/?issued_on__year={year}",
    ),
    "lookup record": ("/admin/verification/lookuprecord/",) * 2,
    "exam applications": ("/admin/exams/examapplication/",) * 2,
}


def prepare(url: str, certificates: int, lookups: int, applications: int, reuse: bool) -> dict:
    from django.core.management import call_command
    from django.db import connection, connections

    from certificates.models import Certificate
    from exams.models import ExamApplication
    from verification.models import LookupRecord

    if reuse:
        with contextlib.suppress(Exception):
            counts = (
                Certificate.objects.count(),
                LookupRecord.objects.count(),
                ExamApplication.objects.count(),
            )
            if counts == (certificates, lookups, applications):
                log(f"reusing {database_name(url)}")
                return {"reused": True}
    connections.close_all()
    recreate_database(url)
    call_command("migrate", verbosity=0)
    call_command("loaddata", "reference", "institutions", verbosity=0)
    log(
        f"seeding {certificates:,} certificates, {lookups:,} lookups, {applications:,} applications"
    )
    started = time.perf_counter()
    call_command("seed_bulk", certificates=certificates, stdout=sys.stderr)
    with connection.cursor() as cursor:
        # Quarter to Quanzhou, a quarter to Fujian, the rest spread over other authorities.
        cursor.execute(
            """UPDATE certificates_certificate SET authority_id = CASE
                WHEN id %% 4 = 0 THEN %s WHEN id %% 4 = 1 THEN %s
                ELSE (%s::bigint[])[1 + id %% %s] END""",
            [QUANZHOU, FUJIAN, list(OTHERS), len(OTHERS)],
        )
        cursor.execute(
            """INSERT INTO verification_lookuprecord
                   (created_at, client_address, kind, outcome, id_hash)
               SELECT now() - make_interval(secs => g * 15),
                      ('10.' || g %% 250 || '.' || g / 250 %% 250 || '.1')::inet,
                      (ARRAY['form', 'cert_no', 'qr', 'api'])[1 + g %% 4],
                      CASE WHEN g %% 3 = 0 THEN 'not_found' ELSE 'found' END,
                      md5(g::text) || md5((g + 1)::text)
               FROM generate_series(1, %s) g""",
            [lookups],
        )
        cursor.execute(
            """INSERT INTO verification_lookuprecord_certificates
                   (lookuprecord_id, certificate_id)
               SELECT r.id, c.id FROM verification_lookuprecord r
               JOIN certificates_certificate c
                 ON c.id = (SELECT min(id) FROM certificates_certificate) + r.id %% %s
               WHERE r.outcome = 'found'""",
            [certificates],
        )
        seed_applications(cursor, applications)
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")
    return {"reused": False, "seed_s": round(time.perf_counter() - started, 1)}


def seed_applications(cursor, applications: int) -> None:
    """Institutions (20 training schools and 4 assessment centres an authority), 3,000 exam
    sessions, one applicant, and ``applications`` decided applications (passed or failed: no
    open one, which an applicant may hold once a trade) spread like the certificates, each
    with its authority's institutions and one of its sessions, created over four years."""
    authorities = [QUANZHOU, FUJIAN, *OTHERS]
    cursor.execute(
        """INSERT INTO exams_institution
               (name, kind, authority_id, credit_code, offers_continuing_education, is_active)
           SELECT 'bench ' || k.kind || ' ' || a || '-' || g, k.kind, a, '', false, true
           FROM unnest(%s::bigint[]) a,
                (VALUES ('training', 20), ('assessment', 4)) k(kind, n),
                generate_series(1, k.n) g""",
        [authorities],
    )
    cursor.execute(
        """INSERT INTO exams_examsession
               (name, theory_at, practical_at, venue, capacity, status, created_at,
                assessment_institution_id, authority_id, trade_id, return_reason)
           SELECT 'bench session ' || g, now() - make_interval(days => g %% 1400),
                  now() - make_interval(days => g %% 1400), 'bench', 100, 'scores_published',
                  now(), i.id, i.authority_id, (SELECT min(id) FROM exams_trade), ''
           FROM generate_series(1, 3000) g
           JOIN LATERAL (SELECT id, authority_id FROM exams_institution
                         WHERE kind = 'assessment' AND name LIKE 'bench %%'
                         ORDER BY id OFFSET g %% (4 * %s) LIMIT 1) i ON true""",
        [len(authorities)],
    )
    cursor.execute(
        """INSERT INTO applicants_user (password, is_superuser, username, first_name,
               last_name, email, is_staff, is_active, date_joined)
           VALUES ('!', false, 'bench-applicant', '', '', '', false, true, now())
           RETURNING id"""
    )
    (applicant,) = cursor.fetchone()
    cursor.execute(
        """CREATE TEMP TABLE bench_sessions AS
           SELECT s.id, s.authority_id, s.assessment_institution_id,
                  row_number() OVER (PARTITION BY s.authority_id ORDER BY s.id) - 1 AS n,
                  count(*) OVER (PARTITION BY s.authority_id) AS of
           FROM exams_examsession s WHERE s.name LIKE 'bench session %%'"""
    )
    cursor.execute(
        """CREATE TEMP TABLE bench_schools AS
           SELECT id, authority_id,
                  row_number() OVER (PARTITION BY authority_id ORDER BY id) - 1 AS n
           FROM exams_institution WHERE kind = 'training' AND name LIKE 'bench %%'"""
    )
    cursor.execute(
        """INSERT INTO exams_examapplication
               (status, status_reason, submitted_at, ticket_pdf, absent, created_at,
                updated_at, applicant_id, assessment_institution_id, authority_id, trade_id,
                training_institution_id, session_id, ticket_error, submitted_name,
                submitted_photo)
           SELECT CASE WHEN g %% 5 = 0 THEN 'failed' ELSE 'passed' END, '',
                  now() - make_interval(mins => g), '', false,
                  now() - make_interval(mins => g), now(), %s, s.assessment_institution_id,
                  a.authority, (SELECT min(id) FROM exams_trade), t.id, s.id, '', '', ''
           FROM generate_series(1, %s) g
           CROSS JOIN LATERAL (SELECT CASE WHEN g %% 4 = 0 THEN %s WHEN g %% 4 = 1 THEN %s
                               ELSE (%s::bigint[])[1 + g %% %s] END AS authority) a
           JOIN bench_sessions s ON s.authority_id = a.authority AND s.n = g %% s.of
           JOIN bench_schools t ON t.authority_id = a.authority AND t.n = g %% 20""",
        [applicant, applications, QUANZHOU, FUJIAN, list(OTHERS), len(OTHERS)],
    )


def staff() -> dict:
    from django.contrib.auth.models import Group

    from applicants.models import User
    from certportal import roles
    from exams.models import Authority, StaffMembership

    users = {"superuser": User.objects.filter(username="bench-superuser").first()}
    if users["superuser"] is None:
        users["superuser"] = User.objects.create_superuser("bench-superuser", password=None)
    for key, authority in (("province", FUJIAN), ("city", QUANZHOU)):
        user, created = User.objects.get_or_create(
            username=f"bench-{key}", defaults={"is_staff": True}
        )
        if created:
            user.groups.add(Group.objects.get(name=roles.AUTHORITY_STAFF))
            StaffMembership.objects.create(user=user, authority=Authority.objects.get(pk=authority))
        users[key] = user
    return users


@contextlib.contextmanager
def django_defaults():
    """The lists as Django's defaults draw them (and as they were before 2026-11-24)."""
    from django.contrib import admin
    from django.core.paginator import Paginator

    from certificates.models import Certificate
    from exams.models import ExamApplication
    from exams.selectors import authorities_in_scope
    from verification.models import LookupRecord

    certificates = admin.site._registry[Certificate]
    lookups = admin.site._registry[LookupRecord]
    applications = admin.site._registry[ExamApplication]
    saved = (
        {
            (certificates, name): getattr(certificates, name)
            for name in ("date_hierarchy", "list_filter", "show_full_result_count")
        }
        | {
            (lookups, name): getattr(lookups, name)
            for name in ("date_hierarchy", "paginator", "show_full_result_count")
        }
        | {
            (applications, name): getattr(applications, name)
            for name in ("list_filter", "show_full_result_count")
        }
    )
    scoped = type(lookups).get_queryset

    def joined(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        return qs.filter(certificates__authority__in=authorities_in_scope(request.user)).distinct()

    certificates.date_hierarchy = "issued_on"
    certificates.list_filter = (
        "status",
        "trade",
        ("authority", admin.RelatedOnlyFieldListFilter),
        "is_legacy",
    )
    certificates.show_full_result_count = True
    lookups.date_hierarchy = "created_at"
    lookups.paginator = Paginator
    lookups.show_full_result_count = True
    applications.list_filter = (
        "status",
        "trade",
        ("assessment_institution", admin.RelatedOnlyFieldListFilter),
        ("training_institution", admin.RelatedOnlyFieldListFilter),
        ("session", admin.RelatedOnlyFieldListFilter),
    )
    applications.show_full_result_count = True
    type(lookups).get_queryset = joined
    try:
        yield
    finally:
        for (model_admin, name), value in saved.items():
            setattr(model_admin, name, value)
        type(lookups).get_queryset = scoped


def bare_page(url: str, user) -> None:
    """The page's rows and nothing else: the scoped queryset's first page, listed."""
    from django.contrib import admin
    from django.test import RequestFactory

    from certificates.models import Certificate
    from exams.models import ExamApplication
    from verification.models import LookupRecord

    model = {"lookuprecord": LookupRecord, "examapplication": ExamApplication}.get(
        url.split("/")[3], Certificate
    )
    model_admin = admin.site._registry[model]
    request = RequestFactory().get(url)
    request.user = user
    list(model_admin.get_queryset(request)[: model_admin.list_per_page])


def timed(action, repeat: int) -> float:
    action()  # warm: templates compiled, connection open
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs) * 1e3, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=2_000_000)
    parser.add_argument("--applications", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    database_name(args.database_url)
    with tempfile.TemporaryDirectory(prefix="certportal-bench-admin-") as tmp:
        os.environ.update(
            {
                **BENCH_ENV,
                "DATABASE_URL": args.database_url,
                "REDIS_URL": DEFAULT_REDIS_URL,
                "STATIC_ROOT": str(Path(tmp) / "static"),
                "MEDIA_ROOT": str(Path(tmp) / "media"),
                "DJANGO_SETTINGS_MODULE": "benchmarks.lookup_settings",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        return run(args)


def run(args) -> int:
    from django.test import Client

    from certificates.models import Certificate

    result = {
        "certificates": args.certificates,
        "lookups": args.lookups,
        "applications": args.applications,
        **prepare(
            args.database_url, args.certificates, args.lookups, args.applications, args.reuse
        ),
        "pages": [],
    }
    year = Certificate.objects.order_by("-issued_on").values_list("issued_on", flat=True)[0].year
    users = staff()
    for who, user in users.items():
        client = Client(HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")
        client.force_login(user)
        for page, urls in PAGES.items():
            url, django_url = (address.format(year=year - 1) for address in urls)

            def get(url, client=client):
                status = client.get(url).status_code
                if status != 200:
                    raise SystemExit(f"{url}: HTTP {status}")

            row = {
                "page": page,
                "who": who,
                "portal_ms": timed(lambda url=url: get(url), args.repeat),
            }
            with django_defaults():
                row["django_ms"] = timed(lambda url=django_url: get(url), args.repeat)
            row["bare_ms"] = timed(lambda url=url, user=user: bare_page(url, user), args.repeat)
            row["django_over_portal"] = round(row["django_ms"] / row["portal_ms"], 2)
            row["portal_over_bare"] = round(row["portal_ms"] / row["bare_ms"], 2)
            result["pages"].append(row)
            log(f"{who:10} {page:24} {row['portal_ms']} ms")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        f"\n{'page':24} {'who':10} {'portal ms':>10} {'django ms':>10} {'÷ portal':>9}"
        f" {'bare ms':>8} {'portal ÷ bare':>14}"
    )
    for row in result["pages"]:
        print(
            f"{row['page']:24} {row['who']:10} {row['portal_ms']:>10} {row['django_ms']:>10}"
            f" {row['django_over_portal']:>9} {row['bare_ms']:>8} {row['portal_over_bare']:>14}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
