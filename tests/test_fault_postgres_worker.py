"""PostgreSQL restarts while a real Celery worker seals and sends notification e-mails.

Everything published gets sealed, and every e-mail arrives: what the SMTP server had accepted
when PostgreSQL went away is recorded `sent` once it is back (not left "uncertain"), and any
copy sent twice has the first's Message-ID and is counted. The worker runs with persistent
connections (CONN_MAX_AGE 60, as in production): its sealing pipeline's raw psycopg errors go
through Django's error wrapper, so the dead connection is closed after the task instead of
failing every task until its maximum age.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from ebox.embedded import restart_postgres
from messages import tasks
from messages.models import EmailNotification, Message, MessageEvent
from messages.services import sealing
from tests.factories import CitizenFactory
from tests.smtp_sink import Sink
from tests.test_notifications_worker import wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def sink():
    sink = Sink().start()
    yield sink
    sink.stop()


def _poke() -> None:
    try:
        tasks.redispatch_pending.delay()
        tasks.send_due_notifications.delay()
    except Exception:  # noqa: BLE001 - a pooled broker connection may need a retry
        pass


def _settled() -> bool:
    try:
        return (
            not Message.objects.filter(status="accepted").exists()
            and not EmailNotification.objects.exclude(status="sent").exists()
        )
    except Exception:  # noqa: BLE001 - this process's connection died with the restart
        connection.close()
        return False


def test_a_postgresql_restart_while_sealing_and_sending_loses_nothing(celery_worker_factory, sink, publish):
    first = [CitizenFactory(activated=True) for _ in range(40)]
    later = [CitizenFactory(activated=True) for _ in range(10)]
    with transaction.atomic():
        messages = [publish(c.national_number, seal=False) for c in first]
        sealing.seal_messages([m.id for m in messages])
    sink.handler.delay = 0.2
    celery_worker_factory(
        EMAIL_URL=sink.url,
        EBOX_NOTIFICATION_CHUNK="5",
        EBOX_TEST_CONN_MAX_AGE="60",
        EBOX_REDISPATCH_AFTER_SECONDS="1",
    )
    tasks.send_notifications.delay()
    assert wait_until(lambda: len(sink.received) >= 5)

    restart_postgres(Path(settings.DATA_DIR))  # mid-batch: the worker's connections die
    connection.close()
    # Published after the restart: the worker's first sealing task meets its dead connection.
    messages += [publish(c.national_number, seal=False) for c in later]

    assert wait_until(_settled, timeout=60, poke=_poke)
    time.sleep(1)

    received = sink.received
    by_id: dict[str, set] = {}
    for r in received:
        by_id.setdefault(r.message["Message-ID"], set()).add(r.rcpt[0])
    duplicates = len(received) - len(by_id)
    reported = sum(EmailNotification.objects.values_list("resent_after_loss", flat=True))
    citizens = first + later
    lost = {c.email for c in citizens} - {r.rcpt[0] for r in received}
    sealed = Message.objects.filter(status="sealed").count()
    print(
        f"\npostgres restart: published {len(messages)}, sealed {sealed}, e-mails owed {len(citizens)}, "
        f"received {len(received)}, lost {len(lost)}, duplicates {duplicates}, reported possible duplicates {reported}"
    )
    assert sealed == len(messages)
    assert not lost
    assert all(len(addresses) == 1 for addresses in by_id.values())
    assert duplicates <= reported <= 5
    assert EmailNotification.objects.filter(status="sent").count() == len(citizens)
    assert MessageEvent.objects.filter(kind="notified").values("message_id").distinct().count() == len(messages)
