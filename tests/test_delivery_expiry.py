"""Issue 16, item 3: expiry at expires_at, crypto-shredding after retention, warning before expiry,
and the audit trail's ten-year retention behind a signed prune record.
"""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit import retention
from audit import services as audit_services
from audit.models import AuditEntry, AuditPrune
from citizens import services as citizen_services
from messages import evidence, integrity, signing, tasks, verify_evidence
from messages.models import Attachment, EmailNotification, Message, MessageEvent
from messages.notifications import mail, reminders, sending
from messages.services import expiry
from senders import services as sender_services
from tests.factories import CitizenFactory
from tests.publication_support import token_session
from tests.smtp_sink import Sink
from tests.spec import assert_matches
from tests.test_partners import browser_session, partner, token_for  # noqa: F401 - the partner fixture


@pytest.fixture
def sender(live_server, organisation):
    issued = sender_services.create_sender_application(organisation, "status-app")
    return token_session(live_server.url, issued.client_id, issued.client_secret)


def _ago(**delta) -> dt.datetime:
    # Published with this expiration (the seal covers it: changing it afterwards would break the seal).
    return timezone.now() - dt.timedelta(**delta)


def test_beat_expires_messages_they_leave_inbox_and_partner_api_and_the_sender_sees_expired(
    live_server,
    partner,  # noqa: F811
    publish,
    sender,
):
    citizen = CitizenFactory(activated=True)
    gone, kept = publish(citizen.national_number, expires_at=_ago(minutes=1)), publish(citizen.national_number)
    token = token_for(live_server, browser_session(live_server, citizen), partner)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    api = f"{live_server.url}/api/v2/ebox/messages"
    assert requests.get(f"{api}/{gone.id}", headers=headers).status_code == 200

    assert tasks.expire_messages() == {"expired": 1, "shredded": 0}  # the beat task's function

    gone.refresh_from_db()
    assert gone.status == "expired"
    assert MessageEvent.objects.filter(message=gone, kind="expired").count() == 1
    assert requests.get(f"{api}/{gone.id}", headers=headers).status_code == 404
    listed = requests.get(api, headers=headers).json()
    assert [m["messageId"] for m in listed["items"]] == [str(kept.id)]
    citizen_services.citizen_logged_in(citizen.national_number)
    citizen.refresh_from_db()
    client = Client()
    client.force_login(citizen.user)
    inbox = client.get("/inbox/").content.decode()
    assert str(kept.id) in inbox and str(gone.id) not in inbox
    assert client.get(f"/inbox/{gone.id}/").status_code == 404
    answer = sender.post(f"{live_server.url}/api/v2/searchMessageStatus", json=[{"messageId": str(gone.id)}])
    assert_matches(answer.json(), "MessagesStatusList")
    assert answer.json()[0]["status"] == "expired"
    assert tasks.expire_messages() == {"expired": 0, "shredded": 0}  # once


def test_after_retention_the_content_is_crypto_shredded_and_the_evidence_still_verifies(
    publish, pdf_bytes, settings, django_capture_on_commit_callbacks
):
    settings.EBOX_RETENTION_DAYS_AFTER_EXPIRY = 30
    citizen = CitizenFactory(activated=True)
    letter = publish(
        citizen.national_number, registered_mail=True, payment_data={"amount": 10}, expires_at=_ago(days=31)
    )
    recent = publish(citizen.national_number, expires_at=_ago(days=29))  # still within retention
    letter.read_at = timezone.now()
    Message.objects.filter(pk=letter.pk).update(read_at=letter.read_at)
    blobs = list(Attachment.objects.filter(content=letter.content).values_list("blob", flat=True))
    assert blobs and all(default_storage.exists(b) for b in blobs)

    with django_capture_on_commit_callbacks(execute=True):  # the blobs go once the shredding commits
        assert expiry.run() == {"expired": 2, "shredded": 1}

    letter.refresh_from_db()
    content = letter.content
    content.refresh_from_db()
    assert content.shredded_at is not None and content.kek_id == expiry.SHREDDED_KEK_ID
    assert bytes(content.wrapped_key) == b"" and bytes(content.subject_ct) == b""
    assert content.body_ct is None and content.payment_ct is None
    assert not any(default_storage.exists(b) for b in blobs)
    assert Attachment.objects.filter(content=content).values_list("blob", flat=True).distinct().get() == ""
    assert MessageEvent.objects.filter(message=letter, kind="shredded").count() == 1
    recent.refresh_from_db()
    recent.content.refresh_from_db()
    assert recent.content.shredded_at is None
    # The seal and the evidence stay: deposit and reading, verified offline, the PDF still matches its seal.
    jwks = signing.jwks()
    for kind in ("deposit", "reading"):
        notes = verify_evidence.verify(evidence.build_evidence(letter, kind), jwks, [("letter.pdf", pdf_bytes)])
        assert any("is sealed attachment" in n for n in notes)
    # Nothing left to decrypt: the integrity sweep skips it instead of raising an incident; key rotation too.
    assert integrity.sweep(full_pass=True).failed == 0
    assert not letter.incidents.exists()
    assert integrity.rewrap_data_keys()[0] == 0  # (re-wrapped, current KEK id)


