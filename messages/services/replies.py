"""Citizens' replies to messages: stored encrypted and sealed like a publication, read only verified.

A failed check is an incident on the message replied to (`incidents.record_reply_incident`);
the reply's content is withheld, the message itself stays readable. Reading a reply also checks
its destination: the citizen and the message its seal names must be the reply's message's
recipient and mailbox (and the reader's, when a citizen reads it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from uuid6 import uuid7

from citizens.models import AccessLogEntry
from citizens.services import log_access
from messages import crypto, signing
from messages.models import Message, MessageEvent, Reply
from messages.services.incidents import IntegrityFailure, record_reply_incident
from messages.services.publishing import AttachmentUpload, delete_blobs, json_bytes, store_encrypted_blob
from messages.services.reading import sealed_timestamp, verified_blob


class ReplyNotAllowed(Exception):
    """The sender did not allow replies to this message, or it is not the citizen's."""


# The reply seal's document has not changed since the first version (messages' seals have).
REPLY_SEAL_VERSION = signing.SEAL_VERSION_1


def reply_document(reply, text: str) -> dict:
    """What a reply's seal signs: identifiers and digests, never the text itself."""
    return {
        "version": REPLY_SEAL_VERSION,
        "type": "reply",
        "replyId": str(reply.id),
        "messageId": str(reply.message_id),
        "senderOrganizationId": reply.sender_organisation.enterprise_number,
        "citizen": reply.citizen.national_number,
        "createdAt": sealed_timestamp(reply.created_at),
        "textSha256": signing.sha256_hex(text.encode()),
        "attachmentSha256": reply.attachment_sha256 or None,
    }


def reply_to_message(message: Message, citizen, text: str, attachment: AttachmentUpload | None = None):
    """Store a citizen's reply: encrypted like a publication, sealed, with a `replied` event.

    The caller has validated the text and the attachment's type (PDF) and size.
    """
    if not message.reply_authorized or message.citizen_id != citizen.pk or message.status != Message.Status.SEALED:
        raise ReplyNotAllowed(str(message.pk))
    reply = Reply(id=uuid7(), message=message, citizen=citizen, sender_organisation=message.sender_organisation)
    data_key = crypto.new_data_key()
    reply.kek_id, reply.wrapped_key = crypto.wrap_key(data_key)
    reply.text_ct = crypto.encrypt_field(data_key, reply.id, "text", text.encode())
    written: list[str] = []
    try:
        if attachment is not None:
            reply.attachment_meta_ct = crypto.encrypt_field(
                data_key, reply.id, "meta", json_bytes({"fileName": attachment.file_name})
            )
            reply.attachment_media_type = attachment.media_type
            reply.attachment_size, reply.attachment_sha256, reply.attachment_blob = store_encrypted_blob(
                data_key, reply.id, attachment.file, "replies"
            )
            written.append(reply.attachment_blob)
        with transaction.atomic():
            reply.created_at = timezone.now()
            reply.seal_key_id, reply.seal = signing.sign(reply_document(reply, text))
            reply.save(force_insert=True)
            MessageEvent.objects.create(
                message=message,
                kind=MessageEvent.Kind.REPLIED,
                at=reply.created_at,
                actor="citizen",
                detail={"replyId": str(reply.id)},
            )
            log_access(citizen, message, AccessLogEntry.Action.REPLIED)
    except BaseException:
        delete_blobs(written)
        raise
    return reply


@dataclass
class ReplyText:
    """A reply's decrypted content, its seal checked."""

    text: str
    attachment_file_name: str | None = None


def reply_destination_problem(reply, reader=None) -> str | None:
    """Why this reply may not be read as its message's recipient's, or None.

    The seal names the citizen and the message (`reply_document`, built from the reply's row):
    that citizen must be the one whose mailbox holds the message and whose national number the
    message is addressed to, the organisation the message's sender, and `reader` (a citizen
    reading it) that citizen.
    """
    message = reply.message
    if reader is not None and reader.pk != reply.citizen_id:
        return "reply read by another citizen than its author"
    if message.citizen_id != reply.citizen_id:
        return "reply's citizen is not in the mailbox of the message it answers"
    if not message.is_addressed_to(reply.citizen):
        return "reply's citizen is not the recipient of the message it answers"
    if message.sender_organisation_id != reply.sender_organisation_id:
        return "reply goes to another organisation than the message's sender"
    return None


def verified_reply(reply, detected_by: str = "read", reader=None) -> ReplyText:
    """Decrypt a reply and check its seal (which covers the text's and the attachment's digests)
    and its destination (`reply_destination_problem`); on failure record an incident and raise
    IntegrityFailure. `reply` should come with its citizen, message and sender organisation
    selected (the sealed document names them)."""
    if not reply.seal or not reply.seal_key_id:
        record_reply_incident(reply, detected_by, "reply has no seal")
        raise IntegrityFailure("reply has no seal")
    try:
        data_key = crypto.unwrap_key(reply.kek_id, bytes(reply.wrapped_key))
        text = crypto.decrypt_field(data_key, reply.id, "text", reply.text_ct).decode()
        file_name = None
        if reply.attachment_meta_ct:
            file_name = json.loads(crypto.decrypt_field(data_key, reply.id, "meta", reply.attachment_meta_ct)).get(
                "fileName"
            )
    except (crypto.DecryptionError, ValueError) as exc:
        record_reply_incident(reply, detected_by, f"content does not decrypt: {exc}")
        raise IntegrityFailure(str(exc)) from exc
    if not signing.verify(reply_document(reply, text), reply.seal_key_id, bytes(reply.seal)):
        record_reply_incident(reply, detected_by, "seal does not match the content")
        raise IntegrityFailure("seal does not match the content")
    if problem := reply_destination_problem(reply, reader):
        record_reply_incident(reply, detected_by, problem)
        raise IntegrityFailure(problem)
    return ReplyText(text=text, attachment_file_name=file_name)


def open_reply_attachment(reply, detected_by: str = "read", reader=None):
    """Yield the decrypted bytes of a reply's attachment, the seal checked first and the SHA-256
    (sealed) checked before the last chunk is yielded, as `open_attachment` does for messages."""
    if not reply.attachment_blob:
        raise FileNotFoundError(f"reply {reply.id} has no attachment")
    verified_reply(reply, detected_by, reader)
    yield from verified_blob(
        reply.kek_id,
        reply.wrapped_key,
        reply.id,
        reply.attachment_blob,
        reply.attachment_sha256,
        lambda reason: record_reply_incident(reply, detected_by, f"attachment: {reason}"),
    )
