"""Notification e-mails through a real Celery worker to a real SMTP server (aiosmtpd).

Arrival, language and the absence of content; the digest; reminders; an SMTP outage; duplicated
tasks; and a worker killed with SIGKILL in the middle of a batch.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone

from messages import operations, tasks
from messages.models import EmailNotification, Message, MessageEvent
from messages.services import sealing
from tests.factories import CitizenFactory
from tests.smtp_sink import Sink, free_port

pytestmark = pytest.mark.worker


@pytest.fixture
def sink():
    sink = Sink().start()
    yield sink
    sink.stop()


def wait_until(predicate, timeout: float = 20, poke=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if poke:
            poke()
        time.sleep(0.2)
    return predicate()


def statuses() -> list[str]:
    return sorted(EmailNotification.objects.values_list("status", flat=True))


def test_the_email_arrives_in_the_citizens_language_without_any_content(
    celery_worker_factory, sink, publish, organisation
):
    celery_worker_factory(EMAIL_URL=sink.url)
    dutch = CitizenFactory(activated=True, preferred_language="nl")
    german_not_activated = CitizenFactory(preferred_language="de", email="anna@example.be")

    message = publish(
        dutch.national_number,
        seal=False,  # the worker seals it, which makes it available, which owes the e-mail
        registered_mail=True,
        subject={"nl": "SUBJECT-MARKER-NL", "fr": "SUBJECT-MARKER-FR"},
        body={"nl": "BODY-MARKER-NL", "fr": "BODY-MARKER-FR"},
    )
    publish(german_not_activated.national_number, seal=False)

    (received,) = sink.wait_for(1)
    assert received.rcpt == [dutch.email]
    raw = received.data.decode("utf-8", errors="replace")
    parts = received.text + received.html + received.message["Subject"]
    for marker in ("SUBJECT-MARKER", "BODY-MARKER", "letter.pdf"):
        assert marker not in raw and marker not in parts
    assert received.message["Subject"] == "Een aangetekende zending in uw eBox"
    assert received.message["Content-Language"] == "nl"
    assert organisation.short_name["nl"] in received.text and organisation.short_name["nl"] in received.html
    assert "Aangetekende zending" in received.text
    assert "/inbox/" in received.text and 'href="http' in received.html and '<html lang="nl">' in received.html
    assert received.message["Message-ID"].startswith("<notification.")
    message.refresh_from_db()
    assert message.status == "sealed"
    assert wait_until(lambda: statuses() == ["sent"])
    time.sleep(1)
    assert len(sink.received) == 1  # nobody else: the German citizen has not activated eBox
    assert message.events.filter(kind="notified").count() == 1  # the proof that the citizen was told


def test_three_messages_in_one_window_make_one_email_and_a_later_one_waits(
    celery_worker_factory, sink, publish, citizen
):
    celery_worker_factory(EMAIL_URL=sink.url)
    with transaction.atomic():
        messages = [publish(citizen.national_number, seal=False) for _ in range(3)]
        sealing.seal_messages([m.id for m in messages])

    (received,) = sink.wait_for(1)
    assert "3 nouveaux messages vous attendent" in received.text  # the citizen reads French
    assert wait_until(lambda: statuses() == ["sent"])

    publish(citizen.national_number)  # same window: owed, but not before the window ends
    time.sleep(2)
    assert len(sink.received) == 1
    later = EmailNotification.objects.get(status="pending")
    assert later.execute_after > timezone.now()
    # The window ends: beat's job sends it.
    EmailNotification.objects.filter(id=later.id).update(execute_after=timezone.now())
    tasks.send_due_notifications.delay()
    assert len(sink.wait_for(2)) == 2
    assert "Un nouveau message vous attend" in sink.received[1].text


def test_each_reminder_is_sent_once(celery_worker_factory, sink, publish):
    citizen = CitizenFactory(activated=True, preferred_language="en")
    now = timezone.now()
    registered = publish(citizen.national_number, registered_mail=True)
    expiring = publish(citizen.national_number)
    publish(citizen.national_number, payment_data={"dueDate": str(timezone.localdate() + dt.timedelta(days=3))})
    Message.objects.filter(id=registered.id).update(sealed_at=now - dt.timedelta(days=30))
    Message.objects.filter(id=expiring.id).update(expires_at=now + dt.timedelta(days=2))
    EmailNotification.objects.all().delete()  # the "new mail" e-mails are not what this test is about
    celery_worker_factory(EMAIL_URL=sink.url)

    tasks.queue_reminders.delay()

    (received,) = sink.wait_for(1)
    assert received.message["Subject"] == "Reminder: messages are waiting in your eBox"
    assert "1 registered letter has not been opened yet." in received.text
    assert "1 message that is unread or asks for a payment will soon no longer be available." in received.text
    assert "1 payment is due soon." in received.text
    assert wait_until(lambda: statuses() == ["sent"])
    # The daily job runs again (or twice): nothing is reminded twice.
    tasks.queue_reminders.delay()
    tasks.queue_reminders.delay()
    time.sleep(3)
    assert len(sink.received) == 1
    assert citizen.messages.get(id=registered.id).reminders.count() == 1
    assert registered.events.filter(kind="notified", detail__email="reminder").count() == 1


def test_smtp_down_then_up_sends_once(celery_worker_factory, publish, citizen):
    port = free_port()  # nothing listens there yet
    celery_worker_factory(
        EMAIL_URL=f"smtp://127.0.0.1:{port}", EBOX_NOTIFICATION_RETRY_BASE_SECONDS="1", EMAIL_TIMEOUT="2"
    )
    publish(citizen.national_number)
    assert wait_until(lambda: EmailNotification.objects.filter(attempts=1, status="pending").exists())
    row = EmailNotification.objects.get()
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.execute_after > row.claimed_at  # backoff stored in PostgreSQL, not in the broker

    sink = Sink(port=port).start()
    try:
        # Beat's job, and duplicates of it, until the retry time has come.
        assert wait_until(lambda: len(sink.received) >= 1, timeout=30, poke=tasks.send_due_notifications.delay)
        for _ in range(5):
            tasks.send_notifications.delay()
            tasks.send_due_notifications.delay()
        time.sleep(3)
        assert len(sink.received) == 1
        row.refresh_from_db()
        assert row.status == "sent" and row.attempts >= 2
    finally:
        sink.stop()


def test_duplicated_tasks_on_two_processes_send_each_email_once(celery_worker_factory, sink, publish):
    citizens = [CitizenFactory(activated=True) for _ in range(40)]
    with transaction.atomic():
        messages = [publish(c.national_number, seal=False) for c in citizens]
        sealing.seal_messages([m.id for m in messages])
    celery_worker_factory(concurrency=2, EMAIL_URL=sink.url, EBOX_NOTIFICATION_BATCH="7")
    for _ in range(10):
        tasks.send_notifications.delay()
        tasks.send_due_notifications.delay()
    assert wait_until(lambda: statuses() == ["sent"] * 40, timeout=30)
    time.sleep(1)
    assert sorted(r.rcpt[0] for r in sink.received) == sorted(c.email for c in citizens)


def test_a_worker_killed_in_the_middle_of_a_batch_loses_no_email(celery_worker_factory, sink, publish):
    """SIGKILL while a worker hands a batch to a slow SMTP server, then a new worker.

    Nothing is lost: every citizen gets the e-mail. The rows of the chunk in flight may have been
    delivered: they are sent again with the same Message-ID, so a duplicate is only ever a copy
    with the Message-ID of the first, and there are at most as many as the reported count, itself
    at most one chunk. The claims are taken back one lease (20 s by default) after the kill.
    """
    citizens = [CitizenFactory(activated=True) for _ in range(30)]
    with transaction.atomic():
        messages = [publish(c.national_number, seal=False) for c in citizens]
        sealing.seal_messages([m.id for m in messages])
    sink.handler.delay = 0.15
    chunk = 5
    env = {"EMAIL_URL": sink.url, "EBOX_NOTIFICATION_CHUNK": str(chunk)}
    worker = celery_worker_factory(**env)
    tasks.send_notifications.delay()

    assert wait_until(lambda: len(sink.received) >= 8)
    os.killpg(worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    worker.wait(10)
    in_flight = EmailNotification.objects.filter(status__in=["claimed", "sending"]).count()
    assert in_flight > 0  # the kill landed mid-batch

    celery_worker_factory(**env)
    assert wait_until(
        lambda: not EmailNotification.objects.filter(status__in=["pending", "claimed", "sending"]).exists(),
        timeout=60,
        poke=tasks.send_due_notifications.delay,
    )
    recovered_after = time.monotonic() - killed_at
    time.sleep(1)

    received = sink.received
    by_id: dict[str, list] = {}
    for r in received:
        by_id.setdefault(r.message["Message-ID"], []).append(r.rcpt[0])
    duplicates = len(received) - len(by_id)
    reported = sum(EmailNotification.objects.values_list("resent_after_loss", flat=True))
    print(
        f"\nkill mid-batch: published {len(messages)}, sealed {Message.objects.filter(status='sealed').count()}, "
        f"e-mails owed {len(citizens)}, received {len(received)}, distinct {len(by_id)}, "
        f"lost {len({c.email for c in citizens} - {r.rcpt[0] for r in received})}, duplicates {duplicates}, "
        f"reported possible duplicates {reported}, claims taken back and sent {recovered_after:.1f} s after the kill"
    )
    assert statuses() == ["sent"] * len(citizens)
    assert sorted({r.rcpt[0] for r in received}) == sorted(c.email for c in citizens)  # none lost
    for addresses in by_id.values():
        assert len(set(addresses)) == 1  # a copy goes to the same citizen under the same Message-ID
    assert duplicates <= reported <= chunk
    assert operations.possible_duplicate_emails() == reported
    assert recovered_after < 35
    # Every message has the proof that its citizen was told.
    assert MessageEvent.objects.filter(kind="notified").values("message_id").distinct().count() == len(messages)
