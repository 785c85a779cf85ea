"""Sending what citizens are owed (messages.notifications.owing): every e-mail arrives, once per citizen and window.

A row (`EmailNotification`) moves:

    pending ──claim (FOR UPDATE SKIP LOCKED, attempt id, lease)──▶ claimed ──before SMTP──▶ sending ──▶ sent
       ▲                                                              │                        │
       └──────── transient failure (backoff + jitter) ◀───────────────┴────────────────────────┤
                                                                             5xx / attempts exhausted ▶ failed

Every move after the claim is fenced by the attempt id, so a task that runs twice, or a slow
worker whose claim was taken over, moves nothing it does not own.

The one window left: a worker that dies after the SMTP server accepted an e-mail and before
"sent" is committed. Rows are marked `sending` in small chunks (EBOX_NOTIFICATION_CHUNK) just
before they are handed over, and the claim is a lease the worker renews while it sends
(messages.notifications.lease). After a crash, `claimed` rows are known untouched and go back to
`pending`; `sending` rows (at most one chunk per lost attempt) may or may not have been delivered:
they are sent again with the same Message-ID (receivers de-duplicate on it) rather than
dropped, and counted in `resent_after_loss`, the possible duplicates operators see. The same
holds for a connection lost after the whole message was sent (`mail.Uncertain`).

What the SMTP server accepted is recorded even when PostgreSQL fails just then: the record is
retried on a fresh connection (for up to a lease), so a restart does not turn a delivered
e-mail into an unknown one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from citizens.models import Citizen
from ebox.db import execute_prepared_rows
from messages.models import EmailNotification
from messages.notifications import mail
from messages.notifications.lease import Lease
from senders.callbacks import outbox as callback_outbox
from senders.models import Organisation

logger = logging.getLogger(__name__)

# SQL is written with literal table names (mailbox_emailnotification, citizens_citizen,
# mailbox_message): no query text is ever built from values.
Kind = EmailNotification.Kind


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    # Handed over completely but unconfirmed (connection lost before the reply): sent again.
    maybe_delivered: int = 0
    more: bool = False

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "retried", "failed", "skipped", "maybe_delivered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Claimed:
    id: int
    citizen_id: int
    kind: str
    message_count: int
    registered_count: int
    organisation_ids: list[int]
    unread_registered_count: int
    expiring_count: int
    payment_due_count: int
    attempts: int
    address: str = ""
    rendered: mail.Rendered | None = None


@dataclass
class _Outcome:
    sent: list[int] = field(default_factory=list)
    retry: list[tuple[_Claimed, str]] = field(default_factory=list)
    failed: list[tuple[_Claimed, str]] = field(default_factory=list)
    uncertain: list[tuple[_Claimed, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


_CLAIM_SQL = """
WITH due AS (
    SELECT id FROM mailbox_emailnotification
    WHERE status = 'pending' AND execute_after <= %(now)s
    ORDER BY execute_after
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE mailbox_emailnotification AS n
SET status = 'claimed', attempt_id = %(attempt)s, claimed_at = %(now)s, attempts = n.attempts + 1
FROM due WHERE n.id = due.id
RETURNING n.id, n.citizen_id, n.kind, n.message_count, n.registered_count, n.organisation_ids,
          n.unread_registered_count, n.expiring_count, n.payment_due_count, n.attempts
"""


def _claim(attempt: uuid.UUID, limit: int) -> list[_Claimed]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"now": timezone.now(), "limit": limit, "attempt": attempt})
        return [_Claimed(*row) for row in cursor.fetchall()]


# Organisation names change rarely; a worker keeps them for a minute.
_names: dict[int, dict] = {}
_names_loaded_at = 0.0


def _organisation_names(ids: set[int]) -> dict[int, dict]:
    global _names_loaded_at
    if time.monotonic() - _names_loaded_at > 60:
        _names.clear()
        _names_loaded_at = time.monotonic()
    missing = ids - _names.keys()
    if missing:
        _names.update(Organisation.objects.filter(id__in=missing).values_list("id", "short_name"))
    return _names


def _digest(row: _Claimed, language: str, names: dict[int, dict]) -> mail.Digest:
    return mail.Digest(
        kind=row.kind,
        language=language,
        organisations=mail.organisation_names([names.get(i, {}) for i in row.organisation_ids], language),
        message_count=row.message_count,
        registered_count=row.registered_count,
        unread_registered_count=row.unread_registered_count,
        expiring_count=row.expiring_count,
        payment_due_count=row.payment_due_count,
    )


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff with jitter: base·2^(attempts−1), capped, then a random 50–100 % of it,
    so that e-mails that failed together do not all come back at the same second."""
    base = settings.EBOX_NOTIFICATION_RETRY_BASE.total_seconds()
    cap = settings.EBOX_NOTIFICATION_RETRY_MAX.total_seconds()
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=random.uniform(delay / 2, delay))


