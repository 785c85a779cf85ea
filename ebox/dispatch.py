"""Queueing Celery work from services: by task name, after commit, and coalesced.

Services never import tasks (tasks import services): they queue work by the task's
registered name with `send_task` (already committed) or `send_task_on_commit`.

Coalescing (`CoalescingDispatcher`): many "there is work" signals in a process, one task per interval.
Profiling showed a Celery send (~0.5 ms: a Redis round trip and kombu's message building) as
one of the largest costs of a publication and of a sealing batch. The work itself is always
committed in PostgreSQL before it is signalled, and beat finds it there (re-dispatch of
unsealed messages, the poll for due e-mails), so a dispatch delayed by a fraction of a second,
or lost with its process, delays work and loses none.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def send_task(name: str, *args: object, **kwargs: object) -> None:
    """Queue the Celery task registered as `name` with these (JSON) arguments, now.

    Like the task's `.delay(*args)`: with CELERY_TASK_ALWAYS_EAGER the task runs here (tests,
    development), its module imported by the app's autodiscovery if it was not yet (`send_task`
    alone ignores that setting). Broker errors propagate (callers that tolerate an outage catch them).
    """
    app = current_app
    if app.conf.task_always_eager:
        if name not in app.tasks:
            app.loader.import_default_modules()  # autodiscovery: every installed app's tasks
        app.tasks[name].apply_async(args, kwargs)
    else:
        app.send_task(name, args=args, kwargs=kwargs)


def send_task_on_commit(name: str, *args: object, **kwargs: object) -> None:
    """`send_task` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: send_task(name, *args, **kwargs))


class CoalescingDispatcher:
    """Gathers items and hands them to `send` from a background thread, once per interval.

    `interval` is read on every wait (settings may change in tests); `batch`, when set, wakes
    the thread as soon as that many items wait. The thread is started on first use in each
    process (so a forked worker gets its own), and what is left is flushed at exit.
    """

    def __init__(self, name: str, send: Callable[[list], None], interval: Callable[[], float], batch: int = 0) -> None:
        self._name = name
        self._send = send
        self._interval = interval
        self._batch = batch
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: list = []
        self._pid: int | None = None

    def add(self, items: list) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._pid = os.getpid()
                self._pending = []
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
                atexit.register(self.flush)
            self._pending.extend(items)
            full = self._batch and len(self._pending) >= self._batch
        if full:
            self._wake.set()

    def flush(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
        if items:
            self._send(items)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval())
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # pragma: no cover - never let the thread die; beat recovers the work
                logger.exception("%s failed; beat will pick the work up", self._name)
