"""Reading a sealed message: decryption, the seal checked, attachments streamed and verified; read and hidden.

Whatever fails a check is recorded as an incident (messages.services.incidents) and raised
as IntegrityFailure: the content is withheld. `seal_document_for` rebuilds what a stored
message's seal signs (for verification and evidence). Every read also checks the destination:
the recipient the seal names must be the mailbox the message is read from (`destination_problem`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from messages import blobs, crypto, signing
from messages.models import Attachment, Message, MessageContent, MessageEvent
from messages.services.incidents import IntegrityFailure, record_incident
from senders.callbacks import outbox as callback_outbox


@dataclass
class MessageText:
    subject: dict[str, str]
    body: dict[str, str] | None
    payment_data: dict | None
    business_data: list | None


def decrypt_text(content: MessageContent) -> MessageText:
    """Decrypt subject, body, payment and business data; raises crypto.DecryptionError."""
    return decrypt_fields(
        content.id,
        content.kek_id,
        content.wrapped_key,
        content.subject_ct,
        content.body_ct,
        content.payment_ct,
        content.business_ct,
    )


def decrypt_fields(content_id, kek_id, wrapped_key, subject_ct, body_ct, payment_ct, business_ct) -> MessageText:
    return decrypt_fields_with_key(
        crypto.unwrap_key(kek_id, wrapped_key), content_id, subject_ct, body_ct, payment_ct, business_ct
    )


def decrypt_fields_with_key(data_key: bytes, content_id, subject_ct, body_ct, payment_ct, business_ct) -> MessageText:
    """`decrypt_fields` with the data key already unwrapped (the sealer unwraps it once per content)."""
    plain = crypto.decrypt_fields(
        data_key,
        content_id,
        {"subject": subject_ct, "body": body_ct, "payment": payment_ct, "business": business_ct},
    )
    # Decoded first: json.loads on bytes spends time detecting their encoding.
    values = {name: None if blob is None else json.loads(blob.decode()) for name, blob in plain.items()}
    return MessageText(
        subject=values["subject"],
        body=values["body"],
        payment_data=values["payment"],
        business_data=values["business"],
    )


def sealed_timestamp(value: dt.datetime) -> str:
    """A time as seals sign it: UTC, microseconds, `Z`."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seal_document_for(
    message: Message,
    text: MessageText,
    attachments: list[Attachment],
    metas: dict | None = None,
    version: str = signing.SEAL_VERSION,
) -> dict:
    """The document the message's seal signs in `version`; `metas` are the decrypted file names and
    titles by attachment id (decrypted here when not given and the version needs them)."""
    if metas is None and version != signing.SEAL_VERSION_1:
        metas = attachment_metas(message, attachments)
    metas = metas or {}
    return signing.seal_document(
        message_id=str(message.id),
        sender_organisation=message.sender_organisation.enterprise_number,
        sender_application=message.sender_application.application_id,
        recipient_type=message.recipient_type,
        recipient_id=message.recipient_id,
        received_at=sealed_timestamp(message.received_at),
        expires_at=sealed_timestamp(message.expires_at),
        registered_mail=message.registered_mail,
        subject=text.subject,
        body=text.body,
        payment_data=text.payment_data,
        business_data=text.business_data,
        attachments=[
            {
                "attachmentId": str(a.id),
                "sha256": a.sha256,
                "mediaType": a.media_type,
                "size": a.size,
                "mainContent": a.main_content,
                "signed": a.signed,
                "fileName": metas.get(a.id, {}).get("fileName"),
                "title": metas.get(a.id, {}).get("title"),
            }
            for a in attachments
        ],
        message_type_id=message.message_type.message_type_id,
        reply_authorized=message.reply_authorized,
        body_main_content=message.body_main_content,
        original_message_id=str(message.original_message_id) if message.original_message_id else None,
        for_the_attention_of=message.for_the_attention_of,
        version=version,
    )


def attachment_metas(message: Message, attachments: list[Attachment]) -> dict:
    """File name and title of each attachment by id; raises crypto.DecryptionError or ValueError."""
    if not attachments:
        return {}
    data_key = crypto.unwrap_key(message.content.kek_id, message.content.wrapped_key)
    return {a.id: json.loads(crypto.decrypt_field(data_key, a.id, "meta", a.meta_ct)) for a in attachments}


def destination_problem(message: Message, reader=None) -> str | None:
    """Why the message may not be read from this mailbox, or None.

    The recipient is sealed (`recipient` in the seal document is the row's recipient_type and
    recipient_id), the mailbox is not: the row's citizen decides whose inbox shows it. So the
    citizen the message is read from (`reader`, else the row's citizen) must hold the sealed
    national number (an enterprise's eBox, its enterprise number).
    """
    citizen = message.citizen
    if reader is not None and (citizen is None or reader.pk != citizen.pk):
        return "read from a mailbox the message is not in"
    if citizen is None:
        # Enterprise messages stored before enterprises had mailboxes are in none.
        return "sealed for a citizen but in no mailbox" if message.recipient_type == "citizen" else None
    if not message.is_addressed_to(citizen):
        if message.recipient_type == Message.RecipientType.ENTERPRISE and not citizen.is_enterprise:
            return "sealed for an enterprise but in a citizen's mailbox"
        return "sealed for another recipient than the mailbox it is in"
    return None


