"""What citizens are owed, and sending it exactly once per citizen and window.

The record lives in PostgreSQL (`EmailNotification`), written in the transaction that makes
messages available (`new_mail_parameters`, for the statement `messages.services.seal_messages`
runs) or queues
reminders; Redis only carries "there is work". A row moves:

    pending ──claim (FOR UPDATE SKIP LOCKED, attempt id)──▶ claimed ──before SMTP──▶ sending ──▶ sent
       ▲                                                       │                        │
       └──────── transient failure (backoff + jitter) ◀────────┴────────────────────────┤
                                                                         5xx / attempts exhausted ▶ failed

Every move after the claim is fenced by the attempt id, so a task that runs twice, or a slow
worker whose claim was taken over, moves nothing it does not own: the effect happens once.

The one window left: a worker that dies after the SMTP server accepted an e-mail and before
"sent" is committed. Rows are marked `sending` in small chunks (EBOX_NOTIFICATION_CHUNK) just
before they are handed over, so after a crash `claimed` rows are known untouched and go back
to `pending`, while `sending` rows (at most one chunk) may or may not have been delivered.
Those become `uncertain` and are not resent (at most once: the product promises never two
e-mails for one window); operators see them and may requeue them, and a requeued copy keeps
its Message-ID so receivers that de-duplicate on it collapse the copies.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from citizens.models import Citizen
from ebox.dispatch import CoalescingDispatcher
from messages.models import EmailNotification
from messages.notifications import mail
from senders.models import Organisation

logger = logging.getLogger(__name__)

# SQL is written with literal table names (mailbox_emailnotification, citizens_citizen,
# mailbox_message, mailbox_notificationreminder): no query text is ever built from values.
Status = EmailNotification.Status
Kind = EmailNotification.Kind

# (citizen id, organisation id, registered mail?, reminder reason or None, message id): one per message.
Item = tuple[int, int, bool, str | None, uuid.UUID]


# --- What is owed -------------------------------------------------------------------

# The upsert, over a CTE named `item` of (citizen_id, organisation_id, registered, reason,
# message_id) rows: `owing_statement` puts it after the caller's CTE. Parameters: kind, window,
# execute_after, now. It returns the items seen, the rows touched, and the citizens whose
# window was already claimed (`owe` retries those in the next window).
_OWE_UPSERT = """
per_citizen AS (
    SELECT i.citizen_id,
           count(*) AS message_count,
           count(*) FILTER (WHERE i.registered) AS registered_count,
           array_agg(DISTINCT i.organisation_id ORDER BY i.organisation_id) AS organisation_ids,
           array_agg(i.message_id) AS message_ids,
           count(*) FILTER (WHERE i.reason = 'registered') AS unread_registered_count,
           count(*) FILTER (WHERE i.reason = 'expiring') AS expiring_count,
           count(*) FILTER (WHERE i.reason = 'payment') AS payment_due_count
    FROM item i JOIN citizens_citizen c ON c.id = i.citizen_id
    WHERE c.activated_at IS NOT NULL AND c.email_verified_at IS NOT NULL AND c.email <> ''
      -- The citizen's own choice (settings page): new-mail e-mails, reminders, or neither.
      AND CASE WHEN %(kind)s = 'new_mail' THEN c.notify_new_messages ELSE c.notify_reminders END
    GROUP BY i.citizen_id
), upserted AS (
    INSERT INTO mailbox_emailnotification AS n (citizen_id, kind, window_start, status, message_count, registered_count,
        organisation_ids, message_ids, unread_registered_count, expiring_count, payment_due_count, execute_after, attempts,
        to_address, last_error, created_at)
    -- Ordered by citizen so that two concurrent sealers lock rows in the same order (no deadlock).
    SELECT citizen_id, %(kind)s, %(window)s, 'pending', message_count, registered_count, organisation_ids,
           message_ids, unread_registered_count, expiring_count, payment_due_count, %(execute_after)s, 0, '', '', %(now)s
    FROM per_citizen ORDER BY citizen_id
    ON CONFLICT (citizen_id, kind, window_start) DO UPDATE SET
        message_count = n.message_count + EXCLUDED.message_count,
        registered_count = n.registered_count + EXCLUDED.registered_count,
        organisation_ids = ARRAY(SELECT DISTINCT o FROM unnest(n.organisation_ids || EXCLUDED.organisation_ids) AS o
                                 ORDER BY o),
        message_ids = n.message_ids || EXCLUDED.message_ids,
        unread_registered_count = n.unread_registered_count + EXCLUDED.unread_registered_count,
        expiring_count = n.expiring_count + EXCLUDED.expiring_count,
        payment_due_count = n.payment_due_count + EXCLUDED.payment_due_count
    -- A window whose e-mail is already on its way takes nothing more: that goes to the next window.
    WHERE n.status = 'pending'
    RETURNING n.citizen_id
)
SELECT (SELECT count(*) FROM item), (SELECT count(*) FROM upserted),
       ARRAY(SELECT citizen_id FROM per_citizen WHERE citizen_id NOT IN (SELECT citizen_id FROM upserted))
