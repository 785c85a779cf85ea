"""State changes of messages: publish, seal, read, archive, expire, re-dispatch.

The only code that writes messages. Views, serializers and tasks call these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

import psycopg
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import mail_admins
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import sql
from uuid6 import uuid7

from audit import services as audit
from citizens.models import Citizen
from citizens.selectors import channel_for
from citizens.services import citizen_for_number, citizens_for_numbers
from ebox import db
from ebox.dispatch import CoalescingDispatcher
from messages import crypto, sealing
from messages.models import Attachment, IntegrityIncident, Message, MessageContent, MessageEvent
from messages.notifications import services as notifications
from senders.models import MessageType, Organisation, SenderApplication

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
    # The recipient citizen when the caller already looked it up (else found or registered here).
    citizen: Citizen | None = None


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _payment_due_on(payment_data: dict | None) -> dt.date | None:
    if not payment_data or not payment_data.get("dueDate"):
        return None
    try:
        return dt.date.fromisoformat(str(payment_data["dueDate"])[:10])
    except ValueError:
        return None


def store_encrypted_blob(data_key: bytes, owner_id: uuid.UUID, source: BinaryIO, folder: str) -> tuple[int, str, str]:
    """Encrypt a file chunk by chunk into the attachment storage; return (size, SHA-256 hex, blob name).

    The caller deletes the blob if its transaction fails (nothing half-stored)."""
    source.seek(0)
    # In memory up to the upload threshold: a temporary file on disk costs more than the
    # encryption of a typical letter (profiled: creating a file in /tmp took ~0.5-0.9 ms of CPU).
    with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as encrypted:
        size, sha256 = crypto.encrypt_stream(data_key, owner_id, "bytes", source, encrypted)
        encrypted.seek(0)
        name = default_storage.save(f"{folder}/{owner_id}.bin", File(encrypted))
    return size, sha256, name


def _build_content(new: NewMessage, written_blobs: list[str]) -> tuple[dict, list[dict]]:
    """Encrypt a publication's content; attachment blobs go to storage (their names into written_blobs).

    Returns the rows to insert (column values by attribute name, see `_columns`): the
    content's and its attachments'.
    """
    content_id = uuid7()
    data_key = crypto.new_data_key()
    kek_id, wrapped_key = crypto.wrap_key(data_key)
    sealed = crypto.encrypt_fields(
        data_key,
        content_id,
        {
            "subject": _json(new.subject),
            "body": _json(new.body) if new.body else None,
            "payment": _json(new.payment_data) if new.payment_data else None,
            "business": _json(new.business_data) if new.business_data else None,
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
    attachments = []
    for position, upload in enumerate(new.attachments, start=1):
        attachment_id = uuid7()
        meta_ct = crypto.encrypt_field(
            data_key, attachment_id, "meta", _json({"fileName": upload.file_name, "title": upload.title})
        )
        size, sha256, blob = store_encrypted_blob(data_key, attachment_id, upload.file, "attachments")
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
    return content, attachments


def _new_message_row(
    new: NewMessage, content_id: uuid.UUID, recipient_id: str, now: dt.datetime, citizens: dict | None = None
) -> dict:
    """The message's row (column values by attribute name, see `_columns`)."""
    organisation = new.sender_application.organisation
    citizen = None
    if new.recipient_type == Message.RecipientType.CITIZEN:
        if new.citizen is not None and new.citizen.national_number == recipient_id:
            citizen = new.citizen
        elif citizens is not None:
            citizen = citizens[recipient_id]
        else:
            citizen = citizen_for_number(recipient_id)
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
        "channel": channel_for(citizen, organisation, now.date()) if citizen else Message.Channel.DIGITAL,
        "status": Message.Status.ACCEPTED,
        "received_at": now,
        "expires_at": new.expires_at or new.message_type.expiration_from(now),
        "idempotency_key": new.idempotency_key,
    }


