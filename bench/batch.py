"""Benchmark: the batch extension (POST /api/v2/extensions/publishMessages), 100,000 messages,
against a raw PostgreSQL COPY of equivalent rows, measured in one run.

    .venv/bin/python bench/batch.py [--messages 100000] [--chunk 5000] [--clients 2]

gunicorn with 2 sync workers on private embedded services. The client (Python threads,
bodies prepared before the clock starts, so it only waits on sockets) posts chunks of
`--chunk` messages, each a different citizen, each with its own Idempotency key.
Baseline: COPY into the same two tables (content, message: what a publication stores) of the same
number of rows, with ciphertext of the same size, in one transaction, their foreign keys
checked (then rolled back): the floor of what storing those rows costs, without validation,
encryption or HTTP. Also printed: the same COPY without the foreign-key checks (they are
deferred to a commit that a rolled-back transaction never reaches), the baseline of earlier runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import threading
import time
from pathlib import Path

from uuid6 import uuid7

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


def national_numbers(count: int, born_from: int = 1950) -> list[str]:
    """Valid, distinct national numbers (births from `born_from`, odd serials 1-997, mod 97)."""
    import datetime as dt

    out = []
    day = dt.date(born_from, 1, 1)
    while len(out) < count:
        for serial in range(1, 998, 2):
            first9 = f"{day:%y%m%d}{serial:03d}"
            out.append(f"{first9}{97 - int(first9) % 97:02d}")
            if len(out) == count:
                break
        day += dt.timedelta(days=1)
    return out


def copy_baseline(
    count: int, organisation_id: int, application_id: int, type_id: int, citizen_ids: list[int], checked: bool = True
) -> float:
    """Seconds to COPY `count` messages' rows (content, message) in one transaction, then roll back.

    `checked`: the foreign keys are checked as rows arrive. They are deferred to the commit,
    which a rolled-back transaction never reaches; a stored batch has them all checked.
    """
    import datetime as dt

    from django.db import connection, transaction

    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(days=365)
    wrapped = os.urandom(40)
    subject = os.urandom(60)
    body = os.urandom(420)
    contents = [uuid7() for _ in range(count)]  # UUIDv7 like the service: rows land in their month
    messages = [uuid7() for _ in range(count)]
    started = time.perf_counter()
    with transaction.atomic():
        raw = connection.connection
        with raw.cursor() as cursor:
            if checked:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            with cursor.copy(
                "COPY mailbox_messagecontent (id, sender_organisation_id, kek_id, wrapped_key, subject_ct, body_ct, "
                "subject_languages, body_languages, created_at) FROM STDIN"
            ) as copy:
                for cid in contents:
                    copy.write_row((cid, organisation_id, "k1", wrapped, subject, body, ["fr", "nl"], ["fr"], now))
            with cursor.copy(
                "COPY mailbox_message (id, content_id, sender_organisation_id, sender_application_id, message_type_id, "
                "recipient_type, recipient_id, citizen_id, registered_mail, reply_authorized, body_main_content, "
                "channel, status, received_at, expires_at, seal_key_id, idempotency_key) FROM STDIN"
            ) as copy:
                for i, (mid, cid) in enumerate(zip(messages, contents, strict=True)):
                    copy.write_row(
                        (
                            mid, cid, organisation_id, application_id, type_id, "citizen", "85073003328",
                            citizen_ids[i], False, False, True, "digital", "accepted", now, expires, "",
                            f"copy-{i}",
                        )
                    )  # fmt: skip
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    os.environ["OAUTH_ACCESS_TOKEN_SECONDS"] = "3600"
    os.environ["EBOX_BATCH_MAX_ITEMS"] = str(max(args.chunk, 10_000))
    data_dir = common.setup_django()
    proc = None
    try:
        import requests

        from citizens.models import Citizen
        from messages.models import Message

        issued = common.make_sender()
        numbers = national_numbers(args.messages)
        # The citizens exist (a campaign writes to people already known), for both measures.
        Citizen.objects.bulk_create(
            [Citizen(national_number=n) for n in numbers], ignore_conflicts=True, batch_size=5000
        )
        citizen_ids = dict(Citizen.objects.filter(national_number__in=numbers).values_list("national_number", "id"))

        app = issued.sender_application
        mt = app.organisation.message_types.get()
        ids = [citizen_ids[n] for n in numbers]
        copy_seconds = copy_baseline(args.messages, app.organisation_id, app.pk, mt.pk, ids)
        copy_rate = args.messages / copy_seconds
        unchecked_seconds = copy_baseline(args.messages, app.organisation_id, app.pk, mt.pk, ids, checked=False)
        unchecked_rate = args.messages / unchecked_seconds

        proc, url = common.start_gunicorn(workers=2)
        token = common.fetch_token(url, issued.client_id, issued.client_secret)
        bodies = []
        for start in range(0, args.messages, args.chunk):
            items = [
                {
                    "idempotencyKey": f"campaign-{i}",
                    "messageToPublish": {
                        "recipient": {"eboxType": "citizen", "eboxIdValue": numbers[i]},
                        "messageTypeId": "tax",
                        "subject": {"fr": "Votre avertissement-extrait de rôle", "nl": "Uw aanslagbiljet"},
                        "bodyContent": {"fr": f"Madame, Monsieur, votre dossier {i}. " + "Lorem ipsum. " * 25},
                        "bodyMainContent": True,
                        "replyAuthorized": False,
                    },
                }
                for i in range(start, min(start + args.chunk, args.messages))
            ]
            bodies.append(json.dumps({"messages": items}).encode())
        queue = list(reversed(bodies))
        lock = threading.Lock()
        failures = []

        def client():
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                response = session.post(f"{url}/api/v2/extensions/publishMessages", data=io.BytesIO(body), timeout=600)
                if response.status_code != 200 or response.json()["rejected"]:
                    failures.append(response.text[:500])

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api_seconds = time.perf_counter() - started
        if failures:
            raise SystemExit(f"{len(failures)} failed requests: {failures[0]}")
        stored = Message.objects.count()
        assert stored == args.messages, stored
        api_rate = args.messages / api_seconds
        print(
            f"{args.messages} messages, chunks of {args.chunk}, {args.clients} client threads, gunicorn 2 sync workers"
        )
        print(f"raw COPY of equivalent rows (2 tables):  {copy_rate:9.0f} messages/s ({copy_seconds:.1f} s)")
        print(f"  the same, foreign keys never checked:  {unchecked_rate:9.0f} messages/s ({unchecked_seconds:.1f} s)")
        print(f"(c) batch extension over HTTP:           {api_rate:9.0f} messages/s ({api_seconds:.1f} s)")
        print(
            f"    ratio {api_rate / copy_rate:.3f} (target >= 0.3); "
            f"against the COPY without its foreign-key checks: {api_rate / unchecked_rate:.3f}"
        )
    finally:
        if proc is not None:
            common.stop(proc)
        common.teardown(data_dir)


if __name__ == "__main__":
    main()
