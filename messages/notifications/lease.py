"""The lease of a sending attempt's claims: renewed by a thread while the worker sends.

A claim (messages.notifications.sending) stamps `claimed_at`; while the attempt runs, this thread
moves it to "now" every quarter of EBOX_NOTIFICATION_LEASE, whatever the main thread is doing
(a slow SMTP server, a retry against a restarting PostgreSQL). A worker killed with SIGKILL takes
the thread with it, so its rows stop being renewed and recovery (messages.notifications.recovery)
takes them back one lease later: seconds, not the ten minutes a fixed "stale after" needed.

Why a lease rather than asking Celery which workers are alive: a ping needs the broker (an outage
would make every claim look dead, or none), and a worker name says nothing about which of its
attempts are still running. The lease is in the row the claim already owns, in PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import uuid

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# SKIP LOCKED: a row the sending thread is updating right now is being renewed anyway; the
# heartbeat never waits on a lock (nor on a test's open transaction).
_RENEW_SQL = """
UPDATE mailbox_emailnotification SET claimed_at = %(now)s
WHERE id IN (SELECT id FROM mailbox_emailnotification
             WHERE attempt_id = %(attempt)s AND status IN ('claimed', 'sending') FOR UPDATE SKIP LOCKED)
"""


class Lease:
    """`with Lease(attempt):` renews the attempt's claims until the block ends."""

    def __init__(self, attempt: uuid.UUID) -> None:
        self.attempt = attempt
        self.interval = max(0.05, settings.EBOX_NOTIFICATION_LEASE.total_seconds() / 4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{attempt}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(_RENEW_SQL, {"now": timezone.now(), "attempt": self.attempt})
                except DatabaseError as exc:
                    # PostgreSQL away: the next beat tries again on a fresh connection.
                    logger.warning("could not renew the lease of notification attempt %s: %s", self.attempt, exc)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection (Django's are per thread)