def _delete_blobs(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # pragma: no cover - best effort: an orphan blob is unreadable ciphertext
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
        row = _new_message_row(new, content["id"], new.recipient_id, now)
        message_id = row["id"]
        groups = [(MessageContent, [content]), (Attachment, attachments), (Message, [row])]
        if audit_entry is not None:
            audit_entry.ids = [*audit_entry.ids, message_id]
        if not connection.in_atomic_block:
            _insert_together(groups, audit_entry)
            dispatch_sealing([message_id])
        else:
            # A savepoint, so that a concurrent duplicate's IntegrityError leaves the caller's
            # transaction usable for the look-up below.
            with transaction.atomic():
                _insert_together(groups, audit_entry)
            transaction.on_commit(lambda: dispatch_sealing([message_id]))
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
    return _stored(Message, row)


@functools.cache
def _insert_statement(shape: tuple[tuple[str, int], ...], with_audit_entry: bool) -> str:
    """One statement for a whole publication: an INSERT per table as data-modifying CTEs, and the
    audit entry's append (audit.append_statement) when there is one."""
    from django.apps import apps

    parts = []
    for label, count in shape:
        model = apps.get_model(label)
        columns = [column.name for column in _columns(model)]
        row = sql.SQL("({})").format(sql.SQL(", ").join(sql.Placeholder() * len(columns)))
        parts.append(
            sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
                sql.Identifier(model._meta.db_table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join([row] * count),
            )
        )
    # Rendered once per shape: psycopg re-rendered the Composed (~500 pieces) on every execute.
    rendered = [part.as_string() for part in parts]
    if with_audit_entry:
        return audit.append_statement(before=tuple(rendered))
    *ctes, last = rendered
    return "".join(f"{'WITH' if i == 0 else ','} t{i} AS ({cte}) " for i, cte in enumerate(ctes)) + last


class _Column(NamedTuple):
    attname: str
    name: str
    missing: Callable[[], object]  # the value when a row leaves it out (the field's default)
    to_db: Callable[[object], object] | None  # JSON and text arrays go as text


@functools.cache
def _columns(model) -> list[_Column]:
    """The columns a publication's rows fill, once per model: every concrete field but an
    auto-increment id.

    Rows are dicts of values by attribute name (`content_id`), not model instances:
    profiling the batch extension showed building instances (and reading them back) as
    ~40 % of the time per message.
    """
    from django.contrib.postgres.fields import ArrayField
    from django.db.models import CharField, JSONField, TextField

    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and model_field.get_internal_type().endswith("AutoField"):
            continue
        if getattr(model_field, "auto_now_add", False) or getattr(model_field, "auto_now", False):
            missing = timezone.now
        elif model_field.has_default() and callable(model_field.default):
            missing = model_field.default
        else:
            missing = functools.partial(lambda value: value, model_field.get_default())
        to_db = None
        if isinstance(model_field, JSONField):
            to_db = _json_text
        elif isinstance(model_field, ArrayField) and isinstance(model_field.base_field, (CharField, TextField)):
            to_db = db.text_array
        columns.append(_Column(model_field.attname, model_field.column, missing, to_db))
    return columns


def _json_text(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def _db_values(model, row: dict) -> list:
    """A row's values in `_columns` order, as sent to PostgreSQL (INSERT parameters or COPY fields)."""
    values = []
    for column in _columns(model):
        value = row[column.attname] if column.attname in row else column.missing()
        values.append(value if column.to_db is None else column.to_db(value))
    return values


def _stored(model, row: dict):
    """The model instance of a row just stored (for callers that want one, like publish_message's)."""
    values = {
        column.attname: row[column.attname] if column.attname in row else column.missing() for column in _columns(model)
    }
    attnames = _attnames(model)
    return db.loaded(model, attnames, [values.get(a) for a in attnames])


@functools.cache
def _attnames(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _insert_together(groups: list[tuple], audit_entry: audit.Entry | None = None) -> None:
    """Insert a publication's rows (content, attachments, message), and append its audit entry,
    in one statement.

    Profiling publishMessage showed the ORM's four INSERTs (each compiled, sent and
    answered in turn) as the largest part of a publication. This sends one statement,
    prepared once per shape and connection (psycopg `prepare=True`); values are the rows'
    exactly as for COPY (`_db_values`).
    """
    groups = [(model, rows) for model, rows in groups if rows]
    shape = tuple((model._meta.label, len(rows)) for model, rows in groups)
    params = [value for model, rows in groups for row in rows for value in _db_values(model, row)]
    if audit_entry is not None:
        params.extend(audit_entry.parameters())
    try:
        db.execute_prepared(_insert_statement(shape, audit_entry is not None), params)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc


def _copy_insert(model, rows: list[dict]) -> None:
    """Insert rows with PostgreSQL COPY, in the current transaction.

    Profiling the batch extension showed Django's bulk_create spending most of its time
    building and splitting huge INSERT statements; COPY streams the rows instead (values as
    `_db_values` gives them: psycopg adapts UUIDs, dates, bytes). Auto-increment ids are left
    to the sequence.
    """
    if rows:
        columns = [column.name for column in _columns(model)]
        _copy_rows(model._meta.db_table, columns, (_db_values(model, row) for row in rows))


def _copy_rows(table: str, columns: list[str], rows: Iterable) -> None:
    from django.db import connection
    from psycopg import errors as pg_errors
    from psycopg import sql as pg_sql

    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(table), pg_sql.SQL(", ").join(pg_sql.Identifier(c) for c in columns)
    )
    connection.ensure_connection()
    try:
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except pg_errors.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc


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


def publish_messages(news: list[NewMessage]) -> list[Accepted | DuplicatePublication]:
    """Store many messages (a campaign) in one transaction with bulk inserts; one result per item.

    The result is Accepted (the stored message), or a DuplicatePublication for an Idempotency-Key used
    before (or earlier in the same batch). Like publish_message, nothing is half-stored: on a
    failure the transaction rolls back and the blobs written are removed. A concurrent
    duplicate (the unique constraint fires) makes the batch retry without the duplicates.
    """
    results: list[Accepted | DuplicatePublication | None] = [None] * len(news)
    written: list[str] = []
    try:
        built = [_build_content(new, written) for new in news]
        numbers = [n.recipient_id for n in news if n.recipient_type == Message.RecipientType.CITIZEN]
        citizens = _citizens_by_number(numbers)
        for _attempt in range(3):
            pending, same_batch = _mark_duplicates(news, results)
            now = timezone.now()
            try:
                with transaction.atomic():
                    rows = {
                        i: _new_message_row(news[i], built[i][0]["id"], news[i].recipient_id, now, citizens)
                        for i in pending
                    }
                    _copy_insert(MessageContent, [built[i][0] for i in pending])
                    _copy_insert(Attachment, [a for i in pending for a in built[i][1]])
                    _copy_insert(Message, list(rows.values()))
                    ids = [row["id"] for row in rows.values()]
                    transaction.on_commit(lambda ids=ids: dispatch_sealing(ids))
            except IntegrityError as exc:
                if "message_idempotency_key_per_application" not in str(exc):
                    raise
                continue  # a concurrent request took a key: mark it and insert the others
            for i, row in rows.items():
                results[i] = Accepted(row["id"], row["channel"], row["expires_at"])
            for i, first in same_batch.items():
                results[i] = DuplicatePublication(rows[first]["id"])
            break
        else:  # pragma: no cover - three races in a row
            raise IntegrityError("could not store the batch: Idempotency-Key conflicts kept happening")
    except BaseException:
        _delete_blobs(written)
        raise
    unused = [a["blob"] for i, r in enumerate(results) if isinstance(r, DuplicatePublication) for a in built[i][1]]
    _delete_blobs(unused)
    return results


def _mark_duplicates(news: list[NewMessage], results: list) -> tuple[list[int], dict[int, int]]:
    """Mark items whose key exists in PostgreSQL; return the items to insert and the in-batch repeats.

    A key repeated within the batch maps the later item to the index of the first one.
    """
    keyed = [
        (i, n) for i, n in enumerate(news) if n.idempotency_key and not isinstance(results[i], DuplicatePublication)
    ]
    existing: dict[tuple[int, str], uuid.UUID] = {}
    if keyed:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sender_application_id, idempotency_key, id FROM mailbox_message "
                "WHERE sender_application_id = ANY(%s) AND idempotency_key = ANY(%s)",
                [list({n.sender_application.pk for _, n in keyed}), list({n.idempotency_key for _, n in keyed})],
            )
            for app_id, key, message_id in cursor.fetchall():
                existing[(app_id, key)] = message_id
    seen: dict[tuple[int, str], int] = {}
    same_batch: dict[int, int] = {}
    pending = []
    for i, new in enumerate(news):
        if isinstance(results[i], DuplicatePublication):
            continue
        if new.idempotency_key:
            key = (new.sender_application.pk, new.idempotency_key)
            if key in existing:
                results[i] = DuplicatePublication(existing[key])
                continue
            if key in seen:
                same_batch[i] = seen[key]
                continue
            seen[key] = i
        pending.append(i)
    return pending, same_batch


def link_message(original: Message, recipients: list[tuple[str, str]]) -> list[Message]:
    """Give the same stored content to more recipients (`/linkEboxMessage`); one message each."""
    now = timezone.now()
    messages = []
    with transaction.atomic():
        for recipient_type, recipient_id in recipients:
            citizen = citizen_for_number(recipient_id) if recipient_type == Message.RecipientType.CITIZEN else None
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
                    channel=channel_for(citizen, original.sender_organisation, now.date())
                    if citizen
                    else Message.Channel.DIGITAL,
                    status=Message.Status.ACCEPTED,
                    received_at=now,
                    expires_at=original.expires_at,
                )
            )
        Message.objects.bulk_create(messages)
        ids = [m.id for m in messages]
        transaction.on_commit(lambda: dispatch_sealing(ids))
    return messages


