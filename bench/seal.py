"""Sealing throughput of one worker process against the raw Ed25519 signing rate, in the same run.

    .venv/bin/python bench/seal.py [--messages 20000] [--batch 500]

Runs on private embedded PostgreSQL and Redis (the test settings: a temporary data folder,
removed at exit). Stores N accepted messages (encrypted subject and body in two languages,
one attachment row each, addressed to activated citizens with a verified e-mail address) in bulk,
then times `messages.services.seal_messages` over them in batches, in this one process, as a worker
with concurrency 1 does: outside any transaction, keeping its connection (DATABASE_CONN_MAX_AGE), and
including the notification-outbox upsert sealing does for those citizens. The baseline is
Ed25519 signing of an equally large canonical seal document with the same key, measured
interleaved with the batches, so both see the same load. Target: sealing rate / signing rate >= 0.3.
It also prints, per message, the CPU time of the worker process and of its PostgreSQL backend, and
the load average, since wall-clock ratios on a shared machine move with the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from uuid6 import uuid7

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "ebox.test_settings"
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from citizens.models import Citizen  # noqa: E402
from messages import crypto, signing  # noqa: E402
from messages.models import Attachment, EmailNotification, Message, MessageContent  # noqa: E402
from messages.services import publishing, reading, sealing  # noqa: E402
from senders.models import MessageType, Organisation, SenderApplication  # noqa: E402

TARGET = 0.3


def setup_senders() -> tuple[SenderApplication, MessageType]:
    organisation = Organisation.objects.create(enterprise_number="0308357159", short_name={"fr": "Bench"})
    application = SenderApplication.objects.create(organisation=organisation, application_id="bench", name={})
    message_type = MessageType.objects.create(organisation=organisation, message_type_id="bench", name={})
    return application, message_type


def store_accepted(
    n: int, application: SenderApplication, message_type: MessageType, per_citizen: int = 1
) -> list[uuid.UUID]:
    """N accepted messages, encrypted as publish_message does, inserted in bulk (the bench times sealing).

    Their recipients are activated citizens with a verified address, `per_citizen` messages each
    (a campaign: one each), so that sealing also records the e-mails it makes owed, as in production.
    """
    now = timezone.now()
    citizens = Citizen.objects.bulk_create(
        Citizen(national_number=f"{k:011d}", activated_at=now, email=f"c{k}@example.be", email_verified_at=now)
        for k in range(-(-n // per_citizen))
    )
    ids = []
    for start in range(0, n, 2000):
        contents, messages, attachments = [], [], []
        for i in range(start, min(n, start + 2000)):
            new = publishing.NewMessage(
                sender_application=application,
                message_type=message_type,
                recipient_type="citizen",
                recipient_id="85073003328",
                subject={"fr": f"Avertissement-extrait de rôle n° {i}", "nl": f"Aanslagbiljet nr. {i}"},
                body={"fr": "Votre avertissement-extrait de rôle est disponible. " * 4, "nl": "Uw aanslag. " * 8},
            )
            row, _ = publishing._build_content(new, [])
            content = MessageContent(**row)  # the publication builds rows as dicts
            contents.append(content)
            # The attachment's name is sealed too: encrypted under the content's own key, as publishing does.
            attachment_id = uuid7()
            data_key = crypto.unwrap_key(row["kek_id"], row["wrapped_key"])
            attachments.append(
                Attachment(
                    id=attachment_id,
                    content=content,
                    position=1,
                    main_content=True,
                    media_type="application/pdf",
                    size=48_000 + i,
                    sha256=f"{i:064x}",
                    meta_ct=crypto.encrypt_field(data_key, attachment_id, "meta", b"{}"),
                    blob=f"attachments/bench-{i}.bin",
                )
            )
            message = Message(
                id=uuid7(),
                content=content,
                sender_organisation=application.organisation,
                sender_application=application,
                message_type=message_type,
                recipient_type="citizen",
                recipient_id=citizens[i // per_citizen].national_number,
                citizen=citizens[i // per_citizen],
                channel="digital",
                received_at=now,
                expires_at=message_type.expiration_from(now),
            )
            messages.append(message)
            ids.append(message.id)
        MessageContent.objects.bulk_create(contents)
        Attachment.objects.bulk_create(attachments)
        Message.objects.bulk_create(messages)
    return ids


def signing_payload():
    """A canonical seal document of the real size, and the current seal key."""
    message = Message.objects.select_related("content", "sender_organisation", "sender_application").first()
    document = reading.seal_document_for(message, reading.decrypt_text(message.content), [])
    kid, key = signing.current_signing_key()
    return signing.canonical(document), key


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (Linux /proc; 0 elsewhere)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=sealing.SEAL_BATCH)
    parser.add_argument("--per-citizen", type=int, default=1, help="messages per recipient (default: a campaign)")
    args = parser.parse_args()

    # As in production (DATABASE_CONN_MAX_AGE): a worker keeps its connections between tasks.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 60
    call_command("migrate", verbosity=0)
    application, message_type = setup_senders()
    t0 = time.perf_counter()
    ids = store_accepted(args.messages, application, message_type, args.per_citizen)
    print(f"stored {len(ids)} accepted messages in {time.perf_counter() - t0:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    # The baseline is measured between the sealing batches, so both see the same machine load
    # (the machine may be shared): after each batch, as many raw signatures as the batch sealed.
    payload, key = signing_payload()
    load_before = os.getloadavg()[0]
    pg_cpu = backend_cpu()
    seal_time = sign_time = seal_cpu = sign_cpu = 0.0
    sealed = signed = 0
    for i in range(0, len(ids), args.batch):
        start, cpu = time.perf_counter(), time.process_time()
        count = sealing.seal_messages(ids[i : i + args.batch])
        seal_time += time.perf_counter() - start
        seal_cpu += time.process_time() - cpu
        sealed += count
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            key.sign(payload)
        sign_time += time.perf_counter() - start
        sign_cpu += time.process_time() - cpu
        signed += count
    pg_cpu = backend_cpu() - pg_cpu
    assert sealed == len(ids), (sealed, len(ids))
    assert not Message.objects.filter(status="accepted").exists()
    owed = sum(EmailNotification.objects.values_list("message_count", flat=True))
    assert owed == sealed, (owed, sealed)
    seal_rate, raw_rate = sealed / seal_time, signed / sign_time
    ratio = seal_rate / raw_rate
    print(f"sealing (one process, batches of {args.batch}): {seal_rate:,.0f} messages/s ({seal_time:.1f}s)")
    print(f"raw Ed25519 signing of a {len(payload)}-byte canonical seal document: {raw_rate:,.0f} signatures/s")
    print(f"ratio: {ratio:.2f} (target >= {TARGET}) {'OK' if ratio >= TARGET else 'BELOW TARGET'}")
    # For information: the same ratio in CPU time of this process (leaves out PostgreSQL's own work
    # and time spent waiting for a core on a shared machine).
    print(f"CPU-time ratio of the worker process: {(sealed / seal_cpu) / (signed / sign_cpu):.2f}")
    # Where the time goes, per message, in CPU time (steadier than wall time on a shared machine).
    sign_us = sign_cpu / signed * 1e6
    worker_us, backend_us = seal_cpu / sealed * 1e6, pg_cpu / sealed * 1e6
    print(
        f"per message: signing {sign_us:.0f} us, worker process {worker_us:.0f} us CPU "
        f"(signing included), PostgreSQL backend {backend_us:.0f} us CPU, wall {seal_time / sealed * 1e6:.0f} us"
    )
    print(f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
