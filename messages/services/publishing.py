"""Storing publications: one message (`publish_message`), a batch (`publish_messages`), and linking
a stored content to more recipients (`link_message`).

Content is encrypted before it is stored (attachment blobs to the attachment storage, removed
again on any failure); messages are stored `accepted` and their sealing is dispatched after
commit (messages.services.sealing). The rows go through messages.services.rows (one statement
for a publication, COPY for a batch).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from uuid6 import uuid7

from audit import services as audit
from citizens.models import Citizen
from citizens.selectors import channel_for
from citizens.services import citizen_for_number, citizens_for_numbers
from ebox.storage import StorageUnavailable  # noqa: F401 - raised here (messages.blobs); callers catch it from here
from messages import blobs, crypto
from messages.models import Attachment, Blob, IdempotencyKey, Message, MessageContent
from messages.services.rows import copy_insert, copy_insert_new, insert_together, stored
from messages.services.sealing import dispatch_sealing
from paper.services import queueing as print_queue
from senders.models import MessageType, SenderApplication

logger = logging.getLogger(__name__)


class DuplicatePublication(Exception):
    """The sender application already used this Idempotency-Key."""

    def __init__(self, message_id: uuid.UUID):
        super().__init__(f"Idempotency-Key already used for message {message_id}")
        self.message_id = message_id


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
    # The recipient citizen when the caller already looked it up (else found or registered here).
    citizen: Citizen | None = None
    # Our extension: where the platform's paper service posts it (else the citizen record's address).
    paper_address: dict | None = None


# One encoder for every call: json.dumps with options builds a new one each time (~4 µs, three
# times per letter in a campaign's profile).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_bytes(value: object) -> bytes:
    return _JSON.encode(value).encode()


def _payment_due_on(payment_data: dict | None) -> dt.date | None:
    if not payment_data or not payment_data.get("dueDate"):
        return None
    try:
        return dt.date.fromisoformat(str(payment_data["dueDate"])[:10])
    except ValueError:
        return None


def store_encrypted_blob(
    data_key: bytes, owner_id: uuid.UUID, source: BinaryIO, folder: str, database_rows: list[dict] | None = None
) -> tuple[int, str, str]:
    """Encrypt a file chunk by chunk into the attachment storage; return (size, SHA-256 hex, blob name).

    With `database_rows`, a small blob is appended there as a row instead (messages.blobs), for the
    caller to insert with its other rows. The caller deletes a stored blob if its transaction
    fails (nothing half-stored); a database blob goes with the transaction."""
    source.seek(0)
    (size, sha256), name, row = blobs.write_encrypted(
        f"{folder}/{owner_id}.bin",
        lambda target: crypto.encrypt_stream(data_key, owner_id, "bytes", source, target),
        database_id=owner_id if database_rows is not None else None,
    )
    if row is not None:
        database_rows.append(row)
    return size, sha256, name


def _build_content(new: NewMessage, written_blobs: list[str]) -> tuple[dict, list[dict], list[dict]]:
    """Encrypt a publication's content; attachment blobs go to storage (their names into written_blobs)
    or, when small, become database rows (messages.blobs).

    Returns the rows to insert (column values by attribute name, see messages.services.rows): the
    content's, its attachments' and its database blobs'.
    """
    content_id = uuid7()
    data_key = crypto.new_data_key()
    kek_id, wrapped_key = crypto.wrap_key(data_key)
    sealed = crypto.encrypt_fields(
        data_key,
        content_id,
        {
            "subject": json_bytes(new.subject),
            "body": json_bytes(new.body) if new.body else None,
            "payment": json_bytes(new.payment_data) if new.payment_data else None,
            "business": json_bytes(new.business_data) if new.business_data else None,
        },
    )
    content = {
        "id": content_id,
        "sender_organisation_id": new.sender_application.organisation_id,
        "kek_id": kek_id,
        "wrapped_key": wrapped_key,
        "subject_ct": sealed["subject"],
        "body_ct": sealed["body"],
        "payment_ct": sealed["payment"],
        "business_ct": sealed["business"],
        "subject_languages": sorted(k for k, v in new.subject.items() if v),
        "body_languages": sorted(k for k, v in new.body.items() if v) if new.body else [],
    }
    attachments: list[dict] = []
    database_blobs: list[dict] = []
    for position, upload in enumerate(new.attachments, start=1):
        attachment_id = uuid7()
        meta_ct = crypto.encrypt_field(
            data_key, attachment_id, "meta", json_bytes({"fileName": upload.file_name, "title": upload.title})
        )
        size, sha256, blob = store_encrypted_blob(data_key, attachment_id, upload.file, "attachments", database_blobs)
        if not blobs.in_database(blob):
            written_blobs.append(blob)
        attachments.append(
            {
                "id": attachment_id,
                "content_id": content_id,
                "position": position,
                "main_content": upload.main_content,
                "signed": upload.signed,
                "media_type": upload.media_type,
                "size": size,
                "sha256": sha256,
                "meta_ct": meta_ct,
                "blob": blob,
            }
        )
    return content, attachments, database_blobs


def _new_message_row(
    new: NewMessage, content_id: uuid.UUID, recipient_id: str, now: dt.datetime, citizens: dict | None = None
) -> dict:
    """The message's row (column values by attribute name, see messages.services.rows)."""
    organisation = new.sender_application.organisation
    citizen = _recipient_citizen(new, recipient_id, citizens)
    return {
        "id": uuid7(),
        "content_id": content_id,
        "sender_organisation_id": organisation.pk,
        "sender_application_id": new.sender_application.pk,
        "message_type_id": new.message_type.pk,
        "recipient_type": new.recipient_type,
        "recipient_id": recipient_id,
        "citizen_id": citizen.pk if citizen else None,
        "original_message_id": new.original_message.pk if new.original_message else None,
        "for_the_attention_of": new.for_the_attention_of,
        "registered_mail": new.registered_mail,
        "reply_authorized": new.reply_authorized,
        "body_main_content": new.body_main_content,
        "payment_due_on": _payment_due_on(new.payment_data),
        "channel": channel_for(citizen, organisation, now.date()),
        "status": Message.Status.ACCEPTED,
        "received_at": now,
        "expires_at": new.expires_at or new.message_type.expiration_from(now),
        "idempotency_key": new.idempotency_key,
    }