# Rows the SMTP server accepted become `sent`, and each message they announce gets a `notified`
# event (the proof that the citizen was told), and the senders' `notified` callbacks are owed
# (senders.callbacks.outbox), in the same statement.
_SENT_CTE = callback_outbox.statement(
    """
WITH sent AS (
    -- Joined on the ids, not `id = ANY(...) AND status IN (...)`: with the status index PostgreSQL
    -- read every in-flight (and dead) entry of a campaign, ~2 ms per chunk.
    UPDATE mailbox_emailnotification AS n SET status = 'sent', sent_at = %(now)s, last_error = ''
    FROM unnest(%(sent)s::bigint[]) AS v(id)
    WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')
    RETURNING n.id, n.kind, n.message_ids
), events AS (
    INSERT INTO mailbox_messageevent (message_id, kind, at, actor, detail)
    SELECT m.message_id, 'notified', %(now)s, 'platform', jsonb_build_object('notification', sent.id, 'email', sent.kind)
    FROM sent CROSS JOIN LATERAL unnest(sent.message_ids) AS m(message_id)
    -- A message removed meanwhile (retention) has nothing to prove.
    WHERE EXISTS (SELECT 1 FROM mailbox_message WHERE id = m.message_id)
    RETURNING message_id
), """,
    "SELECT e.message_id, m.sender_application_id FROM events e JOIN mailbox_message m ON m.id = e.message_id",
    "\n",
)

# The previous chunk's outcome is recorded in the same round trip as the next chunk's mark.
_MARK_SENDING_SQL = (
    _SENT_CTE
    + """
UPDATE mailbox_emailnotification AS n SET status = 'sending', to_address = v.address
FROM unnest(%(ids)s::bigint[], %(addresses)s::text[]) AS v(id, address)
WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status = 'claimed'
RETURNING n.id
"""
)


def _mark_sending(
    attempt: uuid.UUID, rows: list[_Claimed], sent: list[int] | None = None, callbacks: bool = True
) -> set[int]:
    """Commit, before handing them to SMTP, which rows this attempt is about to send (and still owns);
    `sent`: rows of the previous chunk the SMTP server accepted, recorded in the same statement
    (prepared: planning it cost more than running it); `callbacks`: whether any application has
    a callback URL (asked once per batch), so that a worker is asked to deliver them."""
    now = timezone.now()
    marked = execute_prepared_rows(
        _MARK_SENDING_SQL,
        {
            "ids": [r.id for r in rows],
            "addresses": [r.address for r in rows],
            "attempt": attempt,
            "sent": sent or [],
            "now": now,
            **callback_outbox.parameters("notified", now),
        },
    )
    if sent and callbacks:
        callback_outbox.dispatch_delivery()
    return {row[0] for row in marked}


