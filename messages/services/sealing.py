"""Sealing messages: `seal_messages` signs what is `accepted` and makes it available (`sealed`).

Publishing dispatches sealing after commit (`dispatch_sealing`, a Celery task by name,
coalesced per process); beat re-dispatches what a lost task left `accepted`
(`redispatch_pending`). The seal document and the signature itself are `messages.signing`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ebox.dispatch import CoalescingDispatcher, send_task
from messages import crypto, signing
from messages.models import Attachment, Message, MessageContent
from messages.notifications.owing import dispatch_sending, new_mail_parameters, owe_new_mail_later, owing_statement
from messages.services.incidents import record_incident
from messages.services.reading import MessageText, decrypt_fields_with_key
from senders.callbacks import outbox as callback_outbox
from senders.models import MessageType, Organisation, SenderApplication

logger = logging.getLogger(__name__)


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
    for start in range(0, len(message_ids), SEAL_BATCH):
        chunk = [str(i) for i in message_ids[start : start + SEAL_BATCH]]
        try:
            send_task("mailbox.seal_messages", chunk)
        except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
            logger.warning("broker unavailable: %d message(s) will be sealed by the re-dispatch job", len(chunk))
            return


_dispatcher = CoalescingDispatcher(
    "seal-dispatch", _send_sealing, lambda: settings.EBOX_SEAL_DISPATCH_SECONDS, batch=SEAL_BATCH
)


# `reading.sealed_timestamp` computed by PostgreSQL, so that the sealer neither builds datetimes nor formats them.
_SQL_TIMESTAMP = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
_SEAL_SELECT = f"""
    SELECT m.id::text, m.content_id::text, o.enterprise_number, a.application_id, m.recipient_type, m.recipient_id,
           to_char(m.received_at AT TIME ZONE 'UTC', {_SQL_TIMESTAMP}),
           to_char(m.expires_at AT TIME ZONE 'UTC', {_SQL_TIMESTAMP}), m.registered_mail,
           (SELECT string_agg(concat_ws(chr(31), t.id, t.sha256, t.media_type, t.size, t.main_content, t.signed),
                              chr(30) ORDER BY t.position)
            FROM {Attachment._meta.db_table} t WHERE t.content_id = m.content_id),
           (SELECT array_agg(t.meta_ct ORDER BY t.position)
            FROM {Attachment._meta.db_table} t WHERE t.content_id = m.content_id),
           mt.message_type_id, m.reply_authorized, m.body_main_content, m.original_message_id::text,
           m.for_the_attention_of,
           c.kek_id, c.wrapped_key, c.subject_ct, c.body_ct, c.payment_ct, c.business_ct
    FROM {Message._meta.db_table} m
    JOIN {MessageContent._meta.db_table} c ON c.id = m.content_id
    JOIN {Organisation._meta.db_table} o ON o.id = m.sender_organisation_id
    JOIN {SenderApplication._meta.db_table} a ON a.id = m.sender_application_id
    JOIN {MessageType._meta.db_table} mt ON mt.id = m.message_type_id
    WHERE m.id = ANY(%b::uuid[]) AND m.id BETWEEN %s::uuid AND %s::uuid AND m.status = %s
