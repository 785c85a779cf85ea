"""PostgreSQL restarts under a running publisher: the API answers 503 (never 500) while it is
gone, and publishes again within seconds once it is back, with nothing lost or half-stored.

The web server is gunicorn with two sync workers and persistent connections (CONN_MAX_AGE 60),
as in production: the fault used to be a connection that died with the restart and was kept
by the hot-path cursor of ebox/db.py until its maximum age, answering 500 for up to a minute.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from ebox.embedded import restart_postgres
from messages.models import Message
from senders import services
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import message_json, multipart, token_session

CITIZEN = "85073003328"


@pytest.fixture
def gunicorn_url(gunicorn_factory):
    """gunicorn as production runs it (two workers, persistent connections) on the test database."""
    return gunicorn_factory()


def test_publications_recover_within_seconds_after_a_postgresql_restart(gunicorn_url, pdf_bytes):
    organisation = services.create_organisation("0308357159", {"fr": "SPF Finances"})
    message_type = MessageTypeFactory(organisation=organisation, message_type_id="tax")
    issued = services.create_sender_application(organisation, "myminfin")
    CitizenFactory(national_number=CITIZEN, activated=True)
    session = token_session(gunicorn_url, issued.client_id, issued.client_secret)

    def publish() -> requests.Response:
        data = message_json(CITIZEN, message_type.message_type_id)
        files = {"upfile1": ("letter.pdf", io.BytesIO(pdf_bytes), "application/pdf")}
        return session.post(f"{gunicorn_url}/api/v2/publishMessage", files=multipart(data, files), timeout=10)

    # Both workers hold a connection (and its prepared statements) before the restart.
    assert [publish().status_code for _ in range(6)] == [201] * 6

    restart_postgres(Path(settings.DATA_DIR))
    connection.close()  # this test process's own connection died with the restart too
    restarted_at = time.monotonic()

    answers = []
    first_success = None
    while time.monotonic() - restarted_at < 20 and len(answers) < 40:
        response = publish()
        answers.append(response)
        if response.status_code == 201 and first_success is None:
            first_success = time.monotonic() - restarted_at
    codes = [r.status_code for r in answers]

    assert 500 not in codes, codes
    assert first_success is not None and first_success < 5, codes
    failures = [r for r in answers if r.status_code != 201]
    # At most one failed request per worker connection that died, each a 503 to retry.
    assert len(failures) <= 2, codes
    for failure in failures:
        assert failure.status_code == 503, failure.text
        assert failure.headers["Retry-After"] == "5"
        assert failure.json()["code"] == "SERVICE_UNAVAILABLE"
    assert codes[-10:] == [201] * 10, codes

    # Nothing lost, nothing half-stored: exactly the acknowledged publications exist.
    assert Message.objects.count() == 6 + codes.count(201)
