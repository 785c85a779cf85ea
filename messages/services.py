"""State changes of messages: publish, seal, read, archive, expire, re-dispatch.

The only code that writes messages. Views, serializers and tasks call these functions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from citizens.selectors import channel_for
from citizens.services import citizen_for_number
from messages import crypto, sealing
from messages.models import Attachment, IntegrityIncident, Message, MessageContent, MessageEvent
from messages.notifications import services as notifications
from senders.models import MessageType, SenderApplication

logger = logging.getLogger(__name__)


class DuplicatePublication(Exception):
    """The sender application already used this Idempotency-Key."""

    def __init__(self, message_id: uuid.UUID):
        super().__init__(f"Idempotency-Key already used for message {message_id}")
        self.message_id = message_id


class IntegrityFailure(Exception):
    """A message's ciphertext, digests or seal do not check out; its content is withheld."""


@dataclass
class AttachmentUpload:
    """A validated attachment: bytes in a (possibly temporary) file, type detected from the bytes."""

    file: BinaryIO
    file_name: str
    media_type: str
    main_content: bool = False
    signed: bool = False
    title: dict[str, str] = field(default_factory=dict)


@dataclass
class NewMessage:
    """A validated publication for one recipient (the API layer checks shapes and ownership)."""

    sender_application: SenderApplication
    message_type: MessageType
    recipient_type: str
    recipient_id: str
    subject: dict[str, str]
    body: dict[str, str] | None = None
    body_main_content: bool = False
    payment_data: dict | None = None
    business_data: list | None = None
    registered_mail: bool = False
    reply_authorized: bool = False
    for_the_attention_of: dict | None = None
    original_message: Message | None = None
    expires_at: dt.datetime | None = None
    idempotency_key: str | None = None
    attachments: list[AttachmentUpload] = field(default_factory=list)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _payment_due_on(payment_data: dict | None) -> dt.date | None:
    if not payment_data or not payment_data.get("dueDate"):
        return None
    try:
        return dt.date.fromisoformat(str(payment_data["dueDate"])[:10])
    except ValueError:
        return None


def _build_content(new: NewMessage, written_blobs: list[str]) -> tuple[MessageContent, list[Attachment]]:
    """Encrypt a publication's content; attachment blobs go to storage (their names into written_blobs)."""
    content = MessageContent(id=uuid.uuid4(), sender_organisation=new.sender_application.organisation)
    data_key = crypto.new_data_key()
    content.kek_id, content.wrapped_key = crypto.wrap_key(data_key)
    content.subject_ct = crypto.encrypt_field(data_key, content.id, "subject", _json(new.subject))
    content.subject_languages = sorted(k for k, v in new.subject.items() if v)
    if new.body:
        content.body_ct = crypto.encrypt_field(data_key, content.id, "body", _json(new.body))
        content.body_languages = sorted(k for k, v in new.body.items() if v)
    if new.payment_data:
        content.payment_ct = crypto.encrypt_field(data_key, content.id, "payment", _json(new.payment_data))
    if new.business_data:
        content.business_ct = crypto.encrypt_field(data_key, content.id, "business", _json(new.business_data))
    attachments = []
    for position, upload in enumerate(new.attachments, start=1):
        attachment = Attachment(
            id=uuid.uuid4(),
            content=content,
            position=position,
            main_content=upload.main_content,
            signed=upload.signed,
            media_type=upload.media_type,
        )
        attachment.meta_ct = crypto.encrypt_field(
            data_key, attachment.id, "meta", _json({"fileName": upload.file_name, "title": upload.title})
        )
        upload.file.seek(0)
        with tempfile.TemporaryFile() as encrypted:
            attachment.size, attachment.sha256 = crypto.encrypt_stream(
                data_key, attachment.id, "bytes", upload.file, encrypted
            )
            encrypted.seek(0)
            attachment.blob = default_storage.save(f"attachments/{attachment.id}.bin", File(encrypted))
        written_blobs.append(attachment.blob)
        attachments.append(attachment)
    return content, attachments


