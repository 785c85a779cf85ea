"""A Redis outage during publication delays sealing and loses nothing; with Redis up, a real worker seals."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.conf import settings

from ebox.embedded import ensure_redis, redis_socket, stop_redis
from messages.models import Message
from messages.services import sealing
from tests.conftest import reset_broker_connections
from tests.factories import CitizenFactory
from tests.publication_support import message_json, multipart
from tests.test_publication import CITIZEN, _make_integrator

BODY_ONLY = {"bodyContent": {"fr": "Bonjour"}, "bodyMainContent": True, "attachments": []}


@pytest.fixture
def integrator(transactional_db, live_server):
    CitizenFactory(national_number=CITIZEN, activated=True)
    return _make_integrator(live_server.url, "0308357159", "myminfin", "tax")


def _publish(it):
    data = message_json(messageTypeId="tax", **BODY_ONLY)
    return it.session.post(f"{it.url}/api/v2/publishMessage", files=multipart(data))


def test_redis_down_during_publication_then_back(integrator):
    data_dir = settings.DATA_DIR
    stop_redis(data_dir)
    try:
        assert not redis_socket(data_dir).exists()
        started = time.monotonic()
        response = _publish(integrator)
        elapsed = time.monotonic() - started
        assert response.status_code == 201, response.text
        # The broker error is caught after a short retry: the publication does not hang on Redis.
        assert elapsed < 3, elapsed
        print(f"publication with Redis down answered in {elapsed:.2f} s")
        message = Message.objects.get(id=response.json()["messageId"])
        assert message.status == Message.Status.ACCEPTED
    finally:
        ensure_redis(data_dir)
        # This process's pooled broker connections point at the Redis that was stopped.
        reset_broker_connections()
    # Beat's job (a thin task over this service) finds the work in PostgreSQL and seals it.
    assert sealing.redispatch_pending(older_than=dt.timedelta(0)) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SEALED and message.seal


@pytest.mark.worker
def test_a_real_worker_seals_what_was_published(integrator, celery_worker_process):
    message_id = _publish(integrator).json()["messageId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if Message.objects.filter(id=message_id, status=Message.Status.SEALED).exists():
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker did not seal the message")