def _recipient_citizen(new: NewMessage, recipient_id: str, citizens: dict | None = None) -> Citizen:
    """A person's or an enterprise's eBox: the same rows (citizens.Citizen of that kind)."""
    if new.citizen is not None and new.citizen.national_number == recipient_id:
        return new.citizen
    if citizens is not None:
        return citizens[recipient_id]
    new.citizen = citizen_for_number(recipient_id)  # found or registered once, reused for the print queue
    return new.citizen


def _print_item(new: NewMessage, row: dict, citizens: dict | None = None):
    """The paper service's print item for this new message, or None (see paper.services.queueing)."""
    return print_queue.for_publication(
        new.sender_application.organisation,
        row["id"],
        row["channel"],
        _recipient_citizen(new, row["recipient_id"], citizens),
        new.paper_address,
        row["received_at"],
    )


def delete_blobs(names: Iterable[str]) -> None:
    for name in names:
        try:
            blobs.delete(name)
        except Exception:  # noqa: BLE001 - any storage backend error;   best effort: an orphan blob is unreadable ciphertext
            logger.warning("could not delete orphan blob %s", name)


def publish_message(new: NewMessage, audit_entry: audit.Entry | None = None) -> Message:
    """Store one message for one recipient: encrypted, `accepted`, its sealing scheduled after commit.

    Raises DuplicatePublication when the Idempotency-Key was used before by this application;
    in that case, as on any failure, nothing is stored (blobs written so far are removed).

    `audit_entry` (the API's request) is appended to the audit chain by the same statement
    that stores the message, with the message's id: neither exists without the other.
    Outside a caller's transaction that one statement is the whole write (its own
    transaction: one round trip, one commit; profiling showed round trips as a large part of
    a publication).
    """
    if new.idempotency_key:
        first = _published_with_key(new)
        if first:
            raise DuplicatePublication(first)
    written: list[str] = []
    try:
        content, attachments, database_blobs = _build_content(new, written)
        now = timezone.now()
        row = _new_message_row(new, content["id"], new.recipient_id, now)
        message_id = row["id"]
        groups = [
            (IdempotencyKey, _key_rows([(new, row)])),  # the key's arbiter: a duplicate is a unique violation
            (MessageContent, [content]),
            (Attachment, attachments),
            (Blob, database_blobs),
            (Message, [row]),
        ]
        if audit_entry is not None:
            audit_entry.ids = [*audit_entry.ids, message_id]
        item = _print_item(new, row)
        outer = connection.in_atomic_block
        if not outer and item is None:
            insert_together(groups, audit_entry)
            dispatch_sealing([message_id])
        else:
            # A savepoint inside a caller's transaction, so that a concurrent duplicate's
            # IntegrityError leaves it usable for the look-up below. The print item is stored
            # with the message: neither exists without the other.
            with transaction.atomic():
                insert_together(groups, audit_entry)
                print_queue.queue([item] if item else [])
            if outer:
                transaction.on_commit(lambda: dispatch_sealing([message_id]))
            else:
                dispatch_sealing([message_id])
    except IntegrityError as exc:
        delete_blobs(written)
        if new.idempotency_key and "message_idempotency_key_per_application" in str(exc):
            raise DuplicatePublication(_published_with_key(new)) from exc
        raise
    except BaseException:
        delete_blobs(written)
        raise
    message = stored(Message, row)
    message.print_status = item.status if item else None  # the answer says the platform prints it
    return message


