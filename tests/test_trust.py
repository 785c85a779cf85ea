"""Trust: encryption at rest, seals, verification on read and by the sweep, key rotation, evidence.

Each test is an attack (or an accident) that must fail: a dump that would reveal content,
a flipped byte, swapped ciphertexts, a forged evidence.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import rfc8785
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from ebox.embedded import postgres_bin
from ebox.pdf import simple_pdf
from messages import crypto, evidence, integrity, signing
from messages.models import (
    Attachment,
    IntegrityIncident,
    IntegritySweep,
    Message,
    MessageContent,
    MessageEvent,
    Reply,
)
from messages.services import incidents, publishing, reading, replies, sealing
from tests.factories import CitizenFactory, SenderApplicationFactory

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "messages" / "verify_evidence.py"


def _flip(data: bytes, at: int | None = None) -> bytes:
    data = bytearray(data)
    index = len(data) // 2 if at is None else at
    data[index] ^= 0x01
    return bytes(data)


def _read_everything(message: Message) -> None:
    """What a reader does: the text, then every attachment's bytes."""
    message = Message.objects.select_related("content", "sender_organisation", "sender_application").get(pk=message.pk)
    reading.verified_text(message)
    for attachment in message.content.attachments.all():
        reading.attachment_meta(message, attachment)
        b"".join(reading.open_attachment(message, attachment))


def _sweep_all() -> integrity.SweepResult:
    IntegritySweep.objects.filter(name=integrity.SWEEP_NAME).delete()
    return integrity.sweep()


# --- Confidentiality -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_and_the_attachment_store_reveal_no_content(publish, citizen):
    marker = "ZQX-MARKER-7731"
    pdf = simple_pdf(f"Letter {marker}", [f"Body line {marker}"])
    assert marker.encode() in pdf
    message = publish(
        citizen.national_number,
        subject={"fr": f"Sujet {marker}", "nl": f"Onderwerp {marker}"},
        body={"fr": f"Corps {marker}"},
        payment_data={"amount": 12, "structuredReference": marker},
        business_data=[{"key": "ref", "value": marker}],
        attachments=[
            publishing.AttachmentUpload(
                file=io.BytesIO(pdf), file_name=f"{marker}.pdf", media_type="application/pdf", main_content=True
            )
        ],
    )
    # The content really is there, for its reader.
    assert marker in reading.verified_text(message).subject["fr"]

    db = settings.DATABASES["default"]
    dump = subprocess.run(
        [postgres_bin("pg_dump"), "-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"], db["NAME"]],
        capture_output=True,
        check=True,
    ).stdout
    assert str(message.id).encode() in dump  # the dump holds the message rows…
    assert marker.encode() not in dump  # …but not their content
    blobs = [p for p in Path(settings.STORAGES["default"]["OPTIONS"]["location"]).rglob("*") if p.is_file()]
    assert blobs
    for blob in blobs:
        assert marker.encode() not in blob.read_bytes(), blob


# --- Integrity: tampering is detected on read and by the sweep ------------------


def _tamper_body(message: Message) -> None:
    content = MessageContent.objects.get(pk=message.content_id)
    MessageContent.objects.filter(pk=content.pk).update(body_ct=_flip(bytes(content.body_ct)))


def _tamper_blob(message: Message) -> None:
    attachment = Attachment.objects.get(content_id=message.content_id)
    path = Path(default_storage.path(attachment.blob))
    path.write_bytes(_flip(path.read_bytes()))