# --- Sealing -------------------------------------------------------------------

# Ids per sealing task: large enough that a task's first read and last write, which cannot
# overlap with signing (see seal_messages), are a small part of it (bench/seal.py).
SEAL_BATCH = 1000


def dispatch_sealing(message_ids: list[uuid.UUID]) -> None:
    """Queue sealing after commit. If the broker is down the rows stay `accepted` and beat retries.

    With EBOX_SEAL_DISPATCH_SECONDS > 0 the ids join this process's next sealing task
    (ebox.dispatch) instead of costing a broker round trip per publication.
    """
    if settings.EBOX_SEAL_DISPATCH_SECONDS > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
        _dispatcher.add(message_ids)
    else:
        _send_sealing(message_ids)


def _send_sealing(message_ids: list) -> None:
    from messages.tasks import seal_messages

    for start in range(0, len(message_ids), SEAL_BATCH):
        chunk = [str(i) for i in message_ids[start : start + SEAL_BATCH]]
        try:
            seal_messages.delay(chunk)
        except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
            logger.warning("broker unavailable: %d message(s) will be sealed by the re-dispatch job", len(chunk))
            return


_dispatcher = CoalescingDispatcher(
    "seal-dispatch", _send_sealing, lambda: settings.EBOX_SEAL_DISPATCH_SECONDS, batch=SEAL_BATCH
)