def _record(attempt: uuid.UUID, outcome: _Outcome) -> None:
    """`_record_once`, again on a fresh connection while PostgreSQL is unavailable (up to one lease):
    what the SMTP server accepted must be recorded as sent, not left for recovery to guess."""
    deadline = time.monotonic() + settings.EBOX_NOTIFICATION_LEASE.total_seconds()
    pause = 0.2
    while True:
        try:
            _record_once(attempt, outcome)
            return
        except DatabaseError as exc:
            # Inside a caller's transaction there is no fresh connection to take: let it fail.
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                logger.error("could not record notification attempt %s: %s", attempt, exc)
                raise
            logger.warning("recording notification attempt %s failed (%s): retrying", attempt, exc)
            connection.close()  # Django reconnects on the next query
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _record_once(attempt: uuid.UUID, outcome: _Outcome) -> None:
    """Record what happened to the rows this attempt still owns, in one transaction.

    Owned: the attempt id matches and the row is claimed, sending, or (former state) uncertain."""
    now = timezone.now()
    max_attempts = settings.EBOX_NOTIFICATION_MAX_ATTEMPTS
    failed = list(outcome.failed)
    retry = []  # (row, error, 1 if a copy may have been delivered already else 0)
    maybe = [
        (row, f"{error} (sent again with the same Message-ID: a first copy may have arrived)", 1)
        for row, error in outcome.uncertain
    ]
    for row, error, resent in [(r, e, 0) for r, e in outcome.retry] + maybe:
        if row.attempts >= max_attempts:
            failed.append((row, f"attempts exhausted ({row.attempts}): {error}"))
        else:
            retry.append((row, error, resent))
    with transaction.atomic(), connection.cursor() as cursor:
        if outcome.sent:
            # The chunk statement with no next chunk to mark.
            execute_prepared_rows(
                _MARK_SENDING_SQL,
                {
                    "sent": outcome.sent,
                    "now": now,
                    "attempt": attempt,
                    "ids": [],
                    "addresses": [],
                    **callback_outbox.parameters("notified", now),
                },
            )
            if callback_outbox.any_callbacks():
                transaction.on_commit(callback_outbox.dispatch_delivery)
        if outcome.skipped:
            cursor.execute(
                "UPDATE mailbox_emailnotification AS n SET status = 'skipped', last_error = v.reason "
                "FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS v(id, reason) "
                "WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')",
                {
                    "ids": [i for i, _ in outcome.skipped],
                    "reasons": [r for _, r in outcome.skipped],
                    "attempt": attempt,
                },
            )
        if retry:
            cursor.execute(
                "UPDATE mailbox_emailnotification AS n SET status = 'pending', attempt_id = NULL, "
                "execute_after = v.after, last_error = v.error, resent_after_loss = n.resent_after_loss + v.resent "
                "FROM unnest(%(ids)s::bigint[], %(afters)s::timestamptz[], %(errors)s::text[], %(resent)s::int[]) "
                "AS v(id, after, error, resent) "
                "WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')",
                {
                    "ids": [r.id for r, _, _ in retry],
                    "afters": [now + backoff(r.attempts) for r, _, _ in retry],
                    "errors": [e[:500] for _, e, _ in retry],
                    "resent": [resent for _, _, resent in retry],
                    "attempt": attempt,
                },
            )
        if failed:
            cursor.execute(
                "UPDATE mailbox_emailnotification AS n SET status = 'failed', failed_at = %(now)s, "
                "last_error = v.error, to_address = CASE WHEN v.address <> '' THEN v.address ELSE n.to_address END "
                "FROM unnest(%(ids)s::bigint[], %(errors)s::text[], %(addresses)s::text[]) AS v(id, error, address) "
                "WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')",
                {
                    "ids": [r.id for r, _ in failed],
                    "errors": [e[:500] for _, e in failed],
                    "addresses": [r.address for r, _ in failed],
                    "now": now,
                    "attempt": attempt,
                },
            )
    for row, error in failed:
        logger.warning("notification %s failed permanently: %s", row.id, error)
    if maybe:
        logger.warning(
            "%d notification e-mail(s) may have been delivered already: sent again with the same Message-ID "
            "(possible duplicates)",
            len(maybe),
        )


_ALREADY_READ_SQL = """
SELECT n.id FROM mailbox_emailnotification n
WHERE n.id = ANY(%(ids)s::bigint[]) AND cardinality(n.message_ids) > 0
  AND NOT EXISTS (SELECT 1 FROM mailbox_message m WHERE m.id = ANY(n.message_ids) AND m.read_at IS NULL)
"""


def _already_read(ids: list[int]) -> set[int]:
    """The new-mail e-mails whose messages have all been read since (one query per batch)."""
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_ALREADY_READ_SQL, {"ids": ids})
        return {row[0] for row in cursor.fetchall()}


def send_batch(limit: int | None = None) -> SendReport:
    """Claim up to `limit` due rows and send them over one SMTP connection."""
    limit = limit or settings.EBOX_NOTIFICATION_BATCH
    attempt = uuid.uuid4()
    rows = _claim(attempt, limit)
    report = SendReport(claimed=len(rows), more=len(rows) >= limit)
    if not rows:
        return report
    # Named tuples, not model instances: a campaign's batch loads thousands of citizens.
    citizens = {
        c.id: c
        for c in Citizen.objects.filter(id__in={r.citizen_id for r in rows}).values_list(
            "id",
            "email",
            "preferred_language",
            "activated_at",
            "email_verified_at",
            "notify_new_messages",
            "notify_reminders",
            named=True,
        )
    }
    names = _organisation_names({o for r in rows for o in r.organisation_ids})
    already_read = _already_read([r.id for r in rows if r.kind == Kind.NEW_MAIL])
    to_send: list[_Claimed] = []
    outcome = _Outcome()
    for row in rows:
        citizen = citizens.get(row.citizen_id)
        # The citizen may have deactivated or changed address since the row was written.
        if citizen is None or not (citizen.activated_at and citizen.email_verified_at and citizen.email):
            outcome.skipped.append((row.id, "no activated eBox with a verified address"))
            continue
        # Or turned this kind of e-mail off in their settings after it was owed.
        wanted = citizen.notify_new_messages if row.kind == Kind.NEW_MAIL else citizen.notify_reminders
        if not wanted:
            outcome.skipped.append((row.id, "the citizen turned these e-mails off"))
            continue
        # Or read everything it announces already (a later window): nothing new to announce.
        if row.id in already_read:
            outcome.skipped.append((row.id, "every message it announced was read already"))
            continue
        row.address = citizen.email
        row.rendered = mail.render(_digest(row, citizen.preferred_language or settings.LANGUAGE_CODE, names))
        to_send.append(row)
    if outcome.skipped:
        _record(attempt, outcome)
        report.skipped = len(outcome.skipped)
    with Lease(attempt):
        _send_rows(attempt, to_send, report)
    return report