def _new_message_row(new: NewMessage, content: MessageContent, recipient_id: str, now: dt.datetime) -> Message:
    organisation = new.sender_application.organisation
    citizen = citizen_for_number(recipient_id) if new.recipient_type == Message.RecipientType.CITIZEN else None
    return Message(
        id=uuid.uuid4(),
        content=content,
        sender_organisation=organisation,
        sender_application=new.sender_application,
        message_type=new.message_type,
        recipient_type=new.recipient_type,
        recipient_id=recipient_id,
        citizen=citizen,
        original_message=new.original_message,
        for_the_attention_of=new.for_the_attention_of,
        registered_mail=new.registered_mail,
        reply_authorized=new.reply_authorized,
        body_main_content=new.body_main_content,
        payment_due_on=_payment_due_on(new.payment_data),
        channel=channel_for(citizen, organisation, now.date()) if citizen else Message.Channel.DIGITAL,
        status=Message.Status.ACCEPTED,
        received_at=now,
        expires_at=new.expires_at or new.message_type.expiration_from(now),
        idempotency_key=new.idempotency_key,
    )


def _delete_blobs(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # pragma: no cover - best effort: an orphan blob is unreadable ciphertext
            logger.warning("could not delete orphan blob %s", name)


def publish_message(new: NewMessage) -> Message:
    """Store one message for one recipient: encrypted, `accepted`, its sealing scheduled after commit.

    Raises DuplicatePublication when the Idempotency-Key was used before by this application;
    in that case, as on any failure, nothing is stored (blobs written so far are removed).
    """
    if new.idempotency_key:
        first = (
            Message.objects.filter(sender_application=new.sender_application, idempotency_key=new.idempotency_key)
            .values_list("id", flat=True)
            .first()
        )
        if first:
            raise DuplicatePublication(first)
    written: list[str] = []
    try:
        content, attachments = _build_content(new, written)
        now = timezone.now()
        with transaction.atomic():
            message = _new_message_row(new, content, new.recipient_id, now)
            content.save(force_insert=True)
            Attachment.objects.bulk_create(attachments)
            message.save(force_insert=True)
            MessageEvent.objects.create(
                message=message, kind=MessageEvent.Kind.ACCEPTED, at=now, actor=new.sender_application.application_id
            )
            transaction.on_commit(lambda: dispatch_sealing([message.id]))
    except IntegrityError as exc:
        _delete_blobs(written)
        if new.idempotency_key and "message_idempotency_key_per_application" in str(exc):
            first = (
                Message.objects.filter(sender_application=new.sender_application, idempotency_key=new.idempotency_key)
                .values_list("id", flat=True)
                .first()
            )
            raise DuplicatePublication(first) from exc
        raise
    except BaseException:
        _delete_blobs(written)
        raise
    return message


def link_message(original: Message, recipients: list[tuple[str, str]]) -> list[Message]:
    """Give the same stored content to more recipients (`/linkEboxMessage`); one message each."""
    now = timezone.now()
    messages = []
    with transaction.atomic():
        for recipient_type, recipient_id in recipients:
            citizen = citizen_for_number(recipient_id) if recipient_type == Message.RecipientType.CITIZEN else None
            messages.append(
                Message(
                    id=uuid.uuid4(),
                    content_id=original.content_id,
                    sender_organisation_id=original.sender_organisation_id,
                    sender_application_id=original.sender_application_id,
                    message_type_id=original.message_type_id,
                    recipient_type=recipient_type,
                    recipient_id=recipient_id,
                    citizen=citizen,
                    registered_mail=original.registered_mail,
                    reply_authorized=original.reply_authorized,
                    body_main_content=original.body_main_content,
                    payment_due_on=original.payment_due_on,
                    channel=channel_for(citizen, original.sender_organisation, now.date())
                    if citizen
                    else Message.Channel.DIGITAL,
                    status=Message.Status.ACCEPTED,
                    received_at=now,
                    expires_at=original.expires_at,
                )
            )
        Message.objects.bulk_create(messages)
        MessageEvent.objects.bulk_create(
            [
                MessageEvent(
                    message=m, kind=MessageEvent.Kind.ACCEPTED, at=now, actor=original.sender_application.application_id
                )
                for m in messages
            ]
        )
        ids = [m.id for m in messages]
        transaction.on_commit(lambda: dispatch_sealing(ids))
    return messages


# --- Sealing -------------------------------------------------------------------

SEAL_BATCH = 500


def dispatch_sealing(message_ids: list[uuid.UUID]) -> None:
    """Queue sealing after commit. If the broker is down the rows stay `accepted` and beat retries."""
    from messages.tasks import seal_messages

    for start in range(0, len(message_ids), SEAL_BATCH):
        chunk = [str(i) for i in message_ids[start : start + SEAL_BATCH]]
        try:
            seal_messages.delay(chunk)
        except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
            logger.warning("broker unavailable: %d message(s) will be sealed by the re-dispatch job", len(chunk))
            return


@dataclass
class MessageText:
    subject: dict[str, str]
    body: dict[str, str] | None
    payment_data: dict | None
    business_data: list | None


def decrypt_text(content: MessageContent) -> MessageText:
    """Decrypt subject, body, payment and business data; raises crypto.DecryptionError."""
    data_key = crypto.unwrap_key(content.kek_id, content.wrapped_key)

    def field_value(name: str, blob: bytes | None) -> object | None:
        if blob is None:
            return None
        return json.loads(crypto.decrypt_field(data_key, content.id, name, blob))

    return MessageText(
        subject=field_value("subject", content.subject_ct),
        body=field_value("body", content.body_ct),
        payment_data=field_value("payment", content.payment_ct),
        business_data=field_value("business", content.business_ct),
    )


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def seal_document_for(message: Message, text: MessageText, attachments: list[Attachment]) -> dict:
    return sealing.seal_document(
        message_id=str(message.id),
        sender_organisation=message.sender_organisation.enterprise_number,
        sender_application=message.sender_application.application_id,
        recipient_type=message.recipient_type,
        recipient_id=message.recipient_id,
        received_at=_timestamp(message.received_at),
        expires_at=_timestamp(message.expires_at),
        registered_mail=message.registered_mail,
        subject=text.subject,
        body=text.body,
        payment_data=text.payment_data,
        business_data=text.business_data,
        attachments=[
            {"attachmentId": str(a.id), "sha256": a.sha256, "mediaType": a.media_type, "size": a.size}
            for a in attachments
        ],
    )


def seal_messages(message_ids: Iterable[uuid.UUID | str]) -> int:
    """Seal the given messages that are still `accepted`; return how many were sealed.

    Idempotent: rows are locked (SKIP LOCKED, so a concurrent sealer takes others) and
    only `accepted` ones are sealed, so a task that runs twice has one effect.
    """
    with transaction.atomic():
        messages = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(id__in=list(message_ids), status=Message.Status.ACCEPTED)
            .select_related("content", "sender_organisation", "sender_application")
        )
        if not messages:
            return 0
        attachments: dict[uuid.UUID, list[Attachment]] = {}
        for attachment in Attachment.objects.filter(content_id__in={m.content_id for m in messages}):
            attachments.setdefault(attachment.content_id, []).append(attachment)
        texts: dict[uuid.UUID, MessageText] = {}
        now = timezone.now()
        events = []
        for message in messages:
            if message.content_id not in texts:
                texts[message.content_id] = decrypt_text(message.content)
            document = seal_document_for(
                message,
                texts[message.content_id],
                sorted(attachments.get(message.content_id, []), key=lambda a: a.position),
            )
            message.seal_key_id, message.seal = sealing.sign(document)
            message.status = Message.Status.SEALED
            message.sealed_at = now
            events.append(
                MessageEvent(
                    message=message,
                    kind=MessageEvent.Kind.SEALED,
                    at=now,
                    actor="platform",
                    detail={"kid": message.seal_key_id},
                )
            )
        Message.objects.bulk_update(messages, ["seal", "seal_key_id", "status", "sealed_at"])
        MessageEvent.objects.bulk_create(events)
        # Available now: in the same transaction, record the e-mails this makes owed (one statement).
        notifications.owe_new_mail(messages)
    return len(messages)