@dataclass
class MessageText:
    subject: dict[str, str]
    body: dict[str, str] | None
    payment_data: dict | None
    business_data: list | None


def decrypt_text(content: MessageContent) -> MessageText:
    """Decrypt subject, body, payment and business data; raises crypto.DecryptionError."""
    return _decrypt_fields(
        content.id,
        content.kek_id,
        content.wrapped_key,
        content.subject_ct,
        content.body_ct,
        content.payment_ct,
        content.business_ct,
    )


def _decrypt_fields(content_id, kek_id, wrapped_key, subject_ct, body_ct, payment_ct, business_ct) -> MessageText:
    data_key = crypto.unwrap_key(kek_id, wrapped_key)
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


# `_timestamp` computed by PostgreSQL, so that the sealer neither builds datetimes nor formats them.
_SQL_TIMESTAMP = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
_SEAL_SELECT = f"""
    SELECT m.id::text, m.content_id::text, o.enterprise_number, a.application_id, m.recipient_type, m.recipient_id,
           to_char(m.received_at AT TIME ZONE 'UTC', {_SQL_TIMESTAMP}),
           to_char(m.expires_at AT TIME ZONE 'UTC', {_SQL_TIMESTAMP}), m.registered_mail,
           (SELECT string_agg(concat_ws(chr(31), t.id, t.sha256, t.media_type, t.size), chr(30) ORDER BY t.position)
            FROM {Attachment._meta.db_table} t WHERE t.content_id = m.content_id),
           c.kek_id, c.wrapped_key, c.subject_ct, c.body_ct, c.payment_ct, c.business_ct
    FROM {Message._meta.db_table} m
    JOIN {MessageContent._meta.db_table} c ON c.id = m.content_id
    JOIN {Organisation._meta.db_table} o ON o.id = m.sender_organisation_id
    JOIN {SenderApplication._meta.db_table} a ON a.id = m.sender_application_id
    WHERE m.id = ANY(%b::uuid[]) AND m.status = %s
"""  # noqa: S608 - table names from our models, values are parameters
# One statement writes the seals and records the notification e-mails this makes owed (the
# seal time is on the message; no separate event row). It returns (sealed, e-mails touched,
# citizens whose window was already claimed): see notifications.owing_statement.
_SEAL_WRITE = notifications.owing_statement(
    f"""
    UPDATE {Message._meta.db_table} AS m
    SET seal = v.seal, seal_key_id = %(kid)s, status = %(sealed)s, sealed_at = %(now)s
    FROM unnest(%(ids)b::uuid[], %(seals)b::bytea[]) AS v(id, seal)
    WHERE m.id = v.id AND m.status = %(accepted)s
    RETURNING m.citizen_id, m.sender_organisation_id AS organisation_id, m.registered_mail AS registered,
              NULL::text AS reason, m.id AS message_id"""  # noqa: S608 - table names from our models
)


