"""Notification e-mails through a real Celery worker to a real SMTP server (aiosmtpd).

Arrival, language and the absence of content; the digest; reminders; an SMTP outage; duplicated
tasks; and a worker killed with SIGKILL while the SMTP server holds an e-mail.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time

import pytest
from django.db import transaction
from django.utils import timezone

from messages import tasks
from messages.models import EmailNotification, Message
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


def test_a_worker_killed_in_the_middle_of_a_send_never_sends_twice(celery_worker_factory, sink, publish):
    """SIGKILL while the SMTP server holds the first e-mail (received, reply not yet sent).

    That e-mail was delivered but never recorded: it becomes `uncertain` and is not resent
    (at most once, recorded). The other e-mail of the batch, never handed over, is sent by the
    next worker: exactly once.
    """
    first, second = CitizenFactory(activated=True), CitizenFactory(activated=True)
    with transaction.atomic():
        messages = [publish(first.national_number, seal=False), publish(second.national_number, seal=False)]
        sealing.seal_messages([m.id for m in messages])
    sink.handler.hold_first = threading.Event()
    env = {"EMAIL_URL": sink.url, "EBOX_NOTIFICATION_CHUNK": "1", "EBOX_NOTIFICATION_STALE_SECONDS": "2"}
    worker = celery_worker_factory(**env)

    assert wait_until(lambda: len(sink.received) == 1)
    assert statuses() == ["claimed", "sending"]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    sink.handler.hold_first.set()
    delivered = sink.received[0].rcpt[0]

    celery_worker_factory(**env)
    time.sleep(2.5)  # the claim is now stale
    assert wait_until(lambda: statuses() == ["sent", "uncertain"], poke=tasks.send_due_notifications.delay)
    for _ in range(3):
        tasks.send_due_notifications.delay()
    time.sleep(2)
    assert sorted(r.rcpt[0] for r in sink.received) == sorted([first.email, second.email])
    uncertain = EmailNotification.objects.get(status="uncertain")
    assert uncertain.to_address == delivered
    assert "not resent" in uncertain.last_error