"""


def owing_statement(items: str) -> str:
    """The owe upsert taking its items from `items`, a CTE body (a SELECT, or a data-modifying
    statement with RETURNING) yielding citizen_id, organisation_id, registered, reason and
    message_id: so that sealing makes messages available and records the e-mails owed in
    one statement."""
    return f"WITH item AS ({items}),{_OWE_UPSERT}"


_OWE_SQL = owing_statement(
    """SELECT * FROM unnest(%(citizens)s::bigint[], %(organisations)s::bigint[], %(registered)s::boolean[],
                         %(reasons)s::text[], %(messages)s::uuid[])
                  AS t(citizen_id, organisation_id, registered, reason, message_id)"""
)


def window_start(at: dt.datetime, length: dt.timedelta | None = None) -> dt.datetime:
    """The start of the digest window holding `at` (windows are aligned on the epoch)."""
    seconds = max(1, int((length or settings.EBOX_NOTIFICATION_WINDOW).total_seconds()))
    stamp = int(at.timestamp())
    return dt.datetime.fromtimestamp(stamp - stamp % seconds, tz=dt.UTC)


def owe(kind: str, items: Sequence[Item], windows: Iterable[tuple[dt.datetime, dt.datetime]], now: dt.datetime) -> int:
    """Upsert one row per eligible citizen into the first window still pending; returns rows touched.

    `windows` yields (window start, execute after): the current window first, then the next ones
    for citizens whose current window e-mail has already been claimed.
    """
    touched = 0
    with connection.cursor() as cursor:
        for window, execute_after in windows:
            if not items:
                break
            cursor.execute(
                _OWE_SQL,
                {
                    "citizens": [i[0] for i in items],
                    "organisations": [i[1] for i in items],
                    "registered": [i[2] for i in items],
                    "reasons": [i[3] for i in items],
                    "messages": [i[4] for i in items],
                    "kind": kind,
                    "window": window,
                    "execute_after": execute_after,
                    "now": now,
                },
            )
            _seen, count, deferred = cursor.fetchone()
            touched += count
            deferred = set(deferred)
            items = [i for i in items if i[0] in deferred]
    return touched


def _new_mail_windows(now: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    length = settings.EBOX_NOTIFICATION_WINDOW
    start = window_start(now, length)
    yield start, now
    for n in range(1, 4):
        yield start + n * length, start + n * length


def new_mail_parameters(now: dt.datetime) -> dict:
    """The parameters of an `owing_statement` that owes new-mail e-mails in the current window.

    `messages.services.seal_messages` runs it over the messages it seals, in the same
    statement: only activated citizens with a verified address who want new-mail e-mails
    are owed anything. The caller dispatches sending after commit if rows were touched, and
    passes citizens whose window was already claimed to `owe_new_mail_later`.
    """
    window, execute_after = next(iter(_new_mail_windows(now)))
    return {"kind": Kind.NEW_MAIL, "window": window, "execute_after": execute_after, "now": now}


_SEALED_FOR = """
    SELECT citizen_id, sender_organisation_id, registered_mail, NULL, id FROM mailbox_message
    WHERE id = ANY(%s::uuid[]) AND citizen_id = ANY(%s::bigint[]) AND sealed_at = %s
