"""Notification e-mails in-process: what sealing owes, windows, failures, recovery, reminders' rules.

The worker path (a real Celery worker, crashes, SMTP outages) is in test_notifications_worker.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from time import time_ns

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from messages import operations
from messages.models import EmailNotification, Message, MessageEvent, NotificationReminder
from messages.notifications import mail, recovery, reminders, sending
from messages.notifications.selectors import citizens_notification_problem
from messages.services import reading, sealing
from tests.factories import CitizenFactory
from tests.smtp_sink import Sink, free_port


@pytest.fixture
def sink(settings):
    sink = Sink().start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    mail.clear_cache()
    yield sink
    sink.stop()


def test_sealing_owes_one_email_per_citizen_and_only_to_activated_verified_citizens(publish, citizen, organisation):
    unverified = CitizenFactory(activated=True, email_verified_at=None)
    inactive = CitizenFactory(email="inactive@example.be")
    messages = [publish(citizen.national_number, seal=False) for _ in range(3)]
    messages.append(publish(citizen.national_number, seal=False, registered_mail=True))
    messages += [publish(unverified.national_number, seal=False), publish(inactive.national_number, seal=False)]

    assert sealing.seal_messages([m.id for m in messages]) == 6

    row = EmailNotification.objects.get()
    assert row.citizen == citizen
    assert row.kind == "new_mail"
    assert sorted(row.message_ids) == sorted(m.id for m in messages[:4])
    assert (row.message_count, row.registered_count) == (4, 1)
    assert row.organisation_ids == [organisation.id]
    assert row.status == "pending"
    assert row.execute_after <= timezone.now()


def test_sealing_a_batch_in_chunks_owes_one_email_per_citizen(publish):
    # More messages than one pipelined chunk, the same citizens in every chunk: their counts add up.
    citizens = [CitizenFactory(activated=True) for _ in range(7)]
    count = 2 * sealing.SEAL_CHUNK + 3
    messages = [publish(citizens[i % 7].national_number, seal=False) for i in range(count)]
    assert sealing.seal_messages([m.id for m in messages]) == count
    rows = {row.citizen_id: row for row in EmailNotification.objects.all()}
    assert sorted(rows) == sorted(c.id for c in citizens)
    for k, c in enumerate(citizens):
        mine = [m.id for i, m in enumerate(messages) if i % 7 == k]
        assert sorted(rows[c.id].message_ids) == sorted(mine)
        assert rows[c.id].message_count == len(mine)


def test_a_message_after_the_windows_email_left_waits_for_the_next_window(publish, citizen, settings):
    settings.EBOX_NOTIFICATION_WINDOW = dt.timedelta(days=1)  # no window boundary during the test
    publish(citizen.national_number)
    EmailNotification.objects.update(status="sent", sent_at=timezone.now())
    publish(citizen.national_number)
    publish(citizen.national_number)

    first, second = EmailNotification.objects.order_by("window_start")
    assert first.message_count == 1
    assert second.message_count == 2
    assert second.window_start == first.window_start + dt.timedelta(days=1)
    assert second.execute_after == second.window_start
    assert sending.send_due().claimed == 0  # not due before its window


def test_an_email_refused_for_good_is_recorded_and_shown_to_the_citizen(publish, citizen, sink):
    sink.handler.reject_with = "550 5.1.1 mailbox unavailable"
    publish(citizen.national_number)

    report = sending.send_due()

    assert (report.sent, report.failed) == (0, 1)
    assert not MessageEvent.objects.filter(kind="notified").exists()
    row = EmailNotification.objects.get()
    assert row.status == "failed"
    assert row.last_error.startswith("550")
    assert row.to_address == citizen.email
    problem = citizens_notification_problem(citizen)
    assert problem is not None and problem.address == citizen.email
    banner = render_to_string(
        "emails/_delivery_problem_banner.html", {"notification_problem": problem, "settings_url": "/settings/"}
    )
    assert citizen.email in banner and 'href="/settings/"' in banner and 'role="alert"' in banner
    assert render_to_string("emails/_delivery_problem_banner.html", {"notification_problem": None}).strip() == ""
    # A new address clears the warning.
    citizen.email = "new-address@example.be"
    citizen.save()
    assert citizens_notification_problem(citizen) is None


def test_a_transient_failure_is_retried_later_with_backoff_then_sent_once(publish, citizen, sink, settings):
    settings.EBOX_NOTIFICATION_RETRY_BASE = dt.timedelta(seconds=60)
    sink.handler.reject_with = "451 4.3.0 try again later"
    publish(citizen.national_number)
    before = timezone.now()

    assert sending.send_due().retried == 1

    row = EmailNotification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("451")
    assert before + dt.timedelta(seconds=29) <= row.execute_after <= timezone.now() + dt.timedelta(seconds=60)
    assert sending.send_due().claimed == 0  # not due yet
    sink.handler.reject_with = None
    EmailNotification.objects.update(execute_after=timezone.now())
    assert sending.send_due().sent == 1
    assert sending.send_due().claimed == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(sink.received) == 1
    (event,) = MessageEvent.objects.filter(kind="notified")
    assert event.message_id == row.message_ids[0]
    assert event.detail == {"notification": row.id, "email": "new_mail"}


def test_attempts_are_bounded(publish, citizen, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EBOX_NOTIFICATION_MAX_ATTEMPTS = 2
    publish(citizen.national_number)
    sending.send_due()
    EmailNotification.objects.update(execute_after=timezone.now())
    sending.send_due()
    row = EmailNotification.objects.get()
    assert (row.status, row.attempts) == ("failed", 2)
    assert "attempts exhausted" in row.last_error


def test_backoff_is_exponential_capped_and_jittered(settings):
    settings.EBOX_NOTIFICATION_RETRY_BASE = dt.timedelta(seconds=30)
    settings.EBOX_NOTIFICATION_RETRY_MAX = dt.timedelta(hours=1)
    first = [sending.backoff(1).total_seconds() for _ in range(50)]
    fifth = [sending.backoff(5).total_seconds() for _ in range(50)]
    assert all(15 <= s <= 30 for s in first) and len(set(first)) > 1
    assert all(240 <= s <= 480 for s in fifth)
    assert all(sending.backoff(40).total_seconds() <= 3600 for _ in range(20))


def test_a_lost_workers_claims_are_taken_back_after_one_lease_and_nothing_is_lost(publish, sink, settings):
    a, b = CitizenFactory(activated=True), CitizenFactory(activated=True)
    publish(a.national_number)
    publish(b.national_number)
    attempt = uuid.uuid4()
    rows = sending._claim(attempt, 10)
    for row in rows:
        row.address = "x@example.be"
    handed, untouched = rows
    assert sending._mark_sending(attempt, [handed]) == {handed.id}
    # The worker "dies" here. Within its lease nothing is taken back ...
    assert recovery.recover_stale(now=timezone.now() + settings.EBOX_NOTIFICATION_LEASE / 2) == (0, 0)
    # ... one lease later, beat takes both back: the handed-over one is a possible duplicate.
    later = timezone.now() + settings.EBOX_NOTIFICATION_LEASE + dt.timedelta(seconds=1)
    assert recovery.recover_stale(now=later) == (1, 1)
    assert EmailNotification.objects.get(id=handed.id).resent_after_loss == 1
    assert EmailNotification.objects.get(id=untouched.id).resent_after_loss == 0
    assert operations.possible_duplicate_emails() == 1

    assert sending.send_due().sent == 2  # none lost; the resent copy keeps its Message-ID
    assert sorted(r.message["Message-ID"] for r in sink.received) == sorted(
        f"<{mail.message_id(i)}>" for i in (handed.id, untouched.id)
    )
    assert MessageEvent.objects.filter(kind="notified").count() == 2
    # The old attempt, if it was only slow, can neither send a row taken over nor record it.
    assert sending._mark_sending(attempt, [untouched]) == set()
    sending._record(attempt, sending._Outcome(sent=[handed.id, untouched.id]))
    assert MessageEvent.objects.filter(kind="notified").count() == 2
    # Operators may still requeue a failed e-mail.
    EmailNotification.objects.filter(id=handed.id).update(status="failed")
    assert recovery.requeue([handed.id, untouched.id]) == 1


def test_an_email_for_a_citizen_who_deactivated_meanwhile_is_skipped(publish, citizen, sink):
    publish(citizen.national_number)
    citizen.activated_at = None
    citizen.save()
    assert sending.send_due().skipped == 1
    assert EmailNotification.objects.get().status == "skipped"
    assert sink.received == []


def test_reminders_are_chosen_by_their_rules_and_queued_once(publish, citizen, organisation):
    now = timezone.now()
    today = timezone.localdate()
    old_registered = publish(citizen.national_number, registered_mail=True)
    recent_registered = publish(citizen.national_number, registered_mail=True)
    read_registered = publish(citizen.national_number, registered_mail=True)
    expiring = publish(citizen.national_number)
    expiring_later = publish(citizen.national_number)
    payment = publish(citizen.national_number, payment_data={"dueDate": str(today + dt.timedelta(days=2))})
    payment_later = publish(citizen.national_number, payment_data={"dueDate": str(today + dt.timedelta(days=30))})
    type(old_registered).objects.filter(id__in=[old_registered.id, read_registered.id]).update(
        sealed_at=now - dt.timedelta(days=10)
    )
    type(old_registered).objects.filter(id=read_registered.id).update(read_at=now)
    type(old_registered).objects.filter(id=expiring.id).update(expires_at=now + dt.timedelta(days=3))
    type(old_registered).objects.filter(id=expiring_later.id).update(expires_at=now + dt.timedelta(days=20))
    EmailNotification.objects.all().delete()

    counts = reminders.queue_reminders()

    assert counts == {"registered": 1, "expiring": 1, "payment": 1}
    recorded = set(NotificationReminder.objects.values_list("message_id", "kind"))
    assert recorded == {(old_registered.id, "registered"), (expiring.id, "expiring"), (payment.id, "payment")}
    row = EmailNotification.objects.get()
    assert row.kind == "reminder"
    assert (row.unread_registered_count, row.expiring_count, row.payment_due_count) == (1, 1, 1)
    assert reminders.queue_reminders() == {"registered": 0, "expiring": 0, "payment": 0}
    assert EmailNotification.objects.count() == 1
    assert recent_registered.id not in {m for m, _ in recorded} and payment_later.id not in {m for m, _ in recorded}


def test_operators_see_notifications_and_can_send_failed_ones_again(admin_client, publish, citizen):
    publish(citizen.national_number, subject={"fr": "SUBJECT-MARKER-ADMIN"})
    EmailNotification.objects.update(status="failed", last_error="550 5.1.1 mailbox unavailable")
    row = EmailNotification.objects.get()
    page = admin_client.get("/admin/mailbox/emailnotification/?status__exact=failed")
    assert page.status_code == 200
    assert b"550 5.1.1 mailbox unavailable" in page.content
    assert b"SUBJECT-MARKER-ADMIN" not in page.content
    assert admin_client.get(f"/admin/mailbox/emailnotification/{row.id}/change/").status_code == 200
    response = admin_client.post(
        "/admin/mailbox/emailnotification/", {"action": "requeue", "_selected_action": [row.id]}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)


def _write_eml(settings, name: str, subject: str) -> None:
    folder = settings.DATA_DIR / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    rendered = mail.render(
        mail.Digest(
            kind="new_mail", language="fr", organisations=("SPF Finances",), message_count=1, registered_count=0
        )
    )
    (folder / name).write_bytes(
        mail.personalise(rendered, "marie.dubois@example.be", 1).replace(rendered.subject.encode(), subject.encode())
    )


def test_the_development_mail_view_lists_and_shows_emails_only_when_enabled(client, db, settings, admin_user):
    from tests.browser import assert_sound_html

    name = f"{time_ns()}-abcdef12.eml"
    _write_eml(settings, name, "Dev view test mail")
    settings.DEBUG = False
    settings.EBOX_DEV_MAIL_VIEW = False
    assert client.get("/dev/mail/").status_code == 404
    assert client.get(f"/dev/mail/{name}/").status_code == 404

    settings.EBOX_DEV_MAIL_VIEW = True
    client.force_login(admin_user)  # staff only, even in development (tests/test_security.py)
    listing = client.get("/dev/mail/")
    assert listing.status_code == 200
    assert_sound_html(listing.content.decode())
    assert b"Dev view test mail" in listing.content and b"marie.dubois@example.be" in listing.content
    detail = client.get(f"/dev/mail/{name}/")
    assert detail.status_code == 200
    assert_sound_html(detail.content.decode())
    assert b"SPF Finances" in detail.content and b"sandbox" in detail.content
    assert client.get(f"/dev/mail/{name}/raw").status_code == 200
    assert client.get("/dev/mail/..%2F..%2Fsecrets/").status_code == 404
    assert client.get("/dev/mail/0-00000000.eml/").status_code == 404


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_the_smtp_dialogue_refuses_one_recipient_and_goes_on(sink, pipelining):
    sink.handler.pipelining = pipelining
    transport = mail.SmtpTransport()
    transport.open()
    assert transport.pipelining is pipelining
    sink.handler.refused = {"nobody@example.be"}
    transport.send("first@example.be", b"Subject: one\r\n\r\n.a line starting with a dot\r\nend\r\n")
    with pytest.raises(mail.PermanentError, match="550"):
        transport.send("nobody@example.be", b"Subject: two\r\n\r\nbody\r\n")
    transport.send("second@example.be", b"Subject: three\r\n\r\nbody\r\n")  # same connection, after RSET
    # A chunk: each message's end travels with the next one's envelope; one refusal in the middle.
    results = transport.send_all(
        [
            (f"c{i}@example.be" if i != 2 else "nobody@example.be", f"Subject: {i}\r\n\r\nbody\r\n".encode())
            for i in range(5)
        ]
    )
    transport.close()
    assert [type(r).__name__ if r else None for r in results] == [None, None, "PermanentError", None, None]
    assert [r.rcpt for r in sink.received] == [
        ["first@example.be"],
        ["second@example.be"],
        ["c0@example.be"],
        ["c1@example.be"],
        ["c3@example.be"],
        ["c4@example.be"],
    ]
    assert b"\r\n.a line starting with a dot\r\n" in sink.received[0].data
    assert [r.message["Subject"] for r in sink.received[2:]] == ["0", "1", "3", "4"]


def test_a_relay_that_cannot_be_reached_or_refuses_our_login_delays_emails_and_fails_none(publish, citizen, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    publish(citizen.national_number)
    report = sending.send_due()
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    row = EmailNotification.objects.get()
    assert row.status == "pending" and "could not open the SMTP connection" in row.last_error


def test_a_connection_lost_after_the_whole_message_is_sent_again_with_the_same_message_id(publish, sink):
    a, b = CitizenFactory(activated=True), CitizenFactory(activated=True)
    publish(a.national_number)
    publish(b.national_number)
    sink.handler.drop_after_first = True

    report = sending.send_due()

    assert (report.sent, report.retried, report.maybe_delivered) == (0, 1, 1)
    statuses = sorted(EmailNotification.objects.values_list("status", flat=True))
    assert statuses == ["pending", "pending"]
    maybe = EmailNotification.objects.get(resent_after_loss=1)
    assert "same Message-ID" in maybe.last_error
    first_id = sink.received[0].message["Message-ID"]
    sink.handler.drop_after_first = False
    EmailNotification.objects.filter(status="pending").update(execute_after=timezone.now())
    assert sending.send_due().sent == 2
    assert sending.send_due().claimed == 0
    assert sorted(r.rcpt[0] for r in sink.received) == sorted([a.email, b.email, sink.received[0].rcpt[0]])
    assert [r.message["Message-ID"] for r in sink.received].count(first_id) == 2  # the receiver collapses them
    assert operations.possible_duplicate_emails() == 1


def test_other_email_backends_get_the_same_email_through_djangos_mail_api(publish, citizen, settings):
    from django.core import mail as django_mail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    publish(citizen.national_number, registered_mail=True, subject={"fr": "SUBJECT-MARKER-LOCMEM"})
    assert sending.send_due().sent == 1
    (sent,) = django_mail.outbox
    assert sent.to == [citizen.email]
    assert sent.subject == "Un envoi recommandé dans votre eBox"
    assert sent.extra_headers["Message-ID"].startswith("<notification.")
    assert "SUBJECT-MARKER-LOCMEM" not in sent.body + sent.alternatives[0][0]
    assert EmailNotification.objects.get().status == "sent"


def test_an_email_whose_messages_were_all_read_meanwhile_is_skipped(publish, citizen, sink):
    first = publish(citizen.national_number)
    second = publish(citizen.national_number)
    reading.mark_read(first, actor="citizen")
    assert sending.send_due().sent == 1  # one of the two is still unread
    EmailNotification.objects.update(status="pending", execute_after=timezone.now())
    reading.mark_read(second, actor="citizen")
    report = sending.send_due()
    assert (report.sent, report.skipped) == (0, 1)
    row = EmailNotification.objects.get()
    assert row.status == "skipped" and "read already" in row.last_error
    assert len(sink.received) == 1


def test_citizens_who_turned_new_mail_emails_off_are_owed_none(publish, citizen, sink):
    quiet = CitizenFactory(activated=True, notify_new_messages=False)
    sealing.seal_messages([publish(c.national_number, seal=False).id for c in (citizen, quiet, citizen, quiet)])
    assert list(EmailNotification.objects.values_list("citizen_id", "kind")) == [(citizen.id, "new_mail")]
    # Reminders stay on for them: the two choices are independent.
    EmailNotification.objects.all().delete()
    Message.objects.filter(citizen=quiet).update(expires_at=timezone.now() + dt.timedelta(days=2))
    assert reminders.queue_reminders()["expiring"] == 2
    assert set(EmailNotification.objects.values_list("citizen_id", "kind")) == {(quiet.id, "reminder")}


def test_citizens_who_turned_reminders_off_get_none_and_get_them_when_they_turn_them_back_on(publish, citizen, sink):
    quiet = CitizenFactory(activated=True, notify_reminders=False)
    for person in (citizen, quiet):
        publish(person.national_number, registered_mail=True)
    Message.objects.update(sealed_at=timezone.now() - dt.timedelta(days=10))
    EmailNotification.objects.all().delete()
    assert reminders.queue_reminders()["registered"] == 1
    assert list(EmailNotification.objects.values_list("citizen_id", flat=True)) == [citizen.id]
    assert not NotificationReminder.objects.filter(message__citizen=quiet).exists()
    quiet.notify_reminders = True
    quiet.save(update_fields=["notify_reminders"])
    assert reminders.queue_reminders()["registered"] == 1
    assert NotificationReminder.objects.filter(message__citizen=quiet).count() == 1


def test_an_email_owed_before_the_citizen_turned_it_off_is_skipped(publish, citizen, sink):
    publish(citizen.national_number)
    citizen.notify_new_messages = False
    citizen.save(update_fields=["notify_new_messages"])
    report = sending.send_due()
    assert (report.sent, report.skipped) == (0, 1)
    assert EmailNotification.objects.get().status == "skipped"
    assert sink.received == []


def test_reminders_are_scheduled_at_eight_in_brussels():
    from zoneinfo import ZoneInfo

    from ebox.celery import app

    assert str(app.conf.timezone) == "Europe/Brussels"
    schedule = app.conf.beat_schedule["queue-reminders"]["schedule"]
    schedule.app = app
    # Mid-winter (UTC+1): after a run at 07:30 UTC the next is the next day at 07:00 UTC (08:00 here).
    last = dt.datetime(2026, 1, 14, 7, 30, tzinfo=dt.UTC)
    schedule.nowfun = lambda: last
    remaining = schedule.remaining_estimate(last)
    assert last + remaining == dt.datetime(2026, 1, 15, 7, 0, tzinfo=dt.UTC)
    assert (last + remaining).astimezone(ZoneInfo("Europe/Brussels")).hour == 8