def _citizens_by_number(numbers: list[str]) -> dict:
    """The citizens for these numbers, created on first sight by citizens.services (campaign-sized).

    `= ANY(array)` keeps the query one parameter long: a 5,000-item IN list cost more
    to build and parse than to run.
    """
    if not numbers:
        return {}
    numbers = list(dict.fromkeys(numbers))
    found = {c.national_number: c for c in Citizen.objects.raw(_ANY_CITIZENS, [numbers])}
    missing = [n for n in numbers if n not in found]
    if missing:
        found.update(citizens_for_numbers(missing))
    return found


_ANY_CITIZENS = "SELECT * FROM citizens_citizen WHERE national_number = ANY(%s)"


@dataclass(frozen=True)
class Accepted:
    """A message a batch stored, as its result reports it (building a Message instance per item
    showed as ~15 % of a batch's time)."""

    id: uuid.UUID
    channel: str
    expires_at: dt.datetime
    print_status: str | None = None  # "queued" when the platform's paper service prints it


def publish_messages(news: list[NewMessage]) -> list[Accepted | DuplicatePublication]:
    """Store many messages (a campaign) in one transaction with COPY; one result per item.

    The result is Accepted (the stored message), or a DuplicatePublication for an Idempotency-Key used
    before (or earlier in the same batch). Like publish_message, nothing is half-stored: on a
    failure the transaction rolls back and the blobs written are removed.

    The Idempotency keys go first, into their arbiter (IdempotencyKey) through `copy_insert_new`
    (ON CONFLICT DO NOTHING): a key already stored, or being stored by a concurrent request, is
    skipped there (waiting for that request's commit), and only the kept messages, with their
    contents, attachments and database blobs, are copied after them (the foreign keys are
    checked at commit). So a retried chunk stores nothing twice, without a retry loop.
    """
    results: list[Accepted | DuplicatePublication | None] = [None] * len(news)
    written: list[str] = []
    try:
        built = [_build_content(new, written) for new in news]
        citizens = _citizens_by_number([n.recipient_id for n in news])
        pending, same_batch = _repeats(news)
        now = timezone.now()
        with transaction.atomic():
            rows = {
                i: _new_message_row(news[i], built[i][0]["id"], news[i].recipient_id, now, citizens) for i in pending
            }
            # The keys first, into their arbiter (ON CONFLICT DO NOTHING): the messages whose key
            # was new, and those without a key, are the ones stored.
            keyed = [(news[i], rows[i]) for i in pending if news[i].idempotency_key]
            new_keys = copy_insert_new(IdempotencyKey, _key_rows(keyed), returning="message_id")
            kept = [i for i in pending if not news[i].idempotency_key or rows[i]["id"] in new_keys]
            inserted = {rows[i]["id"] for i in kept}
            copy_insert(Message, [rows[i] for i in kept])
            copy_insert(MessageContent, [built[i][0] for i in kept])
            copy_insert(Attachment, [a for i in kept for a in built[i][1]])
            copy_insert(Blob, [b for i in kept for b in built[i][2]])
            items = {i: _print_item(news[i], rows[i], citizens) for i in kept}
            print_queue.queue([item for item in items.values() if item is not None])
            existing = _existing_ids([news[i] for i in pending if rows[i]["id"] not in inserted])
            ids = [rows[i]["id"] for i in kept]
            transaction.on_commit(lambda: dispatch_sealing(ids))
        for i in pending:
            if rows[i]["id"] in inserted:
                item = items[i]
                results[i] = Accepted(
                    rows[i]["id"], rows[i]["channel"], rows[i]["expires_at"], item.status if item else None
                )
            else:
                results[i] = DuplicatePublication(existing[(news[i].sender_application.pk, news[i].idempotency_key)])
        for i, first in same_batch.items():
            results[i] = results[first]
            if isinstance(results[first], Accepted):
                results[i] = DuplicatePublication(results[first].id)
    except BaseException:
        delete_blobs(written)
        raise
    unused = [
        a["blob"]
        for i, r in enumerate(results)
        if isinstance(r, DuplicatePublication)
        for a in built[i][1]
        if not blobs.in_database(a["blob"])
    ]
    delete_blobs(unused)
    return results