def _tamper_seal(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(seal=_flip(bytes(message.seal), 5))


def _tamper_digest(message: Message) -> None:
    attachment = Attachment.objects.get(content_id=message.content_id)
    flipped = ("1" if attachment.sha256[0] == "0" else "0") + attachment.sha256[1:]
    Attachment.objects.filter(pk=attachment.pk).update(sha256=flipped)


def _tamper_wrapped_key(message: Message) -> None:
    content = MessageContent.objects.get(pk=message.content_id)
    MessageContent.objects.filter(pk=content.pk).update(wrapped_key=_flip(bytes(content.wrapped_key)))


def _tamper_attachment_name(message: Message) -> None:
    attachment = Attachment.objects.get(content_id=message.content_id)
    Attachment.objects.filter(pk=attachment.pk).update(meta_ct=_flip(bytes(attachment.meta_ct)))


@pytest.mark.parametrize(
    "tamper",
    [_tamper_body, _tamper_blob, _tamper_seal, _tamper_digest, _tamper_wrapped_key, _tamper_attachment_name],
    ids=["body", "attachment-blob", "seal", "digest", "wrapped-key", "attachment-name"],
)
def test_one_flipped_byte_is_detected_on_read_and_by_the_sweep(publish, citizen, tamper):
    healthy = publish(citizen.national_number)
    victim = publish(citizen.national_number)
    _read_everything(victim)  # sound before the attack
    tamper(victim)

    with pytest.raises(incidents.IntegrityFailure):
        _read_everything(victim)
    victim.refresh_from_db()
    assert victim.integrity_failed_at is not None
    assert IntegrityIncident.objects.filter(message=victim, detected_by="read").exists()
    assert victim.events.filter(kind=MessageEvent.Kind.INTEGRITY_FAILED).exists()

    result = _sweep_all()
    assert (result.checked, result.failed) == (2, 1)
    _read_everything(healthy)
    assert not IntegrityIncident.objects.filter(message=healthy).exists()


def test_the_sweep_alone_finds_damage_nobody_read(publish, citizen):
    victim = publish(citizen.national_number)
    _tamper_blob(victim)
    result = _sweep_all()
    assert result.failed == 1
    incident = IntegrityIncident.objects.get(message=victim)
    assert incident.detected_by == "sweep"
    assert "attachment" in incident.reason


def test_ciphertexts_swapped_between_two_messages_are_detected(publish, citizen):
    first, second = publish(citizen.national_number), publish(citizen.national_number)
    a = MessageContent.objects.get(pk=first.content_id)
    b = MessageContent.objects.get(pk=second.content_id)
    MessageContent.objects.filter(pk=a.pk).update(body_ct=b.body_ct, subject_ct=b.subject_ct)
    MessageContent.objects.filter(pk=b.pk).update(body_ct=a.body_ct, subject_ct=a.subject_ct)
    for message in (first, second):
        with pytest.raises(incidents.IntegrityFailure):
            _read_everything(message)
    assert IntegrityIncident.objects.filter(message__in=[first, second]).count() == 2


def test_swapped_attachment_blobs_are_detected(publish, citizen):
    first, second = publish(citizen.national_number), publish(citizen.national_number)
    blob_a = Attachment.objects.get(content_id=first.content_id).blob
    blob_b = Attachment.objects.get(content_id=second.content_id).blob
    path_a, path_b = Path(default_storage.path(blob_a)), Path(default_storage.path(blob_b))
    bytes_a, bytes_b = path_a.read_bytes(), path_b.read_bytes()
    path_a.write_bytes(bytes_b)
    path_b.write_bytes(bytes_a)
    assert _sweep_all().failed == 2


def test_an_incident_is_raised_to_operators(publish, citizen, caplog, admin_client, django_capture_on_commit_callbacks):
    settings.ADMINS = [("Ops", "ops@ebox.example")]
    try:
        victim = publish(citizen.national_number)
        _tamper_seal(victim)
        with caplog.at_level(logging.ERROR, logger="messages.services.incidents"):
            with django_capture_on_commit_callbacks(execute=True):
                with pytest.raises(incidents.IntegrityFailure):
                    _read_everything(victim)
                # The same failure again is not a new incident nor a new e-mail.
                with pytest.raises(incidents.IntegrityFailure):
                    _read_everything(victim)
    finally:
        settings.ADMINS = []
    assert any(r.levelno == logging.ERROR and str(victim.id) in r.getMessage() for r in caplog.records)
    assert len(mail.outbox) == 1
    assert str(victim.id) in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ops@ebox.example"]
    assert IntegrityIncident.objects.filter(message=victim).count() == 1
    page = admin_client.get("/admin/mailbox/integrityincident/")
    assert page.status_code == 200
    assert b"seal does not match the content" in page.content


def test_the_sweep_resumes_where_it_stopped(publish, citizen):
    messages = [publish(citizen.national_number) for _ in range(5)]
    IntegritySweep.objects.all().delete()
    first = integrity.sweep(limit=2, batch_size=2)
    assert (first.checked, first.passes_completed) == (2, 0)
    cursor = IntegritySweep.objects.get(name=integrity.SWEEP_NAME).position
    assert cursor == sorted(m.id for m in messages)[1]
    second = integrity.sweep(limit=2, batch_size=2)
    assert second.checked == 2
    third = integrity.sweep(limit=10, batch_size=2)
    assert (third.checked, third.passes_completed) == (1, 1)  # the fifth, then the pass ends
    state = IntegritySweep.objects.get(name=integrity.SWEEP_NAME)
    assert state.position is None and state.last_pass_finished_at is not None


def test_verify_integrity_command_reports_progress_and_failures(publish, citizen):
    for _ in range(3):
        publish(citizen.national_number)
    out = io.StringIO()
    call_command("verify_integrity", "--restart", "--batch-size", "2", stdout=out)
    assert "3/3 checked" in out.getvalue()
    assert "3 message(s) checked, 0 integrity failure(s)" in out.getvalue()
    _tamper_body(Message.objects.first())
    with pytest.raises(CommandError, match="1 integrity failure"):
        call_command("verify_integrity", "--restart", stdout=io.StringIO())


def test_a_content_damaged_before_sealing_does_not_hold_back_its_batch(publish, citizen):
    damaged, sound = (publish(citizen.national_number, seal=False) for _ in range(2))
    _tamper_body(damaged)
    assert sealing.seal_messages([damaged.id, sound.id]) == 1
    damaged.refresh_from_db()
    sound.refresh_from_db()
    assert (damaged.status, sound.status) == ("accepted", "sealed")
    incident = IntegrityIncident.objects.get()
    assert incident.message_id == damaged.id and incident.detected_by == "seal"
    assert damaged.integrity_failed_at is not None
    # Beat does not retry it every run: it waits for an operator.
    assert sealing.redispatch_pending(older_than=dt.timedelta(0)) == 0
    assert IntegrityIncident.objects.count() == 1


def test_the_sweep_checks_replies_too(publish, citizen, pdf_bytes):
    message = publish(citizen.national_number, reply_authorized=True)
    sound = replies.reply_to_message(message, citizen, "Bien reçu, merci.")
    with_file = replies.reply_to_message(
        message,
        citizen,
        "Voici la preuve.",
        publishing.AttachmentUpload(file=io.BytesIO(pdf_bytes), file_name="preuve.pdf", media_type="application/pdf"),
    )
    IntegritySweep.objects.filter(name=integrity.REPLY_SWEEP_NAME).delete()
    assert (integrity.sweep_replies().checked, IntegrityIncident.objects.count()) == (2, 0)

    path = default_storage.path(with_file.attachment_blob)
    with open(path, "rb") as blob:
        damaged = _flip(blob.read())
    with open(path, "wb") as blob:
        blob.write(damaged)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 reply\\(ies\\) checked, 1 integrity failure"):
        call_command("verify_integrity", "--restart", stdout=out)
    assert "reply(ies): 2/2 checked, 1 failed" in out.getvalue()
    incident = IntegrityIncident.objects.get()
    assert incident.message_id == message.id and str(with_file.id) in incident.reason
    assert str(sound.id) not in incident.reason


def test_the_sweep_is_scheduled_by_beat():
    from ebox.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"mailbox.sweep_integrity", "audit.sign_checkpoint"} <= tasks
    app.loader.import_default_modules()
    assert {"mailbox.sweep_integrity", "audit.sign_checkpoint"} <= set(app.tasks)