def _attachment_digests(packed: str | None) -> list[dict]:
    """Attachment digests as _SEAL_SELECT packs them: one text, records and fields split by ASCII
    record and unit separators (far cheaper for the driver to load than arrays of arrays)."""
    if not packed:
        return []
    return [
        {"attachmentId": a_id, "sha256": sha256, "mediaType": media_type, "size": int(size)}
        for a_id, sha256, media_type, size in (item.split("\x1f") for item in packed.split("\x1e"))
    ]


SEAL_CHUNK = 50


def seal_messages(message_ids: Iterable[uuid.UUID | str]) -> int:
    """Seal the given messages that are still `accepted`; return how many were sealed.

    Idempotent without locking rows while signing: the write is conditional (`status =
    'accepted'`), so when two sealers meet on a message (a task and the re-dispatch job),
    the second waits for the first's commit, finds the message sealed and writes nothing.

    Written for throughput (bench/seal.py). The ids are handled in chunks over one connection
    in pipeline mode: PostgreSQL reads the chunk after next and writes the previous chunk's
    seals while this process decrypts and signs the current one, so the database's work and
    ours overlap instead of taking turns. Rows and attachment digests come as binary tuples,
    ids and times already in the text form the seal signs; content shared by linked messages
    is decrypted once; the canonical form comes from the C JSON encoder.

    The transaction commits without waiting for its WAL flush (`synchronous_commit = off`):
    a seal lost in a crash leaves its message `accepted`, and beat seals it again (Ed25519
    signatures are deterministic, so the seal is the same). Anything that depends on the seal
    later, an e-mail sent or a reading recorded, commits durably, which flushes this first.
    """
    ids = [str(i) for i in message_ids]
    chunks = [ids[i : i + SEAL_CHUNK] for i in range(0, len(ids), SEAL_CHUNK)]
    if not chunks:
        return 0
    kid, key = sealing.current_signing_key()
    with transaction.atomic():
        connection.ensure_connection()
        conn = connection.connection
        texts: dict[str, MessageText] = {}  # by content id: linked messages share one content
        attachments: dict[str, list[dict]] = {}
        with conn.pipeline():
            conn.execute("SET LOCAL synchronous_commit TO OFF")
            reads = [_send_seal_read(conn, chunk) for chunk in chunks[:2]]
            writes = []
            unreadable: list[tuple[str, str]] = []  # (message id, reason): recorded after the pipeline
            now = timezone.now()
            for k in range(len(chunks)):
                rows = reads[k].fetchall()
                if k + 2 < len(chunks):
                    reads.append(_send_seal_read(conn, chunks[k + 2]))
                sealable, seals = _seal_rows(rows, key, texts, attachments, unreadable)
                if sealable:
                    writes.append(_send_seal_write(conn, kid, sealable, seals, now))
            results = [cursor.fetchone() for cursor in writes]
        for message_id, reason in unreadable:
            record_incident(Message.objects.get(pk=message_id), "seal", reason)
        sealed = sum(result[0] for result in results)
        owed = sum(result[1] for result in results)
        if deferred := {citizen for result in results for citizen in result[2]}:
            owed += notifications.owe_new_mail_later(ids, deferred, now)
        if owed:
            transaction.on_commit(notifications.dispatch_sending)
        return sealed