def _repeats(news: list[NewMessage]) -> tuple[list[int], dict[int, int]]:
    """The items to insert, and the in-batch repeats of an Idempotency key (later item -> first item)."""
    seen: dict[tuple[int, str], int] = {}
    same_batch: dict[int, int] = {}
    pending = []
    for i, new in enumerate(news):
        if new.idempotency_key:
            key = (new.sender_application.pk, new.idempotency_key)
            if key in seen:
                same_batch[i] = seen[key]
                continue
            seen[key] = i
        pending.append(i)
    return pending, same_batch


def _existing_ids(news: list[NewMessage]) -> dict[tuple[int, str], uuid.UUID]:
    """The stored messages' ids for these items' (application, Idempotency key)."""
    if not news:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sender_application_id, idempotency_key, message_id FROM mailbox_idempotencykey "
            "WHERE sender_application_id = ANY(%s) AND idempotency_key = ANY(%s)",
            [list({n.sender_application.pk for n in news}), list({n.idempotency_key for n in news})],
        )
        return {(app_id, key): message_id for app_id, key, message_id in cursor.fetchall()}


def _published_with_key(new: NewMessage) -> uuid.UUID | None:
    """The message this application published with this Idempotency key, if any."""
    return (
        IdempotencyKey.objects.filter(sender_application=new.sender_application, idempotency_key=new.idempotency_key)
        .values_list("message_id", flat=True)
        .first()
    )


def _key_rows(published: list[tuple[NewMessage, dict]]) -> list[dict]:
    """IdempotencyKey rows for the keyed messages among these (new message, message row) pairs."""
    return [
        {
            "sender_application_id": new.sender_application.pk,
            "idempotency_key": new.idempotency_key,
            "message_id": row["id"],
        }
        for new, row in published
        if new.idempotency_key
    ]


def link_message(original: Message, recipients: list[tuple[str, str]]) -> list[Message]:
    """Give the same stored content to more recipients (`/linkEboxMessage`); one message each."""
    now = timezone.now()
    messages = []
    with transaction.atomic():
        for recipient_type, recipient_id in recipients:
            citizen = citizen_for_number(recipient_id)
            messages.append(
                Message(
                    id=uuid7(),
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
                    channel=channel_for(citizen, original.sender_organisation, now.date()),
                    status=Message.Status.ACCEPTED,
                    received_at=now,
                    expires_at=original.expires_at,
                )
            )
        Message.objects.bulk_create(messages)
        # The paper service prints for linked recipients too (the citizen record's address).
        print_queue.queue(
            [
                item
                for m in messages
                if (
                    item := print_queue.for_publication(
                        original.sender_organisation, m.id, m.channel, m.citizen, None, now
                    )
                )
            ]
        )
        ids = [m.id for m in messages]
        transaction.on_commit(lambda: dispatch_sealing(ids))
    return messages