def redispatch_pending(older_than: dt.timedelta | None = None, limit: int = 50_000) -> int:
    """Seal what a lost task or a broker outage left `accepted`. Run by beat; PostgreSQL is the record."""
    cutoff = timezone.now() - (older_than if older_than is not None else settings.EBOX_REDISPATCH_AFTER)
    ids = list(
        Message.objects.filter(status=Message.Status.ACCEPTED, received_at__lte=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    sealed = 0
    for start in range(0, len(ids), SEAL_BATCH):
        sealed += seal_messages(ids[start : start + SEAL_BATCH])
    return sealed


# --- Reading -------------------------------------------------------------------


def record_incident(message: Message, detected_by: str, reason: str) -> IntegrityIncident:
    """Record a failed integrity check (its own transaction: it must survive the reader's rollback)."""
    with transaction.atomic():
        now = timezone.now()
        Message.objects.filter(pk=message.pk, integrity_failed_at__isnull=True).update(integrity_failed_at=now)
        MessageEvent.objects.create(
            message=message,
            kind=MessageEvent.Kind.INTEGRITY_FAILED,
            at=now,
            actor=detected_by,
            detail={"reason": reason},
        )
        incident = IntegrityIncident.objects.create(message=message, detected_by=detected_by, reason=reason)
    logger.error("integrity failure on message %s (%s): %s", message.pk, detected_by, reason)
    return incident


def verified_text(message: Message, detected_by: str = "read") -> MessageText:
    """Decrypt a sealed message and check its seal; on failure record an incident and raise IntegrityFailure."""
    attachments = list(message.content.attachments.all())
    try:
        text = decrypt_text(message.content)
    except crypto.DecryptionError as exc:
        record_incident(message, detected_by, f"content does not decrypt: {exc}")
        raise IntegrityFailure(str(exc)) from exc
    document = seal_document_for(message, text, attachments)
    if not sealing.verify(document, message.seal_key_id, message.seal):
        record_incident(message, detected_by, "seal does not match the content")
        raise IntegrityFailure("seal does not match the content")
    return text


def open_attachment(message: Message, attachment: Attachment, detected_by: str = "read"):
    """Yield the decrypted bytes of an attachment, checking its SHA-256 against the sealed value."""
    import hashlib

    data_key = crypto.unwrap_key(message.content.kek_id, message.content.wrapped_key)
    digest = hashlib.sha256()
    try:
        with default_storage.open(attachment.blob, "rb") as blob:
            for chunk in crypto.decrypt_stream(data_key, attachment.id, "bytes", blob):
                digest.update(chunk)
                yield chunk
    except (crypto.DecryptionError, FileNotFoundError) as exc:
        record_incident(message, detected_by, f"attachment {attachment.id}: {exc}")
        raise IntegrityFailure(str(exc)) from exc
    if digest.hexdigest() != attachment.sha256:
        record_incident(message, detected_by, f"attachment {attachment.id}: digest mismatch")
        raise IntegrityFailure("attachment digest mismatch")


def attachment_meta(message: Message, attachment: Attachment) -> dict:
    data_key = crypto.unwrap_key(message.content.kek_id, message.content.wrapped_key)
    return json.loads(crypto.decrypt_field(data_key, attachment.id, "meta", attachment.meta_ct))


def mark_read(message: Message, actor: str) -> bool:
    """Record the first opening of the main content; returns True the first time only."""
    now = timezone.now()
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now)
        if updated:
            MessageEvent.objects.create(message=message, kind=MessageEvent.Kind.READ, at=now, actor=actor)
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