"""  # noqa: S608 - table names from our models, values are parameters
# One statement writes the seals and records the notification e-mails this makes owed (the
# seal time is on the message; no separate event row). It returns (sealed, e-mails touched,
# citizens whose window was already claimed): see messages.notifications.owing.
_SEAL_UPDATE = f"""
    UPDATE {Message._meta.db_table} AS m
    SET seal = v.seal, seal_key_id = %(kid)s, status = %(sealed)s, sealed_at = %(now)s
    FROM unnest(%(ids)b::uuid[], %(seals)b::bytea[]) AS v(id, seal)
    WHERE m.id = v.id AND m.id BETWEEN %(low)s::uuid AND %(high)s::uuid AND m.status = %(accepted)s
    RETURNING m.citizen_id, m.sender_organisation_id AS organisation_id, m.registered_mail AS registered,
              NULL::text AS reason, m.id AS message_id, m.sender_application_id"""  # noqa: S608 - our tables
_SEAL_WRITE = owing_statement(_SEAL_UPDATE)
# The same, when some application has a callback URL: the `sealed` callbacks are owed in the
# same statement (senders.callbacks.outbox), and their count is a fourth result column.
_SEAL_WRITE_WITH_CALLBACKS = owing_statement(
    _SEAL_UPDATE,
    also=callback_outbox.callback_ctes("SELECT message_id, sender_application_id FROM item"),
    also_result="(SELECT count(*) FROM callback_row)",
)


def _attachment_digests(packed: str | None, metas: list | None, data_key: bytes) -> list[dict]:
    """Attachments as _SEAL_SELECT packs them: one text, records and fields split by ASCII record
    and unit separators (far cheaper for the driver to load than arrays of arrays), and the
    encrypted file names and titles, decrypted here (the seal signs their digests)."""
    if not packed:
        return []
    entries = []
    for (a_id, sha256, media_type, size, main, signed), meta_ct in zip(
        (item.split("\x1f") for item in packed.split("\x1e")), metas, strict=True
    ):
        meta = json.loads(crypto.decrypt_field(data_key, a_id, "meta", bytes(meta_ct)))
        entries.append(
            {
                "attachmentId": a_id,
                "sha256": sha256,
                "mediaType": media_type,
                "size": int(size),
                "mainContent": main == "t",
                "signed": signed == "t",
                "fileName": meta.get("fileName"),
                "title": meta.get("title"),
            }
        )
    return entries


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
    kid, key = signing.current_signing_key()
    # The one cheap check: without any callback URL, sealing pays nothing for callbacks.
    write = _SEAL_WRITE_WITH_CALLBACKS if callback_outbox.any_callbacks() else _SEAL_WRITE
    # The pipeline talks to psycopg directly: Django's wrapper turns its errors into Django's and
    # marks the connection broken, so that the worker closes it after the task (Django's Celery
    # fixup closes only connections so marked) instead of failing every later task on it.
    with transaction.atomic(), connection.wrap_database_errors:
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
                    writes.append(_send_seal_write(conn, write, kid, sealable, seals, now))
            results = [cursor.fetchone() for cursor in writes]
        for message_id, reason in unreadable:
            record_incident(Message.objects.get(pk=message_id), "seal", reason)
        sealed = sum(result[0] for result in results)
        owed = sum(result[1] for result in results)
        if deferred := {citizen for result in results for citizen in result[2]}:
            owed += owe_new_mail_later(ids, deferred, now)
        if owed:
            transaction.on_commit(dispatch_sending)
        if any(result[3] for result in results if len(result) > 3):
            transaction.on_commit(callback_outbox.dispatch_delivery)
        return sealed


def _send_seal_read(conn: psycopg.Connection, ids: list[str]) -> psycopg.Cursor:
    # Binary results: ids and ciphertexts travel as bytes, not as text to parse.
    cursor = psycopg.Cursor(conn)
    # The id range lets the prepared (generic) plan prune monthly partitions when it starts:
    # PostgreSQL prunes on `id BETWEEN $2 AND $3`, not on `= ANY($1)` (messages.partitions).
    cursor.execute(_SEAL_SELECT, [ids, min(ids), max(ids), Message.Status.ACCEPTED], binary=True, prepare=True)
    return cursor


def _send_seal_write(
    conn: psycopg.Connection, write: str, kid: str, ids: list[str], seals: list[bytes], now: dt.datetime
) -> psycopg.Cursor:
    cursor = psycopg.Cursor(conn)
    cursor.execute(
        write,
        {
            "kid": kid,
            "sealed": Message.Status.SEALED,
            "accepted": Message.Status.ACCEPTED,
            "ids": ids,
            "seals": seals,
            "low": min(ids),
            "high": max(ids),
            **new_mail_parameters(now),
            **callback_outbox.parameters("sealed", now),
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
        except (crypto.DecryptionError, ValueError) as exc:
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
        attachment_metas,
        message_type_id,
        reply_authorized,
        body_main_content,
        original_message_id,
        for_the_attention_of,
        *ciphertexts,
    ) = row
    text = texts.get(content_id)
    if text is None:
        kek_id, wrapped_key, *fields = ciphertexts
        data_key = crypto.unwrap_key(kek_id, bytes(wrapped_key))  # once for the text and the attachments
        text = texts[content_id] = decrypt_fields_with_key(data_key, content_id, *fields)
        attachments[content_id] = _attachment_digests(attachment_rows, attachment_metas, data_key)
    document = signing.seal_document(
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
        message_type_id=message_type_id,
        reply_authorized=reply_authorized,
        body_main_content=body_main_content,
        original_message_id=original_message_id,
        for_the_attention_of=for_the_attention_of,
    )
    return key.sign(signing.canonical(document))


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