def _send_seal_read(conn: psycopg.Connection, ids: list[str]) -> psycopg.Cursor:
    # Binary results: ids and ciphertexts travel as bytes, not as text to parse.
    cursor = psycopg.Cursor(conn)
    cursor.execute(_SEAL_SELECT, [ids, Message.Status.ACCEPTED], binary=True, prepare=True)
    return cursor


def _send_seal_write(
    conn: psycopg.Connection, kid: str, ids: list[str], seals: list[bytes], now: dt.datetime
) -> psycopg.Cursor:
    cursor = psycopg.Cursor(conn)
    cursor.execute(
        _SEAL_WRITE,
        {
            "kid": kid,
            "sealed": Message.Status.SEALED,
            "accepted": Message.Status.ACCEPTED,
            "ids": ids,
            "seals": seals,
            **notifications.new_mail_parameters(now),
        },
        prepare=True,
    )
    return cursor


def _seal_rows(rows: list[tuple], key, texts: dict, attachments: dict, unreadable: list) -> tuple[list, list]:
    """(ids, seals) of the rows that decrypt; the others go to `unreadable` with the reason.

    A content damaged between publication and sealing must not hold back the rest of the
    batch: its message stays `accepted`, unsealed and invisible, with an integrity incident.
    """
    ids, seals = [], []
    for row in rows:
        try:
            seals.append(_seal_row(row, key, texts, attachments))
        except crypto.DecryptionError as exc:
            unreadable.append((row[0], f"content does not decrypt at sealing: {exc}"))
            continue
        ids.append(row[0])
    return ids, seals


def _seal_row(row: tuple, key, texts: dict, attachments: dict) -> bytes:
    """The seal of one `_SEAL_SELECT` row; `texts` and `attachments` cache content shared by linked messages."""
    (
        message_id,
        content_id,
        organisation,
        application,
        recipient_type,
        recipient_id,
        received_at,
        expires_at,
        registered_mail,
        attachment_rows,
        *ciphertexts,
    ) = row
    text = texts.get(content_id)
    if text is None:
        text = texts[content_id] = _decrypt_fields(content_id, *ciphertexts)
        attachments[content_id] = _attachment_digests(attachment_rows)
    document = sealing.seal_document(
        message_id=message_id,
        sender_organisation=organisation,
        sender_application=application,
        recipient_type=recipient_type,
        recipient_id=recipient_id,
        received_at=received_at,
        expires_at=expires_at,
        registered_mail=registered_mail,
        subject=text.subject,
        body=text.body,
        payment_data=text.payment_data,
        business_data=text.business_data,
        attachments=attachments[content_id],
    )
    return key.sign(sealing.canonical(document))