def test_citizens_are_warned_before_a_message_with_payment_data_or_an_unread_registered_letter_expires(
    publish, settings
):
    sink = Sink().start()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        mail.clear_cache()
        citizen = CitizenFactory(activated=True)
        soon = timezone.now() + dt.timedelta(days=3)
        paid = publish(citizen.national_number, payment_data={"amount": 10}, expires_at=soon)
        publish(citizen.national_number, registered_mail=True, expires_at=soon)
        read_plain = publish(citizen.national_number, expires_at=soon)
        Message.objects.filter(pk__in=[paid.pk, read_plain.pk]).update(read_at=timezone.now())
        EmailNotification.objects.all().delete()

        counts = reminders.queue_reminders()

        assert counts["expiring"] == 2  # the read message with payment data and the unread registered letter
        row = EmailNotification.objects.get(kind="reminder")
        assert row.expiring_count == 2
        EmailNotification.objects.update(execute_after=timezone.now())
        assert sending.send_due().sent >= 1
        received = sink.wait_for(1)
        assert citizen.email in received[-1].rcpt
    finally:
        sink.stop()


def _entry(at: dt.datetime, url: str) -> int:
    return audit_services.append(
        audit_services.Entry(method="GET", url=url, status_code=200, actor="user:test", at=at)
    )[0]


def test_audit_entries_past_retention_are_pruned_behind_a_signed_record_and_only_that_way(db, settings):
    settings.EBOX_AUDIT_RETENTION_DAYS = 3653
    now = timezone.now()
    old = [_entry(now - dt.timedelta(days=3660 + i), f"/old/{i}") for i in range(3)]
    audit_services.sign_checkpoint()
    kept = [_entry(now - dt.timedelta(days=10), "/recent"), _entry(now, "/now")]
    audit_services.sign_checkpoint()  # as beat does every minute: the kept entries are signed too
    # An ad-hoc DELETE is refused by the trigger, and the function refuses without a signed record.
    for statement, params in (
        ("DELETE FROM audit_auditentry WHERE id = %s", [old[0]]),
        ("SELECT audit_prune(%s)", [old[-1]]),
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    # The pruning switch is a custom setting any role may set: alone, it lets nothing through either.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ebox.audit_pruning = 'on'")
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [old[0]])
    assert AuditEntry.objects.count() == 5

    record = retention.prune(now)

    assert (record.through_entry_id, record.pruned_count) == (old[-1], 3)
    assert list(AuditEntry.objects.order_by("id").values_list("id", flat=True)) == kept
    assert retention.verify_prune(record)
    report = audit_services.verify()
    assert report.ok, report.problems
    _entry(timezone.now(), "/after")  # the chain goes on
    assert audit_services.verify().ok
    assert retention.prune(now) is None  # nothing more is past retention
    # A forged prune record does not verify, and the chain no longer starts where it claims.
    AuditPrune.objects.create(
        through_entry_id=kept[0],
        anchor_hash="0" * 64,
        cutoff=now,
        pruned_count=1,
        signed_at=now,
        kid=record.kid,
        signature=bytes(record.signature),
    )
    assert not audit_services.verify().ok