def _send_rows(attempt: uuid.UUID, to_send: list[_Claimed], report: SendReport) -> None:
    """Hand the rows to SMTP chunk by chunk, recording each chunk's outcome with the next one's mark."""
    transport = mail.transport()
    chunk_size = max(1, settings.EBOX_NOTIFICATION_CHUNK)
    callbacks = callback_outbox.any_callbacks()
    accepted: list[int] = []  # sent, not yet recorded: recorded with the next chunk's mark
    try:
        for start in range(0, len(to_send), chunk_size):
            chunk = to_send[start : start + chunk_size]
            try:
                owned = _mark_sending(attempt, chunk, sent=accepted, callbacks=callbacks)
            except DatabaseError as exc:
                if connection.in_atomic_block:
                    raise
                # PostgreSQL failed: nothing more is handed over; what SMTP accepted is still
                # recorded as sent (retried on a fresh connection), the rest waits for a retry.
                rest = to_send[start:]
                connection.close()
                _record(attempt, _Outcome(sent=accepted, retry=[(r, f"database unavailable: {exc}") for r in rest]))
                report.retried += len(rest)
                accepted = []
                break
            accepted = []
            outcome = _Outcome()
            lost: str | None = None
            # Rows not in `owned` were taken over by another attempt after a stale claim: not ours to send.
            mine = [row for row in chunk if row.id in owned]
            for row, error in zip(mine, _hand_over(transport, mine), strict=True):
                if error is None:
                    accepted.append(row.id)
                elif isinstance(error, mail.Uncertain):
                    # Maybe delivered: sent again with the same Message-ID, counted as a possible duplicate.
                    lost = str(error)
                    outcome.uncertain.append((row, lost))
                    report.maybe_delivered += 1
                elif isinstance(error, mail.ConnectionLost):
                    # Nothing after this one was handed over: the server is gone or going.
                    lost = lost or str(error)
                    outcome.retry.append((row, str(error)))
                elif isinstance(error, mail.PermanentError):
                    outcome.failed.append((row, str(error)))
                else:
                    outcome.retry.append((row, str(error)))
            report.sent += len(accepted)
            report.retried += len(outcome.retry)
            report.failed += len(outcome.failed)
            if outcome.retry or outcome.failed or outcome.uncertain:
                outcome.sent, accepted = accepted, []
                _record(attempt, outcome)
            if lost is not None:
                rest = to_send[start + chunk_size :]
                if rest:
                    _record(attempt, _Outcome(retry=[(r, lost) for r in rest]))
                    report.retried += len(rest)
                logger.warning("SMTP unavailable (%s): %d e-mail(s) will be retried", lost, report.retried)
                break
        if accepted:
            _record(attempt, _Outcome(sent=accepted))
    finally:
        transport.close()


def _hand_over(transport, rows: list[_Claimed]) -> list[Exception | None]:
    """Hand a chunk's e-mails to the transport in order; for each, None (accepted) or the error."""
    if isinstance(transport, mail.DjangoTransport):
        results: list[Exception | None] = []
        for row in rows:
            try:
                transport.send_rendered(row.rendered, row.address, row.id)
                results.append(None)
            except mail.TransientError as exc:
                results.append(exc)
        return results
    date = email.utils.formatdate(usegmt=True)
    results = [None] * len(rows)
    items, positions = [], []
    for k, row in enumerate(rows):
        try:
            items.append((row.address, mail.personalise(row.rendered, row.address, row.id, date)))
            positions.append(k)
        except UnicodeEncodeError:
            results[k] = mail.PermanentError("address needs SMTPUTF8, which this platform does not send")
    for k, error in zip(positions, transport.send_all(items), strict=True):
        results[k] = error
    return results


def send_due(max_batches: int = 20) -> SendReport:
    """Send due e-mails, batch after batch; `more` says whether due rows may remain."""
    total = SendReport()
    for _ in range(max_batches):
        report = send_batch()
        total.add(report)
        total.more = report.more
        if not report.more:
            break
    return total