# --- Seals ------------------------------------------------------------------------


def test_sealing_twice_has_one_effect(publish, citizen):
    message = publish(citizen.national_number, seal=False)
    assert sealing.seal_messages([message.id]) == 1
    message.refresh_from_db()
    first = (message.seal, message.sealed_at)
    assert sealing.seal_messages([message.id]) == 0
    message.refresh_from_db()
    assert message.status == "sealed" and message.seal_key_id == signing.load_seal_keys()[0]
    assert (bytes(message.seal), message.sealed_at) == (bytes(first[0]), first[1])


def test_the_sealer_formats_times_as_the_verifier_does(publish, citizen):
    # The sealer has PostgreSQL format the times it signs; readers format them in Python.
    # Whole seconds (no microseconds) and a far expiration are where two formatters would differ.
    message = publish(citizen.national_number, seal=False)
    received = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    expires = dt.datetime(2999, 12, 31, 23, 59, 59, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    Message.objects.filter(pk=message.pk).update(received_at=received, expires_at=expires)
    assert sealing.seal_messages([message.id]) == 1
    message = Message.objects.select_related("content", "sender_organisation", "sender_application").get(pk=message.pk)
    document = reading.seal_document_for(
        message, reading.decrypt_text(message.content), list(message.content.attachments.order_by("position"))
    )
    assert document["receiptDate"] == "2026-01-02T03:04:05.000000Z"
    assert document["expirationDate"] == "2999-12-31T21:59:59.000001Z"
    assert signing.verify(document, message.seal_key_id, message.seal)


def test_the_signed_form_is_rfc8785_canonical_json(publish, citizen):
    from messages.verify_evidence import canonical as standalone_canonical

    message = publish(
        citizen.national_number,
        subject={"fr": 'Été — « guillemets » "échappés" \\ \n\t\u0001 😀', "nl": "Ωmega"},
        payment_data={"amount": 12.5, "currency": "EUR"},
        business_data=[{"key": "k", "value": 1e21}],
    )
    document = reading.seal_document_for(
        message, reading.verified_text(message), list(message.content.attachments.all())
    )
    assert signing.canonical(document) == rfc8785.dumps(document) == standalone_canonical(document)


# --- Key rotation ---------------------------------------------------------------


def test_after_key_rotation_every_message_still_reads(publish, citizen, sender_application, message_type):
    before = [publish(citizen.national_number) for _ in range(3)]
    linked = publishing.link_message(before[0], [("citizen", CitizenFactory().national_number)])
    sealing.seal_messages([m.id for m in linked])
    old_kek = crypto.load_keyring().current_id
    old_kid = signing.load_seal_keys()[0]

    out = io.StringIO()
    # No JWKS cache lifetime to wait for: the new seal key signs at once (tests/test_key_rotation.py waits).
    with override_settings(EBOX_JWKS_MAX_AGE_SECONDS=0):
        call_command("rotate_keys", "--seal", "--batch-size", "1", stdout=out)
    new_kek = crypto.load_keyring().current_id
    new_kid = signing.load_seal_keys()[0]
    assert new_kek != old_kek and new_kid != old_kid
    assert "3/3 data keys re-wrapped" in out.getvalue()
    assert not MessageContent.objects.exclude(kek_id=new_kek).exists()

    after = publish(citizen.national_number)
    assert after.seal_key_id == new_kid
    for message in [*before, *linked, after]:
        _read_everything(message)
    assert before[0].seal_key_id == old_kid  # old seals still verify: the old public key stays published
    assert {old_kid, new_kid} <= {key["kid"] for key in signing.jwks()["keys"]}
    assert _sweep_all().failed == 0

    reply = _reply(before[0], citizen)
    call_command("rotate_keys", stdout=io.StringIO())
    reply.refresh_from_db()
    assert reply.kek_id == crypto.load_keyring().current_id
    data_key = crypto.unwrap_key(reply.kek_id, reply.wrapped_key)
    assert crypto.decrypt_field(data_key, reply.id, "text", reply.text_ct) == b"Merci"
    for message in [*before, *linked, after]:
        _read_everything(message)

    # Resumable: a second run finds nothing left under an old key.
    out = io.StringIO()
    call_command("rotate_keys", "--rewrap-only", stdout=out)
    assert "0 data key(s) re-wrapped" in out.getvalue()


def _reply(message: Message, citizen) -> Reply:
    reply_id = uuid.uuid4()
    data_key = crypto.new_data_key()
    kek_id, wrapped = crypto.wrap_key(data_key)
    return Reply.objects.create(
        id=reply_id,
        message=message,
        citizen=citizen,
        sender_organisation=message.sender_organisation,
        kek_id=kek_id,
        wrapped_key=wrapped,
        text_ct=crypto.encrypt_field(data_key, reply_id, "text", b"Merci"),
        created_at=timezone.now(),
    )


def test_with_keys_from_the_environment_rotate_keys_explains_the_procedure(db):
    line = crypto.generate_kek_line()
    settings.EBOX_KEK = line
    try:
        with pytest.raises(CommandError, match="FIRST in EBOX_KEK"):
            call_command("rotate_keys", stdout=io.StringIO())
    finally:
        settings.EBOX_KEK = ""
        crypto.load_keyring.cache_clear()


# --- Evidence -------------------------------------------------------------------


def _run_verifier(tmp_path: Path, document: dict, *files: Path) -> subprocess.CompletedProcess:
    evidence_file = tmp_path / "evidence.json"
    evidence_file.write_text(json.dumps(document, ensure_ascii=False))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(signing.jwks()))
    # -I: isolated mode, so the script runs without the project on its path (only cryptography).
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(evidence_file), "--jwks", str(jwks_file), *map(str, files)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )


def test_the_verifier_accepts_genuine_evidence_and_rejects_altered_ones(tmp_path, publish, citizen, pdf_bytes):
    message = publish(citizen.national_number, registered_mail=True, subject={"fr": "Accusé de réception é"})
    document = evidence.build_evidence(message)
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(pdf_bytes)

    genuine = _run_verifier(tmp_path, document, pdf)
    assert genuine.returncode == 0, genuine.stdout + genuine.stderr
    assert genuine.stdout.startswith("VALID")
    assert str(message.id) in genuine.stdout

    altered = json.loads(json.dumps(document))
    altered["evidence"]["events"][0]["at"] = "2020-01-01T00:00:00.000000Z"
    result = _run_verifier(tmp_path, altered)
    assert (result.returncode, result.stdout.split(":")[0]) == (1, "INVALID")
    assert "evidence signature" in result.stdout

    forged_seal = json.loads(json.dumps(document))
    forged_seal["evidence"]["seal"]["document"]["recipient"]["eboxIdValue"] = "85073003328"
    assert _run_verifier(tmp_path, forged_seal).returncode == 1

    other = tmp_path / "other.pdf"
    other.write_bytes(_flip(pdf_bytes))
    result = _run_verifier(tmp_path, document, other)
    assert result.returncode == 1
    assert "not an attachment of this message" in result.stdout