def redispatch_pending(older_than: dt.timedelta | None = None, limit: int = 50_000) -> int:
    """Seal what a lost task or a broker outage left `accepted`. Run by beat; PostgreSQL is the record.

    Messages whose content failed to decrypt at sealing (an open integrity incident) wait for an operator.
    """
    cutoff = timezone.now() - (older_than if older_than is not None else settings.EBOX_REDISPATCH_AFTER)
    ids = list(
        Message.objects.filter(status=Message.Status.ACCEPTED, received_at__lte=cutoff, integrity_failed_at=None)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    sealed = 0
    for start in range(0, len(ids), SEAL_BATCH):
        sealed += seal_messages(ids[start : start + SEAL_BATCH])
    return sealed


# --- Reading -------------------------------------------------------------------


def record_incident(message: Message, detected_by: str, reason: str) -> IntegrityIncident:
    """Record a failed integrity check and raise it to operators (ERROR log, mail to ADMINS, the admin).

    The message gets `integrity_failed_at` and an `integrity_failed` event. A failure already
    recorded and not yet resolved is not recorded (nor mailed) again, so a sweep that meets
    the same damaged message every pass does not flood operators.
    """
    with transaction.atomic():
        now = timezone.now()
        Message.objects.filter(pk=message.pk, integrity_failed_at__isnull=True).update(integrity_failed_at=now)
        message.integrity_failed_at = message.integrity_failed_at or now
        existing = IntegrityIncident.objects.filter(message=message, reason=reason, resolved_at__isnull=True).first()
        if existing:
            logger.error(
                "integrity failure on message %s (%s), known incident %s: %s",
                message.pk,
                detected_by,
                existing.pk,
                reason,
            )
            return existing
        MessageEvent.objects.create(
            message=message,
            kind=MessageEvent.Kind.INTEGRITY_FAILED,
            at=now,
            actor=detected_by,
            detail={"reason": reason},
        )
        incident = IntegrityIncident.objects.create(message=message, detected_by=detected_by, reason=reason)
        transaction.on_commit(lambda: _alert_operators(incident))
    logger.error("integrity failure on message %s (%s): %s", message.pk, detected_by, reason)
    return incident


def _alert_operators(incident: IntegrityIncident) -> None:
    # fail_silently: the incident is recorded and logged whatever the SMTP server does.
    mail_admins(
        f"Integrity incident {incident.pk} on message {incident.message_id}",
        f"Detected by: {incident.detected_by}\nReason: {incident.reason}\n"
        f"Content of this message is withheld from its recipient until an operator resolves the incident "
        f"({settings.PUBLIC_URL}/admin/mailbox/integrityincident/{incident.pk}/change/).",
        fail_silently=True,
    )


def _attachments_of(message: Message) -> list[Attachment]:
    # Use a prefetched list when the caller has one (the sweep), else query.
    return sorted(message.content.attachments.all(), key=lambda a: a.position)


def verified_text(message: Message, detected_by: str = "read") -> MessageText:
    """Decrypt a sealed message and check its seal; on failure record an incident and raise IntegrityFailure.

    The seal covers the digests of subject, body, payment and business data and every
    attachment's SHA-256, so this also proves the attachment digests we compare bytes to.
    """
    if not message.seal or not message.seal_key_id:
        record_incident(message, detected_by, "message has no seal")
        raise IntegrityFailure("message has no seal")
    try:
        text = decrypt_text(message.content)
    except (crypto.DecryptionError, ValueError) as exc:
        record_incident(message, detected_by, f"content does not decrypt: {exc}")
        raise IntegrityFailure(str(exc)) from exc
    document = seal_document_for(message, text, _attachments_of(message))
    if not sealing.verify(document, message.seal_key_id, message.seal):
        record_incident(message, detected_by, "seal does not match the content")
        raise IntegrityFailure("seal does not match the content")
    return text


def _verified_blob(kek_id: str, wrapped_key: bytes, owner_id, blob_name: str, sha256: str, record_failure):
    """Yield the decrypted chunks of an encrypted blob; the last one only once the whole blob
    authenticated and its SHA-256 matched, so a client streaming it never receives the complete
    bytes of a damaged file. On failure `record_failure(reason)` runs and IntegrityFailure is raised."""
    digest = hashlib.sha256()
    pending = None
    try:
        data_key = crypto.unwrap_key(kek_id, bytes(wrapped_key))
        with default_storage.open(blob_name, "rb") as blob:
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


def open_attachment(message: Message, attachment: Attachment, detected_by: str = "read", check_seal: bool = True):
    """Yield the decrypted bytes of an attachment, checking its SHA-256 against the sealed value.

    With check_seal (the default) the seal is verified first, so the digest compared to is the
    sealed one. The last chunk is yielded only after the whole blob authenticated and hashed,
    so a reader streaming to a client never receives the complete bytes of a damaged file.
    """
    if attachment.content_id != message.content_id:
        raise IntegrityFailure("attachment does not belong to this message")
    if check_seal:
        verified_text(message, detected_by)
    yield from _verified_blob(
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


# --- Replies -------------------------------------------------------------------


class ReplyNotAllowed(Exception):
    """The sender did not allow replies to this message, or it is not the citizen's."""


def reply_document(reply, text: str) -> dict:
    """What a reply's seal signs: identifiers and digests, never the text itself."""
    return {
        "version": sealing.SEAL_VERSION,
        "type": "reply",
        "replyId": str(reply.id),
        "messageId": str(reply.message_id),
        "senderOrganizationId": reply.sender_organisation.enterprise_number,
        "citizen": reply.citizen.national_number,
        "createdAt": _timestamp(reply.created_at),
        "textSha256": sealing.sha256_hex(text.encode()),
        "attachmentSha256": reply.attachment_sha256 or None,
    }


def reply_to_message(message: Message, citizen, text: str, attachment: AttachmentUpload | None = None):
    """Store a citizen's reply: encrypted like a publication, sealed, with a `replied` event.

    The caller has validated the text and the attachment's type (PDF) and size.
    """
    from citizens.models import AccessLogEntry
    from citizens.services import log_access
    from messages.models import Reply

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
                data_key, reply.id, "meta", _json({"fileName": attachment.file_name})
            )
            reply.attachment_media_type = attachment.media_type
            reply.attachment_size, reply.attachment_sha256, reply.attachment_blob = store_encrypted_blob(
                data_key, reply.id, attachment.file, "replies"
            )
            written.append(reply.attachment_blob)
        with transaction.atomic():
            reply.created_at = timezone.now()
            reply.seal_key_id, reply.seal = sealing.sign(reply_document(reply, text))
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
        _delete_blobs(written)
        raise
    return reply


@dataclass
class ReplyText:
    """A reply's decrypted content, its seal checked."""

    text: str
    attachment_file_name: str | None = None


def record_reply_incident(reply, detected_by: str, reason: str) -> IntegrityIncident:
    """Record a failed integrity check on a reply, as an incident on the message it answers.

    Unlike `record_incident`, the message itself is not marked failed: its own content is intact
    and stays readable by its recipient; the reply is what is withheld. Recorded once while open.
    """
    reason = f"reply {reply.id}: {reason}"[:300]
    with transaction.atomic():
        existing = IntegrityIncident.objects.filter(
            message_id=reply.message_id, reason=reason, resolved_at__isnull=True
        ).first()
        if existing:
            logger.error("integrity failure (%s), known incident %s: %s", detected_by, existing.pk, reason)
            return existing
        incident = IntegrityIncident.objects.create(message_id=reply.message_id, detected_by=detected_by, reason=reason)
        transaction.on_commit(lambda: _alert_operators(incident))
    logger.error("integrity failure on message %s (%s): %s", reply.message_id, detected_by, reason)
    return incident


def verified_reply(reply, detected_by: str = "read") -> ReplyText:
    """Decrypt a reply and check its seal (which covers the text's and the attachment's digests);
    on failure record an incident and raise IntegrityFailure. `reply` should come with its
    citizen, message and sender organisation selected (the sealed document names them)."""
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
    if not sealing.verify(reply_document(reply, text), reply.seal_key_id, bytes(reply.seal)):
        record_reply_incident(reply, detected_by, "seal does not match the content")
        raise IntegrityFailure("seal does not match the content")
    return ReplyText(text=text, attachment_file_name=file_name)


def open_reply_attachment(reply, detected_by: str = "read"):
    """Yield the decrypted bytes of a reply's attachment, the seal checked first and the SHA-256
    (sealed) checked before the last chunk is yielded, as `open_attachment` does for messages."""
    if not reply.attachment_blob:
        raise FileNotFoundError(f"reply {reply.id} has no attachment")
    verified_reply(reply, detected_by)
    yield from _verified_blob(
        reply.kek_id,
        reply.wrapped_key,
        reply.id,
        reply.attachment_blob,
        reply.attachment_sha256,
        lambda reason: record_reply_incident(reply, detected_by, f"attachment: {reason}"),
    )
