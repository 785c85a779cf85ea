"""Trust on read: a message or reply moved to another mailbox, what the seal covers, what the page claims.

Each test causes the fault in PostgreSQL or in the attachment store (raw SQL, rewritten
blobs), then reads through the real entry points: the portal, the partner API, the
evidence endpoints, the integrity sweep, and the standalone verifier as a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from citizens import services as citizen_services
from messages import crypto, evidence, integrity, signing
from messages.models import Attachment, IntegrityIncident, IntegritySweep, Message, Reply
from messages.services import incidents, reading, replies
from tests.factories import CitizenFactory, MessageTypeFactory

ROOT = Path(__file__).resolve().parent.parent
VERIFIER = ROOT / "messages" / "verify_evidence.py"


def _with_user(citizen, name: str):
    citizen.user = get_user_model().objects.create_user(name)
    citizen.save()
    return citizen


def _sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _loaded(message_id) -> Message:
    return Message.objects.select_related(
        "content", "sender_organisation", "sender_application", "message_type", "citizen"
    ).get(pk=message_id)


def _resolve_all() -> None:
    # Incidents are recorded once while open: resolve them so the next reader's detection shows.
    IntegrityIncident.objects.update(resolved_at=timezone.now())
    Message.objects.update(integrity_failed_at=None)


def _open_incident(message_id, detected_by: str) -> IntegrityIncident:
    return IntegrityIncident.objects.get(message_id=message_id, resolved_at=None, detected_by=detected_by)


def _partner_token(citizen) -> str:
    partner, _secret = citizen_services.create_partner_application(
        name={"fr": "Coffre", "nl": "Kluis"}, redirect_uris=["https://partner.example/cb"], scopes=["ebox.read"]
    )
    citizen_services.grant_partner_access(citizen, partner, ["ebox.read"])
    token = f"partner-{uuid.uuid4().hex}"
    AccessToken.objects.create(
        user=citizen.user,
        application=partner.oauth_application,
        token=token,
        scope="ebox.read",
        expires=timezone.now() + dt.timedelta(minutes=5),
    )
    return token


def _sender_token(sender_application) -> str:
    application = Application.objects.create(
        name="sender",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    sender_application.oauth_application = application
    sender_application.save()
    token = f"sender-{uuid.uuid4().hex}"
    AccessToken.objects.create(
        application=application, token=token, scope="evidence", expires=timezone.now() + dt.timedelta(minutes=5)
    )
    return token


def _sweep_all() -> integrity.SweepResult:
    IntegritySweep.objects.filter(name=integrity.SWEEP_NAME).delete()
    return integrity.sweep()


# --- Destination ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_message_moved_to_another_mailbox_is_withheld_everywhere(client, publish, citizen, sender_application):
    marker = "MOVED-SUBJECT-4471"
    message = publish(citizen.national_number, subject={"fr": marker, "nl": marker})
    other = _with_user(CitizenFactory(activated=True), "other")
    _sql("UPDATE mailbox_message SET citizen_id = %s WHERE id = %s", other.pk, message.pk)

    # The portal: the message is in the other citizen's inbox, but neither the list nor the page shows it.
    client.force_login(other.user)
    client.cookies["ebox_language"] = "en"
    inbox = client.get("/inbox/")
    assert inbox.status_code == 200 and marker not in inbox.content.decode()
    page = client.get(f"/inbox/{message.pk}/")
    assert page.status_code == 200
    assert marker not in page.content.decode()
    assert "Verified" not in page.content.decode()
    assert "This message cannot be shown" in page.content.decode()
    assert "mailbox" in _open_incident(message.pk, "read").reason
    assert f"/inbox/{message.pk}/" not in client.get(f"/inbox/?q={marker}").content.decode()  # search never matches it

    # The citizen's evidence download.
    _resolve_all()
    assert client.get(f"/inbox/{message.pk}/evidence.json").status_code == 409
    _open_incident(message.pk, "evidence")

    # The sender's evidence through the API.
    _resolve_all()
    token = _sender_token(sender_application)
    response = client.get(f"/api/v2/extensions/messages/{message.pk}/evidence", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409, response.content
    _open_incident(message.pk, "evidence")

    # A partner app acting for the other citizen.
    _resolve_all()
    client.logout()
    token = _partner_token(other)
    response = client.get(f"/api/v2/ebox/messages/{message.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 409, response.content
    assert marker not in response.content.decode()
    assert IntegrityIncident.objects.filter(
        message=message, resolved_at=None, detected_by__startswith="partner:"
    ).exists()

    # The sweep (and verify_integrity, which runs it).
    _resolve_all()
    assert _sweep_all().failed == 1
    _open_incident(message.pk, "sweep")

    # Moved back, it reads again.
    _resolve_all()
    _sql("UPDATE mailbox_message SET citizen_id = %s WHERE id = %s", citizen.pk, message.pk)
    assert marker in reading.verified_text(_loaded(message.pk), reader=citizen).subject["fr"]


def test_a_message_moved_together_with_its_recipient_number_fails_its_seal(publish, citizen):
    message = publish(citizen.national_number)
    other = CitizenFactory(activated=True)
    _sql(
        "UPDATE mailbox_message SET citizen_id = %s, recipient_id = %s WHERE id = %s",
        other.pk,
        other.national_number,
        message.pk,
    )
    with pytest.raises(incidents.IntegrityFailure, match="seal does not match"):
        reading.verified_text(_loaded(message.pk), reader=other)


def test_a_reader_other_than_the_mailbox_is_refused(publish, citizen):
    message = publish(citizen.national_number)
    with pytest.raises(incidents.IntegrityFailure, match="mailbox"):
        reading.verified_text(_loaded(message.pk), reader=CitizenFactory())


def _reply_to(message: Message, citizen, text: str = "Ma réponse") -> Reply:
    Message.objects.filter(pk=message.pk).update(reply_authorized=True)
    message.refresh_from_db()
    return replies.reply_to_message(message, citizen, text)


def _loaded_reply(reply_id) -> Reply:
    return Reply.objects.select_related("citizen", "message", "sender_organisation").get(pk=reply_id)


@pytest.mark.django_db(transaction=True)
def test_a_reply_moved_to_another_mailbox_is_withheld(client, publish, citizen):
    # The reply seal covers the message type's reply flag only through the message's seal: the
    # message is published allowing replies, so its seal stays valid.
    message = publish(citizen.national_number, reply_authorized=True)
    reply = replies.reply_to_message(message, citizen, "REPLY-TEXT-9931")
    other = _with_user(CitizenFactory(activated=True), "other-reply")
    other_message = publish(other.national_number, reply_authorized=True)

    # The reply moved to the other citizen's message: their page withholds it.
    _sql(
        "UPDATE mailbox_reply SET citizen_id = %s, message_id = %s WHERE id = %s", other.pk, other_message.pk, reply.pk
    )
    client.force_login(other.user)
    page = client.get(f"/inbox/{other_message.pk}/").content.decode()
    assert "REPLY-TEXT-9931" not in page
    assert IntegrityIncident.objects.filter(message=other_message, reason__startswith=f"reply {reply.pk}").exists()
    _resolve_all()
    assert integrity.check_reply(_loaded_reply(reply.pk)) is not None

    # Put back, then the message (with its reply) moved: the reply no longer answers a message
    # of its author's mailbox, for every reader of it (the sender's API, the sweep).
    _resolve_all()
    _sql("UPDATE mailbox_reply SET citizen_id = %s, message_id = %s WHERE id = %s", citizen.pk, message.pk, reply.pk)
    assert replies.verified_reply(_loaded_reply(reply.pk), reader=citizen).text == "REPLY-TEXT-9931"
    _sql("UPDATE mailbox_message SET citizen_id = %s WHERE id = %s", other.pk, message.pk)
    with pytest.raises(incidents.IntegrityFailure, match="mailbox"):
        replies.verified_reply(_loaded_reply(reply.pk), detected_by="api")
    _resolve_all()
    reason = integrity.check_reply(_loaded_reply(reply.pk))
    assert reason and "mailbox" in reason
    assert IntegrityIncident.objects.filter(message=message, resolved_at=None, detected_by="sweep").exists()
    # And read by someone else than its author.
    _sql("UPDATE mailbox_message SET citizen_id = %s WHERE id = %s", citizen.pk, message.pk)
    with pytest.raises(incidents.IntegrityFailure, match="another citizen"):
        replies.verified_reply(_loaded_reply(reply.pk), reader=other)


# --- What the seal covers -------------------------------------------------------


def _rewrite_meta(message: Message, **changes) -> None:
    """Re-encrypt an attachment's file name / title under the message's own data key (an insider with the KEK)."""
    attachment = Attachment.objects.get(content_id=message.content_id)
    data_key = crypto.unwrap_key(message.content.kek_id, message.content.wrapped_key)
    meta = json.loads(crypto.decrypt_field(data_key, attachment.id, "meta", attachment.meta_ct))
    meta.update(changes)
    meta_ct = crypto.encrypt_field(data_key, attachment.id, "meta", json.dumps(meta).encode())
    _sql("UPDATE mailbox_attachment SET meta_ct = %s WHERE id = %s", meta_ct, attachment.pk)


def _change_type(message: Message) -> None:
    other = MessageTypeFactory(organisation=message.sender_organisation)
    _sql("UPDATE mailbox_message SET message_type_id = %s WHERE id = %s", other.pk, message.pk)


CHANGES = {
    "message type": _change_type,
    "reply allowed": lambda m: _sql(
        "UPDATE mailbox_message SET reply_authorized = NOT reply_authorized WHERE id = %s", m.pk
    ),
    "body is main content": lambda m: _sql(
        "UPDATE mailbox_message SET body_main_content = NOT body_main_content WHERE id = %s", m.pk
    ),
    "attention of": lambda m: _sql(
        """UPDATE mailbox_message SET for_the_attention_of = '{"name": "Someone else"}' WHERE id = %s""", m.pk
    ),
    "main content flag": lambda m: _sql(
        "UPDATE mailbox_attachment SET main_content = NOT main_content WHERE content_id = %s", m.content_id
    ),
    "file name": lambda m: _rewrite_meta(m, fileName="pay-now.pdf"),
    "title": lambda m: _rewrite_meta(m, title={"fr": "Mise en demeure"}),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_the_seal_covers_what_the_reader_is_shown(publish, citizen, change):
    message = publish(citizen.national_number)
    assert reading.verified_seal(_loaded(message.pk))[1]["version"] == signing.SEAL_VERSION
    CHANGES[change](_loaded(message.pk))
    with pytest.raises(incidents.IntegrityFailure, match="seal does not match"):
        reading.verified_text(_loaded(message.pk))
    assert _sweep_all().failed == 1


def test_the_seal_holds_digests_of_names_and_titles_never_the_text(publish, citizen):
    message = publish(citizen.national_number)
    _text, document = reading.verified_seal(_loaded(message.pk))
    attachment = document["attachments"][0]
    assert attachment["fileNameSha256"] == signing.sha256_hex(b"letter.pdf")
    assert attachment["mainContent"] is True and attachment["titleSha256"] == {}
    assert "letter.pdf" not in json.dumps(document)
    assert document["messageTypeId"] == message.message_type.message_type_id
    assert document["replyAuthorized"] is False


def test_a_version_1_seal_still_verifies_under_its_own_rules(publish, citizen):
    message = _loaded(publish(citizen.national_number).pk)
    text = reading.decrypt_text(message.content)
    old = reading.seal_document_for(message, text, reading.attachments_of(message), version=signing.SEAL_VERSION_1)
    kid, seal = signing.sign(old)
    Message.objects.filter(pk=message.pk).update(seal=seal, seal_key_id=kid)
    _text, document = reading.verified_seal(_loaded(message.pk))
    assert document == old and document["version"] == "ebox-seal-1"
    # Version 1 did not cover the file name: the old rules are the old rules.
    _rewrite_meta(message, fileName="renamed.pdf")
    reading.verified_text(_loaded(message.pk))
    # But the fields it covered still count.
    _sql("UPDATE mailbox_message SET registered_mail = NOT registered_mail WHERE id = %s", message.pk)
    with pytest.raises(incidents.IntegrityFailure):
        reading.verified_text(_loaded(message.pk))


# --- Keys and the standalone verifier --------------------------------------------


def test_the_jwks_gives_each_key_its_validity_period(client, db):
    first = client.get("/.well-known/jwks.json").json()["keys"]
    current = signing.load_seal_keys()[0]
    entry = next(k for k in first if k["kid"] == current)
    assert entry["ebox_valid_until"] is None
    assert entry["ebox_valid_from"] <= timezone.now().isoformat()[:26] + "Z"
    new_kid, _ = signing.add_seal_key(valid_from=timezone.now())
    try:
        keys = {k["kid"]: k for k in signing.jwks()["keys"]}
        assert keys[new_kid]["ebox_valid_until"] is None
        assert keys[current]["ebox_valid_until"] == keys[new_kid]["ebox_valid_from"]
        assert keys[current]["ebox_valid_from"] <= keys[current]["ebox_valid_until"]
    finally:
        signing.add_seal_key(valid_from=timezone.now())  # later tests sign with a fresh key; old ones stay published


def _verify(tmp_path: Path, document: dict, jwks: dict) -> subprocess.CompletedProcess:
    (tmp_path / "evidence.json").write_text(json.dumps(document, ensure_ascii=False))
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(tmp_path / "evidence.json"), "--jwks", str(tmp_path / "jwks.json")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )


def test_the_standalone_verifier_needs_only_the_served_jwks(client, tmp_path, publish, citizen):
    message = publish(citizen.national_number, subject={"fr": "Évidence « vérifiée »"})
    document = evidence.build_evidence(_loaded(message.pk))
    served = client.get("/.well-known/jwks.json").json()
    result = _verify(tmp_path, document, served)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ebox-seal-2" in result.stdout

    # A key used outside its published period does not verify.
    kid = document["evidence"]["seal"]["kid"]
    expired = json.loads(json.dumps(served))
    for key in expired["keys"]:
        if key["kid"] == kid:
            key["ebox_valid_until"] = "2000-01-01T00:00:00.000000Z"
    result = _verify(tmp_path, document, expired)
    assert result.returncode == 1 and "validity" in result.stdout, result.stdout


# --- What the message page claims -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_message_whose_attachment_fails_never_says_verified(client, publish, citizen):
    _with_user(citizen, "page-reader")
    message = publish(citizen.national_number)
    client.force_login(citizen.user)
    client.cookies["ebox_language"] = "en"
    page = client.get(f"/inbox/{message.pk}/").content.decode()
    assert "Verified: sealed by eBox" in page

    attachment = Attachment.objects.get(content_id=message.content_id)
    path = Path(default_storage.path(attachment.blob))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    response = client.get(f"/inbox/{message.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Verified: sealed by eBox" not in page
    assert "Not verified: an integrity check of this message failed" in page
    assert "failed its integrity check and is withheld" in page
    assert f"/inbox/{message.pk}/attachments/{attachment.pk}" not in page  # no link to the damaged file
    assert IntegrityIncident.objects.filter(message=message, reason__startswith=f"attachment {attachment.pk}").exists()