"""


def owe_new_mail_later(message_ids: Sequence, citizen_ids: Iterable[int], sealed_at: dt.datetime) -> int:
    """Owe, in the next windows, the e-mails of citizens whose current window's e-mail was
    already on its way when these messages were sealed (at `sealed_at`, in this transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(_SEALED_FOR, [list(message_ids), list(citizen_ids), sealed_at])
        items = cursor.fetchall()
    return owe(Kind.NEW_MAIL, items, list(_new_mail_windows(sealed_at))[1:], sealed_at)


def dispatch_sending() -> None:
    """Ask a worker to send what is due (called after commit).

    With EBOX_NOTIFICATION_DISPATCH_SECONDS > 0 a process's requests are coalesced
    (ebox.dispatch): a worker sealing a campaign asks once per interval, not once per batch.
    If the broker is down, beat's send_due_notifications finds the rows in PostgreSQL.
    """
    if settings.EBOX_NOTIFICATION_DISPATCH_SECONDS > 0 and not settings.CELERY_TASK_ALWAYS_EAGER:
        _sending.add([None])
    else:
        _request_sending()


def _request_sending(_requests: list | None = None) -> None:
    from messages.tasks import send_notifications

    try:
        send_notifications.delay()
    except Exception:  # noqa: BLE001 - kombu raises many kinds; PostgreSQL keeps the work
        logger.warning("broker unavailable: notification e-mails will be sent by the beat job")


_sending = CoalescingDispatcher(
    "notification-dispatch", _request_sending, lambda: settings.EBOX_NOTIFICATION_DISPATCH_SECONDS
)


# --- Sending ------------------------------------------------------------------------


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    more: bool = False

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "retried", "failed", "skipped"):
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
# event (the proof that the citizen was told), in the same statement.
_SENT_CTE = """
WITH sent AS (
    UPDATE mailbox_emailnotification SET status = 'sent', sent_at = %(now)s, last_error = ''
    WHERE id = ANY(%(sent)s::bigint[]) AND attempt_id = %(attempt)s AND status IN ('claimed', 'sending', 'uncertain')
    RETURNING id, kind, message_ids
), events AS (
    INSERT INTO mailbox_messageevent (message_id, kind, at, actor, detail)
    SELECT m.message_id, 'notified', %(now)s, 'platform', jsonb_build_object('notification', sent.id, 'email', sent.kind)
    FROM sent CROSS JOIN LATERAL unnest(sent.message_ids) AS m(message_id)
    -- A message removed meanwhile (retention) has nothing to prove.
    WHERE EXISTS (SELECT 1 FROM mailbox_message WHERE id = m.message_id)
)
"""

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