def test_evidence_of_reading_exists_for_registered_mail_once_opened(tmp_path, publish, citizen):
    registered = publish(citizen.national_number, registered_mail=True)
    with pytest.raises(evidence.EvidenceUnavailable, match="not opened"):
        evidence.build_evidence(registered, "reading")
    reading.mark_read(registered, actor="citizen")
    document = evidence.build_evidence(registered, "reading")
    assert [e["kind"] for e in document["evidence"]["events"]] == ["accepted", "sealed", "read"]
    result = _run_verifier(tmp_path, document)
    assert result.returncode == 0, result.stdout
    assert "first opened by the recipient" in result.stdout

    plain = publish(citizen.national_number)
    reading.mark_read(plain, actor="citizen")
    with pytest.raises(evidence.EvidenceUnavailable, match="registered mail"):
        evidence.build_evidence(plain, "reading")


def test_no_evidence_for_a_tampered_message(publish, citizen):
    message = publish(citizen.national_number)
    _tamper_digest(message)
    message = Message.objects.select_related("content", "sender_organisation", "sender_application").get(pk=message.pk)
    with pytest.raises(incidents.IntegrityFailure):
        evidence.build_evidence(message)
    assert IntegrityIncident.objects.get(message=message).detected_by == "evidence"


def _token(sender_application, scope: str = "evidence") -> str:
    application = Application.objects.create(
        name="sender",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    sender_application.oauth_application = application
    sender_application.save()
    token = f"tok-{application.pk}-{scope}"
    AccessToken.objects.create(
        application=application, token=token, scope=scope, expires=timezone.now() + dt.timedelta(minutes=5)
    )
    return token


def test_the_sender_downloads_evidence_through_the_api(client, publish, citizen, sender_application, tmp_path):
    message = publish(citizen.national_number)
    token = _token(sender_application)
    url = f"/api/v2/extensions/messages/{message.id}/evidence"

    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert _run_verifier(tmp_path, response.json()).returncode == 0

    assert client.get(url + "?kind=reading", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
    bad = client.get(url + "?kind=nonsense", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 400
    assert set(bad.json()) == {"id", "code", "message"}
    # Another application (even of another organisation) cannot see it; a token without the scope is refused.
    other = _token(SenderApplicationFactory())
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    no_scope = _token(SenderApplicationFactory(), scope="publication")
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {no_scope}").status_code == 403
    assert client.get(url).status_code == 401


def test_the_citizen_downloads_evidence_of_their_own_messages_only(client, publish, citizen):
    message = publish(citizen.national_number)
    url = f"/inbox/{message.id}/evidence.json"
    assert client.get(url).status_code == 302  # to the login

    stranger = get_user_model().objects.create_user("stranger")
    CitizenFactory(activated=True, user=stranger)
    client.force_login(stranger)
    assert client.get(url).status_code == 404

    owner = get_user_model().objects.create_user("owner")
    citizen.user = owner
    citizen.save()
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["evidence"]["messageId"] == str(message.id)


@pytest.mark.worker
def test_a_real_worker_runs_the_beat_jobs(celery_worker_process, publish, citizen):
    """The beat entries' tasks, run by a real worker: the sweep stores its progress, the audit head gets signed."""
    import time

    from audit import services as audit
    from audit.models import AuditCheckpoint
    from audit.tasks import sign_checkpoint
    from messages.tasks import sweep_integrity

    victim = publish(citizen.national_number)
    publish(citizen.national_number)
    _tamper_seal(victim)
    audit.record(method="POST", url="/api/v2/publishMessage", status_code=201, actor="client:x")
    sweep_integrity.delay()
    sign_checkpoint.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = IntegritySweep.objects.filter(name=integrity.SWEEP_NAME).first()
        if state and state.last_pass_finished_at and AuditCheckpoint.objects.exists():
            break
        time.sleep(0.2)
    assert state.last_pass_finished_at is not None
    assert IntegrityIncident.objects.get(message=victim).detected_by == "sweep"
    assert audit.verify().ok and audit.verify().checkpoints == 1
