"""Inbox page server time as the messages table grows: p50/p95 at 10^4, 10^5, 10^6 (, 10^7) messages.

    .venv/bin/python bench/inbox.py                 # 10^4, 10^5, 10^6
    .venv/bin/python bench/inbox.py 4 5 6 7         # up to 10^7 (long: index maintenance dominates)

Runs on a private embedded PostgreSQL in a temporary folder (never your data). The table
is grown with COPY: filler rows reuse one real encrypted content; the measured citizen has
100 real, sealed messages of their own (published and sealed through messages.services),
so the page decrypts 20 distinct subjects as it would in production. Each size gets its
own database on the same server, seeded once; then the inbox page (`GET /inbox/`, through
the whole Django stack: middleware, session, queries, decryption, template) is requested
REQUESTS times per round by that citizen, the sizes taking turns for ROUNDS rounds, so that
the load of whatever else runs on the machine falls on every size alike. We print p50 and
p95 over all requests per size, then p95 at the largest size and its ratio to p95 at 10^4.
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from uuid6 import uuid7

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.mkdtemp(prefix="ebox-bench-inbox-"))
os.environ["EBOX_DATA_DIR"] = str(DATA)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ebox.settings")
os.environ["CELERY_BROKER_URL"] = "memory://"  # sealing is done inline below; nothing to queue

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
MESSAGES_PER_CITIZEN = 100
CHUNK = 200_000


def national_number(n: int) -> str:
    born = datetime(1950, 1, 1) + timedelta(days=n // 997)
    first9 = f"{born:%y%m%d}{n % 997 + 1:03d}"
    return first9 + f"{97 - int(first9) % 97:02d}"


def main(exponents: list[int]) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    clients, plans = {}, {}
    for exponent in exponents:
        started = time.monotonic()
        clients[exponent], plans[exponent] = seed(exponent, connection)
        print(f"seeded 10^{exponent} messages in {time.monotonic() - started:.0f} s", flush=True)

    timings: dict[int, list[float]] = {e: [] for e in exponents}
    for _ in range(ROUNDS):
        for exponent in exponents:
            use_database(connection, exponent)
            client: Client = clients[exponent]
            for _ in range(5):  # a fresh connection's first requests
                assert client.get("/inbox/").status_code == 200
            for _ in range(REQUESTS):
                t0 = time.perf_counter()
                response = client.get("/inbox/")
                timings[exponent].append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
    p95s = {}
    for exponent in exponents:
        values = sorted(timings[exponent])
        p95s[exponent] = values[int(len(values) * 0.95) - 1]
        print(
            f"10^{exponent} messages: inbox p50 {statistics.median(values):.1f} ms, p95 {p95s[exponent]:.1f} ms"
            f" ({len(values)} requests)"
        )
    largest = max(exponents)
    print(f"plan of the page query at 10^{largest}:\n  " + plans[largest].replace("\n", "\n  "))
    print(f"p95 at 10^{largest}: {p95s[largest]:.1f} ms (target ≤ 30 ms)")
    if 4 in p95s:
        print(f"ratio p95(10^{largest}) / p95(10^4): {p95s[largest] / p95s[4]:.2f} (target ≤ 1.5)")


def use_database(connection, exponent: int) -> None:
    connection.close()
    connection.settings_dict["NAME"] = f"bench_{exponent}"


def seed(exponent: int, connection):
    """A database with 10^exponent messages; returns a logged-in client and the page query's plan."""
    from django.core.management import call_command
    from django.test import Client

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE bench_{exponent}")
    use_database(connection, exponent)
    call_command("migrate", verbosity=0)
    from citizens.selectors import inbox_messages
    from citizens.services import citizen_logged_in
    from ebox.pdf import simple_pdf
    from messages.services import publishing, sealing
    from tests.factories import MessageTypeFactory, OrganisationFactory, SenderApplicationFactory

    organisation = OrganisationFactory()
    application = SenderApplicationFactory(organisation=organisation)
    message_type = MessageTypeFactory(organisation=organisation)
    reader = citizen_logged_in(national_number(0))
    mine = [
        publishing.publish_message(
            publishing.NewMessage(
                sender_application=application,
                message_type=message_type,
                recipient_type="citizen",
                recipient_id=reader.national_number,
                subject={"fr": f"Courrier {i}", "nl": f"Brief {i}"},
                body={"fr": "Corps", "nl": "Inhoud"},
                attachments=[
                    publishing.AttachmentUpload(
                        file=io.BytesIO(simple_pdf("Bench", ["x"])), file_name="a.pdf", media_type="application/pdf"
                    )
                ]
                if i == 0
                else [],
            )
        )
        for i in range(MESSAGES_PER_CITIZEN)
    ]
    sealing.seal_messages([m.id for m in mine])
    filler_content = mine[0].content_id
    size = 10**exponent
    citizens = max(2, size // MESSAGES_PER_CITIZEN)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY citizens_citizen (national_number, preferred_language, email, created_at,"
            " notify_new_messages, notify_reminders) FROM STDIN"
        ) as copy,
    ):
        now = datetime.now(UTC).isoformat()
        for n in range(1, citizens):
            copy.write(f"{national_number(n)}\tfr\t\t{now}\tt\tt\n")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM citizens_citizen WHERE id <> %s ORDER BY id", [reader.pk])
        ids = [row[0] for row in cursor.fetchall()]
    columns = (
        "id, content_id, sender_organisation_id, sender_application_id, message_type_id, recipient_type,"
        " recipient_id, citizen_id, registered_mail, reply_authorized, body_main_content, channel, status,"
        " received_at, expires_at, sealed_at, seal, seal_key_id"
    )
    fixed = f"{filler_content}\t{organisation.pk}\t{application.pk}\t{message_type.pk}\tcitizen\t00000000000"
    base = datetime(2020, 1, 1, tzinfo=UTC)
    # A bulk load as operators do it: secondary indexes rebuilt once at the end (a sorted build
    # beats 10^7 random insertions), foreign keys not re-checked row by row (the ids are ours).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'mailbox_message'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
    for start in range(MESSAGES_PER_CITIZEN, size, CHUNK):
        batch = io.StringIO()
        for k in range(start, min(size, start + CHUNK)):
            at = (base + timedelta(seconds=k * 7)).isoformat()
            batch.write(
                f"{uuid7()}\t{fixed}\t{ids[k % len(ids)]}\tf\tf\tf\tdigital\tsealed\t{at}\t"
                f"2099-01-01T00:00:00+00:00\t{at}\t\\\\x00\tbench\n"
            )
        with connection.cursor() as cursor, cursor.copy(f"COPY mailbox_message ({columns}) FROM STDIN") as copy:
            copy.write(batch.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
    # The steady state of a live table: statistics fresh, visibility map set, writes flushed.
    # Without this, autovacuum's insert-triggered pass and the checkpoint would run during the
    # measurement.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) mailbox_message")
        cursor.execute("VACUUM (ANALYZE) citizens_citizen")
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT count(*) FROM mailbox_message")
        assert cursor.fetchone()[0] == size
        qs = inbox_messages(reader).select_related("content", "sender_organisation", "message_type")[:20]
        sql, params = qs.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Each monthly partition's copy of message_inbox is named by PostgreSQL after its columns.
    assert "message_inbox" in plan or "citizen_id_received_at_idx" in plan, plan
    client = Client()
    client.force_login(reader.user)
    return client, plan


if __name__ == "__main__":
    exponents = sorted(int(a) for a in sys.argv[1:]) or [4, 5, 6]
    try:
        main(exponents)
    finally:
        from ebox.embedded import stop_postgres, stop_redis

        stop_redis(DATA)
        stop_postgres(DATA)
        shutil.rmtree(DATA, ignore_errors=True)