def _mark_sending(attempt: uuid.UUID, rows: list[_Claimed], sent: list[int] | None = None) -> set[int]:
    """Commit, before handing them to SMTP, which rows this attempt is about to send (and still owns);
    `sent`: rows of the previous chunk the SMTP server accepted, recorded in the same statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENDING_SQL,
            {
                "ids": [r.id for r in rows],
                "addresses": [r.address for r in rows],
                "attempt": attempt,
                "sent": sent or [],
                "now": timezone.now(),
            },
        )
        return {row[0] for row in cursor.fetchall()}


def _record(attempt: uuid.UUID, outcome: _Outcome) -> None:
    """Record what happened to the rows this attempt still owns, in one transaction.

    Owned: the attempt id matches and the row is claimed, sending, or uncertain (recovery may
    have judged a slow attempt dead; what it reports now is the truth)."""
    now = timezone.now()
    max_attempts = settings.EBOX_NOTIFICATION_MAX_ATTEMPTS
    failed = list(outcome.failed)
    retry = []
    for row, error in outcome.retry:
        if row.attempts >= max_attempts:
            failed.append((row, f"attempts exhausted ({row.attempts}): {error}"))
        else:
            retry.append((row, error))
    with transaction.atomic(), connection.cursor() as cursor:
        if outcome.sent:
            # The chunk statement with no next chunk to mark.
            cursor.execute(
                _MARK_SENDING_SQL, {"sent": outcome.sent, "now": now, "attempt": attempt, "ids": [], "addresses": []}
            )
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
                "execute_after = v.after, last_error = v.error "
                "FROM unnest(%(ids)s::bigint[], %(afters)s::timestamptz[], %(errors)s::text[]) AS v(id, after, error) "
                "WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')",
                {
                    "ids": [r.id for r, _ in retry],
                    "afters": [now + backoff(r.attempts) for r, _ in retry],
                    "errors": [e[:500] for _, e in retry],
                    "attempt": attempt,
                },
            )
        if outcome.uncertain:
            cursor.execute(
                "UPDATE mailbox_emailnotification AS n SET status = 'uncertain', last_error = v.error "
                "FROM unnest(%(ids)s::bigint[], %(errors)s::text[]) AS v(id, error) "
                "WHERE n.id = v.id AND n.attempt_id = %(attempt)s AND n.status IN ('claimed', 'sending', 'uncertain')",
                {
                    "ids": [r.id for r, _ in outcome.uncertain],
                    "errors": [f"{e} (not resent, to never send it twice)"[:500] for _, e in outcome.uncertain],
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
    citizens = {
        c.id: c
        for c in Citizen.objects.filter(id__in={r.citizen_id for r in rows}).only(
            "id",
            "email",
            "preferred_language",
            "activated_at",
            "email_verified_at",
            "notify_new_messages",
            "notify_reminders",
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
    transport = mail.transport()
    chunk_size = max(1, settings.EBOX_NOTIFICATION_CHUNK)
    accepted: list[int] = []  # sent, not yet recorded: recorded with the next chunk's mark
    try:
        for start in range(0, len(to_send), chunk_size):
            chunk = to_send[start : start + chunk_size]
            owned = _mark_sending(attempt, chunk, sent=accepted)
            accepted = []
            outcome = _Outcome()
            lost: str | None = None
            for row in chunk:
                if row.id not in owned:
                    continue  # taken over by another attempt after a stale claim: not ours to send
                if lost is not None:
                    outcome.retry.append((row, lost))
                    continue
                try:
                    _hand_over(transport, row)
                except mail.PermanentError as exc:
                    outcome.failed.append((row, str(exc)))
                except mail.Uncertain as exc:
                    # Maybe delivered: not resent (at most once), recorded for operators.
                    lost = str(exc)
                    outcome.uncertain.append((row, lost))
                except mail.ConnectionLost as exc:
                    # Nothing after this one is handed over: the server is gone or going.
                    lost = str(exc)
                    outcome.retry.append((row, lost))
                except mail.TransientError as exc:
                    outcome.retry.append((row, str(exc)))
                else:
                    accepted.append(row.id)
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
    return report


def _hand_over(transport, row: _Claimed) -> None:
    if isinstance(transport, mail.DjangoTransport):
        transport.send_rendered(row.rendered, row.address, row.id)
        return
    try:
        data = mail.personalise(row.rendered, row.address, row.id)
    except UnicodeEncodeError as exc:
        raise mail.PermanentError("address needs SMTPUTF8, which this platform does not send") from exc
    transport.send(row.address, data)


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


# --- Recovery and operators ---------------------------------------------------------


def recover_stale(now: dt.datetime | None = None) -> tuple[int, int]:
    """Claims a dead worker left: `claimed` rows go back to pending (never handed to SMTP);
    `sending` rows become `uncertain` (maybe delivered; not resent). Returns (released, uncertain)."""
    now = now or timezone.now()
    cutoff = now - settings.EBOX_NOTIFICATION_STALE_AFTER
    with transaction.atomic():
        released = EmailNotification.objects.filter(status=Status.CLAIMED, claimed_at__lt=cutoff).update(
            status=Status.PENDING, attempt_id=None, execute_after=timezone.now()
        )
        uncertain = EmailNotification.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
            status=Status.UNCERTAIN,
            last_error="the worker stopped after handing this e-mail to the SMTP server: it may have been "
            "delivered; not resent, to never send it twice",
        )
    if uncertain:
        logger.error("%d notification e-mail(s) left uncertain by a lost worker", uncertain)
    return released, uncertain


def send_due_notifications() -> SendReport:
    """The beat job: recover stale claims, then send what is due (retries, deferred windows)."""
    recover_stale()
    return send_due()


def requeue(ids: Iterable[int]) -> int:
    """Operators: send failed or uncertain e-mails again (an uncertain one may then arrive twice,
    with the same Message-ID)."""
    updated = EmailNotification.objects.filter(id__in=list(ids), status__in=[Status.FAILED, Status.UNCERTAIN]).update(
        status=Status.PENDING, attempt_id=None, attempts=0, execute_after=timezone.now(), failed_at=None
    )
    if updated:
        transaction.on_commit(dispatch_sending)
    return updated
