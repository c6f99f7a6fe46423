"""What keeps a public lookup cheap under load (SPEC 7, benchmarks/lookup.py), without giving
up what the lookup must do: one query for the certificates, the lookup recorded durably enough
and without weakening the connection for later writes, rate-limit windows that expire, and
blank forms kept per language that never carry what a visitor typed."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates.models import CertificateStatus
from conftest import need
from verification import ratelimit, services
from verification.models import LookupKind, LookupOutcome, LookupRecord

pytestmark = pytest.mark.django_db
C = CertificateStatus


def reads(queries) -> list[str]:
    """The statements that read certificates or anything else (on PostgreSQL the lookup and
    its record are one statement, ``WITH found AS (SELECT …), record AS (INSERT …) …``)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().startswith(("SELECT", "WITH"))
    ]


def test_a_found_lookup_reads_the_certificates_in_one_query(by_status):
    """Every status shows different fields (the date a suspension began, …): none of them may
    be loaded by a second query per certificate, and recording the lookup reads nothing."""
    client = Client()  # the ID-guarding client reads every certificate itself
    for status, certificate in by_status.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                "/api/v1/verify", {"cert_no": certificate.number, "name": certificate.holder_name}
            )
        answer = json.loads(response.content)
        assert answer["found"] and answer["certificates"][0]["status"]["code"] == status
        assert len(reads(queries)) == 1, (status, reads(queries))
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                "/verify/",
                {"name": certificate.holder_name, "id_number": certificate.holder_id_number},
            )
        assert certificate.number in response.content.decode()
        assert len(reads(queries)) == 1, (status, reads(queries))


@pytest.mark.django_db(transaction=True)
def test_recording_a_lookup_keeps_later_writes_durable(client, certificate):
    """The lookup record commits without waiting for the disk; the persistent connection it
    used must come back to the server's setting for whatever it writes next."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    response = client.post(
        "/verify/", {"name": certificate.holder_name, "id_number": certificate.holder_id_number}
    )
    assert certificate.number in response.content.decode()
    record = LookupRecord.objects.get(outcome=LookupOutcome.FOUND)
    assert list(record.certificates.all()) == [certificate]
    assert synchronous_commit() == "on"
    # Recorded inside a caller's transaction, the lookup leaves that transaction's commit as
    # durable as the rest of its writes.
    with transaction.atomic():
        services.lookup_record(
            address="127.0.0.1", kind=LookupKind.API, outcome=LookupOutcome.NOT_FOUND
        )
        assert synchronous_commit() == "on"


@pytest.mark.django_db(transaction=True)
def test_the_lookup_record_commits_without_waiting_for_the_disk(client, certificate):
    """What the record's INSERT runs under, seen by the server itself: a trigger notes the
    transaction's synchronous_commit as each record is written. A lookup of its own is
    written with it off (the commit does not wait for the WAL flush); a record written
    inside a caller's transaction keeps the server's setting."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    table = LookupRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE test_commit_seen (kind text, sync text)")
        cursor.execute(
            "CREATE FUNCTION test_note_commit() RETURNS trigger AS $$ BEGIN "
            "INSERT INTO test_commit_seen VALUES "
            "(NEW.kind, current_setting('synchronous_commit')); RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER test_note_commit AFTER INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION test_note_commit()"
        )
    try:
        response = client.post(
            "/verify/",
            {"name": certificate.holder_name, "id_number": certificate.holder_id_number},
        )
        assert certificate.number in response.content.decode()
        client.get("/api/v1/verify", {"cert_no": "闽C059999999999", "name": "李四"})
        with transaction.atomic():
            services.lookup_record(
                address="127.0.0.1", kind=LookupKind.UPLOAD, outcome=LookupOutcome.NOT_FOUND
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT kind, sync FROM test_commit_seen ORDER BY kind")
            seen = dict(cursor.fetchall())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER test_note_commit ON {table}")
            cursor.execute("DROP FUNCTION test_note_commit()")
            cursor.execute("DROP TABLE test_commit_seen")
    assert seen == {LookupKind.FORM: "off", LookupKind.API: "off", LookupKind.UPLOAD: "on"}
    assert synchronous_commit() == "on"  # and the connection is back to the server's setting


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_rate_limit_window_expires_in_redis(client, certificate, settings, monkeypatch):
    """One round trip counts a lookup; the counter must still vanish after its window, or
    Redis would fill with one key per address and minute for ever."""
    need(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    import redis

    server = redis.Redis.from_url(settings.REDIS_URL)
    settings.VERIFY_RATE_LIMIT = "2/m"
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0)  # all in one window
    for _ in range(3):
        last = client.get("/api/v1/verify", {"cert_no": certificate.number, "name": "王小明"})
    assert last.status_code == 429
    keys = list(server.scan_iter(match="*verify-rate:lookup:*"))
    assert len(keys) == 1
    assert int(server.get(keys[0])) == 3
    assert 0 < server.ttl(keys[0]) <= 65


def test_the_count_survives_redis_forgetting_its_script(client, certificate, settings, monkeypatch):
    """The count runs as a script Redis keeps in memory: after a Redis restart (or a
    ``SCRIPT FLUSH``) the next lookup must load it again, not fail."""
    need(bool(settings.REDIS_URL), "Redis (REDIS_URL)")
    import redis

    server = redis.Redis.from_url(settings.REDIS_URL)
    settings.VERIFY_RATE_LIMIT = "5/m"
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_060.0)
    query = {"cert_no": certificate.number, "name": "王小明"}
    assert client.get("/api/v1/verify", query).status_code == 200
    server.script_flush()
    assert client.get("/api/v1/verify", query).status_code == 200
    (key,) = server.scan_iter(match="*verify-rate:lookup:*:1800000060")
    assert int(server.get(key)) == 2 and 0 < server.ttl(key) <= 65


