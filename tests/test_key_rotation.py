"""Key rotation while processes run: gunicorn (two workers) publishes and a Celery worker seals.

The faults these tests catch: each process cached its keys, so after `rotate_keys` web workers
kept wrapping new data keys under the old KEK; and a new seal key signed at once, before the
JWKS verifiers had cached (and that each web worker served from its own stale copy) listed it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings

from messages import crypto, signing
from messages.models import Message
from senders import services
from tests.conftest import ROOT
from tests.factories import CitizenFactory, MessageTypeFactory
from tests.publication_support import message_json, multipart, token_session

CITIZEN = "85073003328"
JWKS_MAX_AGE = 4  # seconds: short, so the test waits for a new seal key's time to come
VERIFIER = ROOT / "messages" / "verify_evidence.py"


@pytest.fixture
def stack(gunicorn_factory, celery_worker_factory, pdf_bytes):
    env = {"EBOX_JWKS_MAX_AGE_SECONDS": str(JWKS_MAX_AGE), "EBOX_SEAL_DISPATCH_SECONDS": "0"}
    celery_worker_factory(**env)
    url = gunicorn_factory(**env)
    organisation = services.create_organisation("0308357159", {"fr": "SPF Finances"})
    message_type = MessageTypeFactory(organisation=organisation, message_type_id="tax")
    issued = services.create_sender_application(organisation, "myminfin")
    CitizenFactory(national_number=CITIZEN, activated=True)
    session = token_session(url, issued.client_id, issued.client_secret, scope="publication evidence")

    def publish() -> Message:
        data = message_json(CITIZEN, message_type.message_type_id)
        files = {"upfile1": ("letter.pdf", io.BytesIO(pdf_bytes), "application/pdf")}
        response = session.post(f"{url}/api/v2/publishMessage", files=multipart(data, files), timeout=10)
        assert response.status_code == 201, response.text
        return Message.objects.select_related("content").get(id=response.json()["messageId"])

    return url, session, publish


def _sealed(message: Message, timeout: float = 20) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status == Message.Status.SEALED:
            return message
        time.sleep(0.1)
    pytest.fail(f"message {message.id} not sealed by the worker")


def _served_jwks(url: str) -> list[dict]:
    """The JWKS as each of gunicorn's two workers serves it (a few requests reach both)."""
    return [requests.get(f"{url}/.well-known/jwks.json", timeout=5).json() for _ in range(6)]


def test_after_rotate_keys_every_web_process_wraps_under_the_new_kek(stack):
    url, _, publish = stack
    before = [publish() for _ in range(4)]  # both web workers have loaded the keyring
    old = crypto.load_keyring().current_id
    assert {m.content.kek_id for m in before} == {old}

    for _ in range(2):  # a second rotation must not bring the first key back
        out = io.StringIO()
        call_command("rotate_keys", stdout=out)
        new = crypto.load_keyring().current_id
        assert new != old
        after = [publish() for _ in range(6)]
        assert {m.content.kek_id for m in after} == {new}, out.getvalue()
        assert f"every data key is under {new}" in out.getvalue()
        old = new


def test_a_new_seal_key_is_served_in_the_jwks_before_any_seal_uses_it(stack, tmp_path):
    url, session, publish = stack
    first = _sealed(publish())
    old_kid = first.seal_key_id
    _served_jwks(url)  # both web workers have loaded the keys

    with override_settings(EBOX_JWKS_MAX_AGE_SECONDS=JWKS_MAX_AGE):
        call_command("rotate_keys", "--seal", stdout=io.StringIO())
    keyring = signing.seal_keyring()
    new = keyring.keys[-1]
    assert new.kid != old_kid and new.valid_from > dt.datetime.now(dt.UTC)

    # Published at once by every web worker, with its period; the old key's period ends where it starts.
    for served in _served_jwks(url):
        by_kid = {key["kid"]: key for key in served["keys"]}
        assert by_kid[new.kid]["ebox_valid_from"] == new.valid_from.isoformat(timespec="microseconds").replace(
            "+00:00", "Z"
        )
        assert by_kid[new.kid]["ebox_valid_until"] is None
        assert by_kid[old_kid]["ebox_valid_until"] == by_kid[new.kid]["ebox_valid_from"]
    response = requests.get(f"{url}/.well-known/jwks.json", timeout=5)
    assert f"max-age={JWKS_MAX_AGE}" in response.headers["Cache-Control"]

    # Until its time, the worker still seals with the old key.
    assert _sealed(publish()).seal_key_id == old_kid
    time.sleep(max(0.0, (new.valid_from - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)
    fresh = _sealed(publish())
    assert fresh.seal_key_id == new.kid

    # Fresh evidence (signed by a web worker, sealed by the worker) verifies with only the served JWKS.
    response = session.get(f"{url}/api/v2/extensions/messages/{fresh.id}/evidence", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["signature"]["kid"] == new.kid if "signature" in response.json() else True
    evidence_file, jwks_file = tmp_path / "evidence.json", tmp_path / "jwks.json"
    evidence_file.write_text(response.text)
    jwks_file.write_text(requests.get(f"{url}/.well-known/jwks.json", timeout=5).text)
    result = subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(evidence_file), "--jwks", str(jwks_file)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(jwks_file.read_text())["keys"][-1]["kid"] == new.kid
