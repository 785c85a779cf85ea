"""Benchmark: notification e-mails per second from a real Celery worker (2 processes) to a local SMTP sink.

    .venv/bin/python bench/notify.py [--emails 20000] [--baseline 10000]

Runs on private embedded PostgreSQL and Redis in a temporary folder (never the development data).
The sink is a minimal asyncio SMTP server in its own process that counts and discards (aiosmtpd,
used in tests and `make run`, is measured too, for reference: it is slower than our sender).

Baselines, measured in the same run:
- the sink's own ceiling: 2 processes sending one prebuilt e-mail over and over, pipelined as our
  sender does (one connection each, no database, no Celery, no rendering);
- the same with 1 process.
Measured: e-mails owed in PostgreSQL (one row per citizen, written by the same upsert sealing
uses), then sent by `celery worker --concurrency 2` (claim 500 rows with SKIP LOCKED, render once
per language and sender, one SMTP connection per batch, progress recorded every
EBOX_NOTIFICATION_CHUNK e-mails), timed from the first task to the sink's last 250.
Target: >= 2,000 e-mails/s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# --- A fast SMTP sink ----------------------------------------------------------------


def _sink_main(port: int, counter, ready) -> None:
    class Protocol(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.buffer = b""
            self.in_data = False
            transport.write(b"220 bench-sink ESMTP\r\n")

        def data_received(self, data):
            self.buffer += data
            out = []
            while True:
                if self.in_data:
                    end = self.buffer.find(b"\r\n.\r\n")
                    if end < 0:
                        break
                    self.buffer = self.buffer[end + 5 :]
                    self.in_data = False
                    counter.value += 1
                    out.append(b"250 2.0.0 OK\r\n")
                    continue
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
                verb = line[:4].upper()
                if verb == b"EHLO":
                    out.append(b"250-bench-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    self.in_data = True
                    # The terminator search starts at the CRLF that ends the DATA line.
                    self.buffer = b"\r\n" + self.buffer
                    out.append(b"354 go ahead\r\n")
                elif verb == b"QUIT":
                    out.append(b"221 bye\r\n")
                    self.transport.write(b"".join(out))
                    self.transport.close()
                    return
                elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    out.append(b"250 OK\r\n")
                else:
                    out.append(b"500 unknown command\r\n")
            if out:
                self.transport.write(b"".join(out))

    async def main():
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", port, backlog=128)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client_main(port: int, count: int, payload: bytes, pipelined: bool = True) -> None:
    """Prebuilt e-mails as fast as one connection allows; pipelined like the eBox sender (RFC 2920)."""
    connection = smtplib.SMTP("127.0.0.1", port)
    connection.ehlo()
    body = payload if payload.endswith(b"\r\n") else payload + b"\r\n"
    for n in range(count):
        if pipelined:
            connection.send(f"MAIL FROM:<noreply@ebox.example>\r\nRCPT TO:<citizen{n}@example.be>\r\nDATA\r\n".encode())
            assert [connection.getreply()[0] for _ in range(3)] == [250, 250, 354]
            connection.send(body + b".\r\n")
            assert connection.getreply()[0] == 250
        else:
            connection.sendmail("noreply@ebox.example", [f"citizen{n}@example.be"], payload)
    connection.quit()


def baseline(port: int, counter, total: int, processes: int, payload: bytes) -> float:
    start_count = counter.value
    workers = [
        multiprocessing.Process(target=_client_main, args=(port, total // processes, payload)) for _ in range(processes)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    assert counter.value - start_count == total // processes * processes
    return (counter.value - start_count) / elapsed


def aiosmtpd_rate(total: int, payload: bytes) -> float:
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 OK"

    port = free_port()
    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        started = time.perf_counter()
        _client_main(port, total, payload, pipelined=False)  # aiosmtpd does not offer PIPELINING
        return total / (time.perf_counter() - started)
    finally:
        controller.stop()


# --- The measured path -------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="ebox-bench-notify-"))
    os.environ.update(
        {
            "EBOX_DATA_DIR": str(data_dir),
            "EBOX_DATABASE_NAME": "bench_notify",
            "DJANGO_SETTINGS_MODULE": "ebox.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    sink_port = free_port()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink_port}"
    counter = multiprocessing.Value("q", 0, lock=False)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink_main, args=(sink_port, counter, ready), daemon=True)
    sink.start()
    ready.wait(10)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from citizens.models import Citizen
    from ebox.celery import app
    from ebox.embedded import stop_postgres, stop_redis
    from messages.models import EmailNotification, Message, MessageContent, MessageEvent
    from messages.notifications import mail, owing
    from senders.models import MessageType, Organisation, SenderApplication

    worker = None
    try:
        call_command("migrate", verbosity=0)
        rendered = mail.render(
            mail.Digest(
                kind="new_mail", language="fr", organisations=("SPF Finances",), message_count=1, registered_count=0
            )
        )
        payload = mail.personalise(rendered, "citizen@example.be", 1)
        print(f"e-mail size: {len(payload)} bytes")

        sink_2 = baseline(sink_port, counter, args.baseline, 2, payload)
        sink_1 = baseline(sink_port, counter, args.baseline // 2, 1, payload)
        aio = aiosmtpd_rate(min(args.baseline // 4, 3000), payload)
        print(f"baseline: fast sink, prebuilt, 2 processes : {sink_2:8.0f} e-mails/s (the sink's ceiling)")
        print(f"baseline: fast sink, prebuilt, 1 process   : {sink_1:8.0f} e-mails/s")
        print(f"reference: aiosmtpd sink, prebuilt, 1 proc. : {aio:8.0f} e-mails/s (the sink of tests and make run)")

        # Citizens and what they are owed, through the upsert sealing uses (500 per statement).
        organisations = [
            Organisation.objects.create(enterprise_number=number, short_name=name)
            for number, name in (
                ("0308357159", {"fr": "SPF Finances", "nl": "FOD Financiën"}),
                ("0207373429", {"fr": "Ville de Bruxelles", "nl": "Stad Brussel"}),
            )
        ]
        now = timezone.now()
        languages = ["fr", "nl", "de", "en"]
        Citizen.objects.bulk_create(
            [
                Citizen(
                    national_number=f"{n:011d}",
                    email=f"citizen{n}@example.be",
                    preferred_language=languages[n % 4],
                    activated_at=now,
                    email_verified_at=now,
                )
                for n in range(args.emails)
            ],
            batch_size=5000,
        )
        ids = list(Citizen.objects.order_by("id").values_list("id", flat=True))
        # One message per citizen (sharing one content: the bench is about e-mails, not encryption),
        # so that each e-mail sent also writes the `notified` event of the message it announces.
        application = SenderApplication.objects.create(
            organisation=organisations[0], application_id="bench", name={"fr": "bench"}
        )
        message_type = MessageType.objects.create(
            organisation=organisations[0], message_type_id="bench", name={"fr": "bench"}
        )
        content = MessageContent.objects.create(
            sender_organisation=organisations[0], kek_id="bench", wrapped_key=b"-", subject_ct=b"-"
        )
        messages = Message.objects.bulk_create(
            [
                Message(
                    content=content,
                    sender_organisation=organisations[cid % 2],
                    sender_application=application,
                    message_type=message_type,
                    recipient_id=f"{n:011d}",
                    citizen_id=cid,
                    registered_mail=cid % 10 == 0,
                    channel="digital",
                    status="sealed",
                    received_at=now,
                    sealed_at=now,
                    expires_at=now + dt.timedelta(days=365),
                )
                for n, cid in enumerate(ids)
            ],
            batch_size=5000,
        )
        started = time.perf_counter()
        for start in range(0, len(messages), 500):
            with transaction.atomic():
                # The statement seal_messages runs for each batch it seals (owe_new_mail, without
                # its after-commit dispatch: the timed part below starts the sending).
                items = [
                    (m.citizen_id, m.sender_organisation_id, m.registered_mail, None, m.id)
                    for m in messages[start : start + 500]
                ]
                owing.owe("new_mail", items, owing._new_mail_windows(timezone.now()), timezone.now())
        owe_rate = len(ids) / (time.perf_counter() - started)
        print(f"owed (the upsert sealing runs)             : {owe_rate:8.0f} rows/s")

        log = open(data_dir / "worker.log", "w")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ebox",
                "worker",
                "--concurrency",
                "2",
                "-l",
                "WARNING",
                "-n",
                "bench@%h",
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"worker did not start; see {data_dir / 'worker.log'}")
        before = counter.value
        started = time.perf_counter()
        from messages.tasks import send_notifications

        for _ in range(4):  # as sealing does: a task per batch sealed; each re-queues itself while rows remain
            send_notifications.delay()
        deadline = time.monotonic() + 600
        while counter.value - before < args.emails and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        sent = counter.value - before
        rate = sent / elapsed
        # The last chunk is recorded just after the sink's last reply.
        deadline = time.monotonic() + 30
        while (
            rows_sent := EmailNotification.objects.filter(status="sent").count()
        ) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"eBox worker (2 processes) to the fast sink  : {rate:8.0f} e-mails/s ({sent} in {elapsed:.1f} s)")
        print(f"ratio to the sink's ceiling                 : {rate / sink_2:8.2f}")
        print(
            f"rows recorded sent: {rows_sent}/{args.emails}; e-mails received: {sent} (duplicates: {sent - rows_sent})"
        )
        print(f"`notified` events written: {MessageEvent.objects.filter(kind='notified').count()}")
        print(f"chunk (EBOX_NOTIFICATION_CHUNK): {os.environ.get('EBOX_NOTIFICATION_CHUNK', '100')}")
        print(f"target >= 2000 e-mails/s: {'met' if rate >= 2000 else 'NOT met'}")
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 15)
            worker.wait(20)
        sink.terminate()
        from django.db import connections

        connections.close_all()
        stop_redis(data_dir)
        stop_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
