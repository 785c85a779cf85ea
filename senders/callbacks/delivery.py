"""Delivering callbacks: claim what is due, POST it signed, record the outcome; retries and recovery.

- Order per message: only a message's first callback not yet delivered can be claimed, so event
  n+1 is never sent before event n was delivered; the callbacks of different messages go in
  parallel (a claim holds at most one per message, POSTed from a small thread pool).
- At least once: a claim is a lease (`claimed_at`, EBOX_CALLBACK_LEASE); a worker lost between
  the POST and the record leaves a claim that `recover_stale` gives back, and the callback is
  sent again with the same `X-Ebox-Delivery` id, for the receiver to dedupe on.
- Retries: any answer but 2xx, a timeout or a refused connection is retried with exponential
  backoff (`next_attempt_at`, in PostgreSQL); after EBOX_CALLBACK_MAX_ATTEMPTS the callback is
  `failed`, and so are the later callbacks of its message (order cannot be kept past a gap).
- Redirects are never followed; a host resolving to a non-public address is refused unless
  EBOX_CALLBACK_ALLOW_PRIVATE (SSRF), and the POST connects to the addresses that were checked
  (urllib3 pools on the address, the host name in Host, SNI and the certificate check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from senders.callbacks import configuration
from senders.callbacks.outbox import dispatch_delivery
from senders.models import CallbackDelivery, SenderApplication

logger = logging.getLogger(__name__)

State = CallbackDelivery.State
PARALLEL_POSTS = 8


@dataclass
class _Claimed:
    id: int
    message_id: uuid.UUID
    application_id: int
    sequence: int
    event: str
    status: str
    at: dt.datetime
    delivery_id: uuid.UUID
    attempts: int
    blocked: bool  # an earlier callback of its message failed


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The X-Ebox-Signature header: t=<unix time>,v1=<hex HMAC-SHA256 of "t." + body>."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int) -> dt.timedelta:
    """base·2^(attempts−1), capped, then a random 50–100 % of it (receivers coming back are not stampeded)."""
    base = settings.EBOX_CALLBACK_RETRY_BASE.total_seconds()
    cap = settings.EBOX_CALLBACK_RETRY_MAX.total_seconds()
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=random.uniform(delay / 2, delay))


# The heads of their messages (every earlier callback delivered or failed) that are due; locked
# rows are skipped, so concurrent workers claim different ones.
_CLAIM_SQL = """
UPDATE senders_callbackdelivery AS d
SET state = 'delivering', attempt_id = %(attempt)s, claimed_at = %(now)s, attempts = d.attempts + 1
FROM (
    SELECT c.id FROM senders_callbackdelivery c
    WHERE c.state = 'pending' AND c.next_attempt_at <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM senders_callbackdelivery e
                      WHERE e.message_id = c.message_id AND e.sequence < c.sequence
                        AND e.state IN ('pending', 'delivering'))
    ORDER BY c.next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
) AS due
WHERE d.id = due.id
RETURNING d.id, d.message_id, d.sender_application_id, d.sequence, d.event, d.status, d.at, d.delivery_id, d.attempts,
          EXISTS (SELECT 1 FROM senders_callbackdelivery e
                  WHERE e.message_id = d.message_id AND e.sequence < d.sequence AND e.state = 'failed')
"""


def _claim(attempt: uuid.UUID, limit: int) -> list[_Claimed]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"attempt": attempt, "now": timezone.now(), "limit": limit})
        rows = [_Claimed(*row) for row in cursor.fetchall()]
    rows.sort(key=lambda r: r.id)
    return rows


def payload(row: _Claimed, application_id: str) -> bytes:
    """The JSON body (compact, keys sorted: the bytes the signature covers)."""
    document = {
        "messageId": str(row.message_id),
        "senderApplicationId": application_id,
        "event": row.event,
        "at": row.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "status": row.status,
        "sequence": row.sequence,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class _Refused(Exception):
    """Not worth retrying: no URL any more, or a target the platform must not call."""


def _post(row: _Claimed, application: SenderApplication | None) -> None:
    """POST one callback; returns on a 2xx, raises _Refused (permanent) or another exception (retry)."""
    if application is None or not application.callback_url or not application.callback_secret_wrapped:
        raise _Refused("the application has no callback URL any more")
    url = application.callback_url
    try:
        addresses = configuration.resolve_target(url)
    except configuration.TargetRefused as exc:
        raise _Refused(str(exc)) from exc
    body = payload(row, application.application_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "eBox-Callbacks/1",
        "X-Ebox-Signature": sign(configuration.signing_secret(application), int(time.time()), body),
        "X-Ebox-Delivery": str(row.delivery_id),
        "X-Ebox-Event": row.event,
    }
    status = _post_pinned(url, addresses, body, headers)
    if not 200 <= status < 300:
        raise RuntimeError(f"HTTP {status}")


def _post_pinned(url: str, addresses: list[str], body: bytes, headers: dict[str, str]) -> int:
    """POST to the checked addresses themselves (the next on a connection failure), with the URL's
    host in the Host header and, for https, in SNI and the certificate check; no redirect, no retry."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = urllib3.Timeout(connect=settings.EBOX_CALLBACK_TIMEOUT, read=settings.EBOX_CALLBACK_TIMEOUT)
    headers = {**headers, "Host": parts.netloc}
    error: Exception = OSError(f"{parts.hostname} has no address")
    for address in addresses:
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                server_hostname=parts.hostname,
                assert_hostname=parts.hostname,
                cert_reqs="CERT_REQUIRED",
                ca_certs=settings.EBOX_CALLBACK_CA_BUNDLE or certifi.where(),
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False, retries=False)
        except urllib3.exceptions.NewConnectionError as exc:
            error = exc
            continue
        finally:
            pool.close()
        return response.status
    raise error