def attachments_of(message: Message) -> list[Attachment]:
    # Use a prefetched list when the caller has one (the sweep), else query.
    return sorted(message.content.attachments.all(), key=lambda a: a.position)


def verified_seal(message: Message, detected_by: str = "read", reader=None) -> tuple[MessageText, dict]:
    """Decrypt a sealed message, check its seal and its destination: (text, the document the seal signs).

    The seal is tried against the document of each version, newest first (`signing.SEAL_VERSIONS`).
    `reader` is the citizen whose mailbox the message is read from (None: the row's citizen).
    On failure an incident is recorded and IntegrityFailure raised: the content is withheld.
    """
    if not message.seal or not message.seal_key_id:
        record_incident(message, detected_by, "message has no seal")
        raise IntegrityFailure("message has no seal")
    attachments = attachments_of(message)
    try:
        text = decrypt_text(message.content)
        metas = attachment_metas(message, attachments)
    except (crypto.DecryptionError, ValueError) as exc:
        record_incident(message, detected_by, f"content does not decrypt: {exc}")
        raise IntegrityFailure(str(exc)) from exc
    for version in signing.SEAL_VERSIONS:
        document = seal_document_for(message, text, attachments, metas, version)
        if signing.verify(document, message.seal_key_id, message.seal):
            break
    else:
        record_incident(message, detected_by, "seal does not match the content")
        raise IntegrityFailure("seal does not match the content")
    if problem := destination_problem(message, reader):
        record_incident(message, detected_by, problem)
        raise IntegrityFailure(problem)
    return text, document


def verified_text(message: Message, detected_by: str = "read", reader=None) -> MessageText:
    """Decrypt a sealed message and check its seal and destination; on failure record an incident
    and raise IntegrityFailure (see `verified_seal`).

    The seal covers the digests of subject, body, payment and business data, every attachment's
    SHA-256, file name and title, so this also proves the attachment digests we compare bytes to.
    """
    return verified_seal(message, detected_by, reader)[0]


def verified_blob(kek_id: str, wrapped_key: bytes, owner_id, blob_name: str, sha256: str, record_failure):
    """Yield the decrypted chunks of an encrypted blob; the last one only once the whole blob
    authenticated and its SHA-256 matched, so a client streaming it never receives the complete
    bytes of a damaged file. On failure `record_failure(reason)` runs and IntegrityFailure is raised."""
    digest = hashlib.sha256()
    pending = None
    try:
        data_key = crypto.unwrap_key(kek_id, bytes(wrapped_key))
        with blobs.open_encrypted(blob_name) as blob:
            for chunk in crypto.decrypt_stream(data_key, owner_id, "bytes", blob):
                digest.update(chunk)
                if pending is not None:
                    yield pending
                pending = chunk
    except (crypto.DecryptionError, OSError) as exc:
        record_failure(str(exc))
        raise IntegrityFailure(str(exc)) from exc
    if digest.hexdigest() != sha256:
        record_failure("digest mismatch")
        raise IntegrityFailure("attachment digest mismatch")
    if pending is not None:
        yield pending


def open_attachment(
    message: Message, attachment: Attachment, detected_by: str = "read", check_seal: bool = True, reader=None
):
    """Yield the decrypted bytes of an attachment, checking its SHA-256 against the sealed value.

    With check_seal (the default) the seal is verified first, so the digest compared to is the
    sealed one. The last chunk is yielded only after the whole blob authenticated and hashed,
    so a reader streaming to a client never receives the complete bytes of a damaged file.
    """
    if attachment.content_id != message.content_id:
        raise IntegrityFailure("attachment does not belong to this message")
    if check_seal:
        verified_text(message, detected_by, reader)
    yield from verified_blob(
        message.content.kek_id,
        message.content.wrapped_key,
        attachment.id,
        attachment.blob,
        attachment.sha256,
        lambda reason: record_incident(message, detected_by, f"attachment {attachment.id}: {reason}"),
    )


def attachment_meta(message: Message, attachment: Attachment, detected_by: str = "read") -> dict:
    """File name and title of an attachment; a failure to decrypt is an integrity incident."""
    try:
        data_key = crypto.unwrap_key(message.content.kek_id, message.content.wrapped_key)
        return json.loads(crypto.decrypt_field(data_key, attachment.id, "meta", attachment.meta_ct))
    except (crypto.DecryptionError, ValueError) as exc:
        record_incident(message, detected_by, f"attachment {attachment.id} name: {exc}")
        raise IntegrityFailure(str(exc)) from exc


def mark_read(message: Message, actor: str) -> bool:
    """Record the first opening of the main content; returns True the first time only."""
    now = timezone.now()
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now)
        if updated:
            MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.READ, at=now, actor=actor)
            callback_outbox.record("read", [message.pk], now)
            message.read_at = now
    return bool(updated)


def set_visibility(message: Message, visible: bool, actor: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if visible:
            updated = Message.objects.filter(pk=message.pk, hidden_at__isnull=False).update(hidden_at=None)
            kind = MessageEvent.Kind.UNHIDDEN
        else:
            updated = Message.objects.filter(pk=message.pk, hidden_at__isnull=True).update(hidden_at=now)
            kind = MessageEvent.Kind.HIDDEN
        if updated:
            MessageEvent.objects.create(message=message, kind=kind, at=now, actor=actor)
            message.hidden_at = None if visible else now