@pytest.mark.parametrize("debug", [True, False])
def test_blank_forms_follow_the_language_of_the_page(client, settings, debug):
    settings.DEBUG = debug  # off, each language's blank forms and templates are kept
    chinese = client.get("/verify/").content.decode()
    english = client.get("/verify/", headers={"cookie": "django_language=en"}).content.decode()
    again = client.get("/verify/").content.decode()
    assert "公民身份号码" in chinese and "Citizen ID number" not in chinese
    assert "Citizen ID number" in english and "公民身份号码" not in english
    assert "公民身份号码" in again and "Citizen ID number" not in again


@pytest.mark.parametrize("debug", [True, False])
def test_what_one_visitor_typed_never_reaches_the_next(client, certificate, settings, debug):
    settings.DEBUG = debug
    typed = client.get("/verify/", {"cert_no": certificate.number, "name": "王小明"})
    assert f'value="{certificate.number}"' in typed.content.decode()  # echoed to its visitor
    blank = client.get("/verify/").content.decode()
    assert certificate.number not in blank and "王小明" not in blank


@pytest.mark.parametrize("debug", [True, False])
def test_an_echoed_form_shows_its_own_visitors_values_in_their_language(
    client, certificate, settings, debug
):
    """Off DEBUG, the echoed number form is filled into a drawing kept per language."""
    settings.DEBUG = debug
    first = client.get("/verify/", {"cert_no": certificate.number, "name": "王小明"})
    english = client.get(
        "/verify/",
        {"cert_no": "闽Z992026000001", "name": "李四"},
        headers={"cookie": "django_language=en"},
    ).content.decode()
    assert 'value="闽Z992026000001"' in english and 'value="李四"' in english
    assert certificate.number not in english and "王小明" not in english
    assert "Certificate number" in english and "证书编号" not in english
    chinese = client.get("/verify/", {"cert_no": "闽Z992026000002", "name": "张三"}).content
    assert 'value="闽Z992026000002"' in chinese.decode() and "证书编号" in chinese.decode()
    assert f'value="{certificate.number}"' in first.content.decode()


@pytest.mark.django_db(transaction=True)
def test_lookups_on_the_kept_cursor_survive_a_new_connection_and_fail_as_django_errors(
    certificate,
):
    """The public lookups run on one psycopg cursor kept for the connection (no query
    logging, no execute wrapper: as in production). A connection closed and opened again
    gets a new cursor, not the old one on a closed connection; a database error is raised as
    Django's own, as from any other query; and a lookup inside a transaction that has already
    failed is refused as Django refuses any query there."""
    from django.db import DatabaseError
    from django.db.transaction import TransactionManagementError

    from verification import selectors

    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    assert not connection.queries_logged and not connection.execute_wrappers

    def look_up():
        return services.verify_number(
            number=certificate.number, name=certificate.holder_name, address=None, kind="api"
        )

    assert look_up().certificates[0].number == certificate.number
    kept = connection._kept
    assert kept is not None and kept.connection is connection.connection
    assert look_up().certificates and connection._kept is kept  # kept, not made again
    connection.close()
    assert look_up().certificates[0].number == certificate.number
    assert connection._kept is not kept and connection._kept.connection is connection.connection

    with pytest.raises(DatabaseError) as raised:
        selectors.run_hot("SELECT * FROM no_such_table_here", [])
    assert type(raised.value).__module__ == "django.db.utils"
    assert look_up().certificates  # the kept cursor still works after the error

    with transaction.atomic():
        with (
            pytest.raises(DatabaseError),
            transaction.atomic(savepoint=False),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT * FROM no_such_table_here")
        with pytest.raises(TransactionManagementError):
            look_up()
    assert LookupRecord.objects.filter(kind="api").count() == 4  # none from the failed one
