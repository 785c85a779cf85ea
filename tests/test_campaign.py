"""The campaign's fast path: small blobs in PostgreSQL (messages.blobs) and a batch's rows
written with COPY (messages.services.rows.copy_insert_new), idempotent, atomic, surviving a
PostgreSQL restart."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection

from ebox.embedded import restart_postgres
from messages import blobs, integrity
from messages.models import Attachment, Blob, IntegrityIncident, Message, MessageContent
from messages.services import expiry, publishing, reading
from senders import services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import message_json, token_session

SMALL = 64 * 1024


@pytest.fixture
def database_blobs(settings):
    settings.EBOX_DATABASE_BLOB_MAX_BYTES = SMALL


def stored_files() -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- The blob store ---------------------------------------------------------------------


def test_a_small_blob_lives_in_postgresql_and_reads_back(database_blobs, publish, citizen, pdf_bytes):
    files_before = stored_files()
    message = publish(citizen.national_number)
    attachment = message.content.attachments.get()
    assert attachment.blob == f"db:{attachment.id}"
    stored = bytes(Blob.objects.get(pk=attachment.id).data)
    assert stored.startswith(b"EBX1") and pdf_bytes[:100] not in stored  # ciphertext, as files are
    assert stored_files() == files_before  # no file written
    assert b"".join(reading.open_attachment(message, attachment)) == pdf_bytes
    call_command("verify_integrity", "--restart")  # exits 1 on any failure


def test_a_large_blob_still_goes_to_the_storage(settings, publish, citizen, pdf_bytes):
    settings.EBOX_DATABASE_BLOB_MAX_BYTES = 100  # smaller than the encrypted PDF
    message = publish(citizen.national_number)
    attachment = message.content.attachments.get()
    assert not blobs.in_database(attachment.blob) and default_storage.exists(attachment.blob)
    assert not Blob.objects.exists()
    assert b"".join(reading.open_attachment(message, attachment)) == pdf_bytes


def test_a_tampered_database_blob_is_found_by_the_sweep(database_blobs, publish, citizen):
    victim, healthy = publish(citizen.national_number), publish(citizen.national_number)
    blob = Blob.objects.get(pk=victim.content.attachments.get().id)
    data = bytearray(bytes(blob.data))
    data[-5] ^= 1
    Blob.objects.filter(pk=blob.pk).update(data=bytes(data))

    result = integrity.sweep(full_pass=True)
    assert (result.checked, result.failed) == (2, 1)
    assert IntegrityIncident.objects.filter(message=victim, detected_by="sweep").exists()
    assert not IntegrityIncident.objects.filter(message=healthy).exists()


def test_a_missing_database_blob_is_an_integrity_failure_not_a_crash(database_blobs, publish, citizen):
    message = publish(citizen.national_number)
    attachment = message.content.attachments.get()
    blobs.delete(attachment.blob)
    assert not Blob.objects.exists()
    with pytest.raises(reading.IntegrityFailure):
        b"".join(reading.open_attachment(message, attachment))


def test_crypto_shredding_deletes_the_database_blob_with_the_key(database_blobs, publish, settings):
    import datetime as dt

    from django.utils import timezone

    settings.EBOX_RETENTION_DAYS_AFTER_EXPIRY = 30
    citizen = CitizenFactory(activated=True)
    old = publish(citizen.national_number, expires_at=timezone.now() - dt.timedelta(days=31))
    kept = publish(citizen.national_number)
    Message.objects.filter(pk=old.pk).update(read_at=timezone.now())
    old_blob = old.content.attachments.get().id

    # No on-commit callback runs here: the database blob goes in the shredding's own transaction.
    assert expiry.run()["shredded"] == 1
    assert not Blob.objects.filter(pk=old_blob).exists()
    assert Blob.objects.filter(pk=kept.content.attachments.get().id).exists()
    assert Attachment.objects.get(pk=old_blob).blob == ""


def test_a_failed_publication_leaves_no_database_blob(database_blobs, sender_application, message_type, pdf_bytes):
    new = publishing.NewMessage(
        sender_application=sender_application,
        message_type=message_type,
        recipient_type="citizen",
        recipient_id="85073003328",
        subject={"fr": "Sujet"},
        idempotency_key="once",
        attachments=[publishing.AttachmentUpload(io.BytesIO(pdf_bytes), "a.pdf", "application/pdf", True)],
    )
    publishing.publish_message(new)
    new.attachments[0].file.seek(0)
    with pytest.raises(publishing.DuplicatePublication):
        publishing.publish_message(new)
    assert Blob.objects.count() == Attachment.objects.count() == 1


# --- The batch path over HTTP -------------------------------------------------------------


def _items(count: int, pdf: bytes, prefix: str = "k", start: int = 0) -> list[dict]:
    from bench.batch import national_numbers

    numbers = national_numbers(start + count)[start:]
    doc = {"fileName": "letter.pdf", "mediaType": "application/pdf", "content": base64.b64encode(pdf).decode()}
    return [
        {
            "idempotencyKey": f"{prefix}-{start + i}",
            "messageToPublish": message_json(number, "tax"),
            "documents": {"upfile1": doc},
        }
        for i, number in enumerate(numbers)
    ]


def _integrator(url: str):
    organisation = services.create_organisation("0308357159", {"fr": "SPF Finances"})
    MessageTypeFactory(organisation=organisation, message_type_id="tax")
    issued = services.create_sender_application(organisation, "myminfin")
    session = token_session(url, issued.client_id, issued.client_secret)
    session.base, session.issued = url, issued
    return session


def _batch(session, items: list[dict], timeout: float = 60) -> requests.Response:
    return session.post(f"{session.base}/api/v2/extensions/publishMessages", json={"messages": items}, timeout=timeout)


def _assert_whole() -> None:
    """Every stored message has its content, attachment and database blob, and nothing else is stored."""
    messages = Message.objects.count()
    assert MessageContent.objects.count() == Attachment.objects.count() == Blob.objects.count() == messages
    assert not Attachment.objects.exclude(id__in=Blob.objects.values("id")).exists()


def test_a_retried_chunk_stores_nothing_twice(database_blobs, transactional_db, live_server, pdf_bytes):
    session = _integrator(live_server.url)
    items = _items(40, pdf_bytes)
    first = _batch(session, items)
    assert first.status_code == 200 and first.json()["accepted"] == 40, first.text
    ids = [r["messageId"] for r in first.json()["items"]]

    again = _batch(session, items)  # the client did not see the answer and sends the chunk again
    assert again.status_code == 200
    body = again.json()
    assert (body["accepted"], body["rejected"]) == (0, 40)
    assert [r["status"] for r in body["items"]] == [409] * 40
    assert [r["details"][0]["message"] for r in body["items"]] == ids  # each names the message stored first
    assert Message.objects.count() == 40
    _assert_whole()

    # Half old, half new: the new half is stored, the old half refused.
    mixed = _batch(session, items[20:] + _items(20, pdf_bytes, start=40))
    assert [r["status"] for r in mixed.json()["items"]] == [409] * 20 + [201] * 20
    assert Message.objects.count() == 60
    _assert_whole()


def test_the_same_chunk_sent_twice_at_once_is_stored_once(database_blobs, transactional_db, live_server, pdf_bytes):
    session = _integrator(live_server.url)
    second = token_session(live_server.url, session.issued.client_id, session.issued.client_secret)
    second.base = live_server.url
    items = _items(200, pdf_bytes)
    answers = {}

    def send(name, s):
        answers[name] = _batch(s, items)

    threads = [threading.Thread(target=send, args=(n, s)) for n, s in (("a", session), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers.values()} == {200}
    statuses = list(zip(*([r["status"] for r in a.json()["items"]] for a in answers.values()), strict=True))
    assert all(sorted(pair) == [201, 409] for pair in statuses), statuses  # each item stored by exactly one
    assert Message.objects.count() == 200
    _assert_whole()


def test_a_constraint_violated_while_copying_answers_4xx_and_stores_nothing(
    database_blobs, transactional_db, live_server, pdf_bytes
):
    """A row PostgreSQL refuses as the batch's rows land (here a CHECK the test adds, as a record
    changed meanwhile would be refused by its foreign key): a 4xx StatusMessage, nothing stored."""
    session = _integrator(live_server.url)
    items = _items(30, pdf_bytes)
    refused = items[17]["messageToPublish"]["recipient"]["eboxIdValue"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE mailbox_message ADD CONSTRAINT campaign_test_refuses CHECK (recipient_id <> '{refused}')"
        )
    try:
        response = _batch(session, items)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE mailbox_message DROP CONSTRAINT campaign_test_refuses")
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "CONFLICT" and "nothing was stored" in response.json()["message"]
    assert not Message.objects.exists() and not Blob.objects.exists() and not MessageContent.objects.exists()
    assert _batch(session, items).json()["accepted"] == 30  # the same chunk, once the cause is gone
    _assert_whole()


def test_a_postgresql_restart_mid_batch_leaves_nothing_half_stored(gunicorn_factory, pdf_bytes):
    url = gunicorn_factory(EBOX_TEST_DATABASE_BLOB_MAX_BYTES=str(SMALL))
    session = _integrator(url)
    files_before = stored_files()
    chunks = [_items(1000, pdf_bytes, start=k * 1000) for k in range(4)]
    answers = []

    def send():
        for chunk in chunks:
            try:
                answers.append(_batch(session, chunk, timeout=120).status_code)
            except requests.RequestException as exc:
                answers.append(type(exc).__name__)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(1.5)  # the first chunk is being stored
    restart_postgres(Path(settings.DATA_DIR))
    connection.close()
    sender.join()
    print("answers around the restart:", answers)
    assert 500 not in answers, answers
    assert all(a in (200, 503) for a in answers), answers
    assert 503 in answers, answers  # the restart did hit a chunk being stored
    stored = Message.objects.count()
    assert stored == 1000 * answers.count(200), (stored, answers)  # whole chunks only
    _assert_whole()
    # The refused chunks are sent again: everything arrives once.
    for chunk in chunks:
        assert _batch(session, chunk, timeout=120).status_code == 200
    assert Message.objects.count() == 4000
    _assert_whole()
    assert stored_files() == files_before  # the letters' blobs are all in PostgreSQL


def test_the_json_depth_pre_scan_agrees_with_parsing():
    """ebox.safe_input.json_depth runs over a campaign's megabytes in C: it must still measure
    what the parser sees, whatever escapes and brackets the strings hold."""
    import json
    import random

    from ebox.safe_input import MAX_JSON_DEPTH, json_depth

    def depth(value) -> int:
        if isinstance(value, dict):
            value = list(value.values())
        return 1 + max(map(depth, value), default=0) if isinstance(value, list) else 0

    pieces = ["a", "[", "]", "{", "}", '"', "\\", "\\\\", '\\"', "\n", "é"]
    rng = random.Random(19)

    def text() -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))

    def value(level: int):
        roll = rng.random()
        if level > 40 or roll < 0.3:
            return text()
        if roll < 0.65:
            return [value(level + 1) for _ in range(rng.randint(0, 3))]
        return {text(): value(level + 1) for _ in range(rng.randint(0, 3))}

    for _ in range(3000):
        document = value(0)
        raw = json.dumps(document, ensure_ascii=rng.random() < 0.5).encode()
        measured, true = json_depth(raw), depth(document)
        assert (measured > MAX_JSON_DEPTH) == (true > MAX_JSON_DEPTH), raw
        if true > MAX_JSON_DEPTH:
            assert measured == true