def _attempt(row: _Claimed, application: SenderApplication | None) -> tuple[str, str]:
    """(outcome, error) of one POST: outcome is delivered, retry or failed."""
    if row.blocked:
        return State.FAILED, "an earlier callback of this message failed"
    try:
        _post(row, application)
    except _Refused as exc:
        return State.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - any transport or receiver error is retried
        return "retry", f"{type(exc).__name__}: {exc}"[:400]
    return State.DELIVERED, ""


def _claim_limit() -> int:
    """EBOX_CALLBACK_BATCH, but no more than the pool can POST within one lease even if every
    receiver takes the whole timeout (connect, then read): a claim must not outlive its lease."""
    per_post = 2 * settings.EBOX_CALLBACK_TIMEOUT + 1
    fits = int(PARALLEL_POSTS * settings.EBOX_CALLBACK_LEASE.total_seconds() / per_post)
    return max(1, min(settings.EBOX_CALLBACK_BATCH, fits))


def deliver_batch(limit: int | None = None) -> DeliveryReport:
    """Claim up to `limit` due callbacks (one per message at most), POST them, record what happened."""
    attempt = uuid.uuid4()
    rows = _claim(attempt, limit or _claim_limit())
    report = DeliveryReport(claimed=len(rows))
    if not rows:
        return report
    applications = SenderApplication.objects.in_bulk({r.application_id for r in rows})
    with ThreadPoolExecutor(max_workers=min(PARALLEL_POSTS, len(rows))) as pool:
        outcomes = list(pool.map(lambda r: _attempt(r, applications.get(r.application_id)), rows))
    _record(attempt, rows, outcomes, report)
    return report


def _record(attempt: uuid.UUID, rows: list[_Claimed], outcomes: list[tuple[str, str]], report: DeliveryReport) -> None:
    """Write the outcomes of the rows this attempt still owns (a recovered claim is not overwritten)."""
    now = timezone.now()
    owned = CallbackDelivery.objects.filter(attempt_id=attempt, state=State.DELIVERING)
    with transaction.atomic():
        for row, (outcome, error) in zip(rows, outcomes, strict=True):
            if outcome == "retry" and row.attempts >= settings.EBOX_CALLBACK_MAX_ATTEMPTS:
                outcome, error = State.FAILED, f"attempts exhausted ({row.attempts}): {error}"
            if outcome == State.DELIVERED:
                report.delivered += owned.filter(pk=row.id).update(
                    state=State.DELIVERED, delivered_at=now, last_error=""
                )
            elif outcome == "retry":
                report.retried += owned.filter(pk=row.id).update(
                    state=State.PENDING, attempt_id=None, next_attempt_at=now + backoff(row.attempts), last_error=error
                )
            else:
                report.failed += owned.filter(pk=row.id).update(state=State.FAILED, last_error=error[:500])
                logger.warning("callback %s (message %s #%d) failed: %s", row.id, row.message_id, row.sequence, error)


def deliver(max_batches: int = 20) -> DeliveryReport:
    """Deliver what is due, batch after batch (a delivered callback makes its successor due), and
    ask for another task if work remains after `max_batches`. The task `senders.deliver_callbacks`."""
    total = DeliveryReport()
    for _ in range(max_batches):
        report = deliver_batch()
        for field in ("claimed", "delivered", "retried", "failed"):
            setattr(total, field, getattr(total, field) + getattr(report, field))
        if not report.claimed:
            return total
    dispatch_delivery()
    return total


def recover_stale(now: dt.datetime | None = None) -> int:
    """Claims of a lost worker (older than EBOX_CALLBACK_LEASE) go back to pending, due now: they
    may have reached the receiver, which dedupes on X-Ebox-Delivery. Returns how many."""
    now = now or timezone.now()
    recovered = CallbackDelivery.objects.filter(
        state=State.DELIVERING, claimed_at__lt=now - settings.EBOX_CALLBACK_LEASE
    ).update(state=State.PENDING, attempt_id=None, next_attempt_at=now, last_error="the worker was lost: sent again")
    if recovered:
        logger.warning("%d callback claim(s) of a lost worker taken back", recovered)
    return recovered


def deliver_due() -> DeliveryReport:
    """The beat job: recover stale claims, then deliver retries that are due."""
    recover_stale()
    return deliver()


def prune_delivered(now: dt.datetime | None = None) -> int:
    """Delete callbacks delivered more than EBOX_CALLBACK_RETENTION_DAYS ago (beat, daily); returns how many.

    Sequence counters stay: a message's later events keep counting from where it was."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.EBOX_CALLBACK_RETENTION_DAYS)
    deleted, _ = CallbackDelivery.objects.filter(state=State.DELIVERED, delivered_at__lt=cutoff).delete()
    return deleted


def requeue(ids: list[int]) -> int:
    """Operators: try failed callbacks again (and the later ones of their messages that failed behind them)."""
    with transaction.atomic():
        messages = CallbackDelivery.objects.filter(pk__in=ids, state=State.FAILED).values_list("message_id", flat=True)
        updated = CallbackDelivery.objects.filter(message_id__in=list(messages), state=State.FAILED).update(
            state=State.PENDING, attempt_id=None, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        if updated:
            transaction.on_commit(dispatch_delivery)
    return updated
