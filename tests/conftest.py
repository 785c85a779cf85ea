"""Shared fixtures. Every test runs on the real embedded PostgreSQL and Redis of this session."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from ebox.pdf import simple_pdf
from messages.services import publishing, sealing
from tests.factories import CitizenFactory, MessageTypeFactory, OrganisationFactory, SenderApplicationFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def audit_anchor_dir(tmp_path, monkeypatch):
    """Each test anchors its audit checkpoints in its own folder, as its database starts empty
    (processes it starts inherit the folder through the environment)."""
    folder = tmp_path / "audit-anchors"
    monkeypatch.setenv("EBOX_AUDIT_ANCHOR_DIR", str(folder))
    monkeypatch.setattr(settings, "EBOX_AUDIT_ANCHOR_DIR", folder)
    return folder


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def sender_application(organisation):
    return SenderApplicationFactory(organisation=organisation)


@pytest.fixture
def message_type(organisation):
    return MessageTypeFactory(organisation=organisation)


@pytest.fixture
def citizen(db):
    return CitizenFactory(activated=True)


@pytest.fixture
def pdf_bytes() -> bytes:
    return simple_pdf("Test letter", ["A line of text."])


@pytest.fixture
def publish(sender_application, message_type, pdf_bytes):
    """Publish a message through the service (not the API) and seal it; returns the Message."""

    def _publish(recipient: str, seal: bool = True, **overrides):
        new = publishing.NewMessage(
            sender_application=overrides.pop("sender_application", sender_application),
            message_type=overrides.pop("message_type", message_type),
            recipient_type="citizen",
            recipient_id=recipient,
            subject=overrides.pop("subject", {"fr": "Sujet de test", "nl": "Testonderwerp"}),
            body=overrides.pop("body", {"fr": "Corps du message", "nl": "Inhoud van het bericht"}),
            attachments=overrides.pop(
                "attachments",
                [
                    publishing.AttachmentUpload(
                        file=io.BytesIO(pdf_bytes),
                        file_name="letter.pdf",
                        media_type="application/pdf",
                        main_content=True,
                    )
                ],
            ),
            **overrides,
        )
        message = publishing.publish_message(new)
        if seal:
            sealing.seal_messages([message.id])
            message.refresh_from_db()
        return message

    return _publish


def reset_broker_connections() -> None:
    """Drop this process's pooled broker connections (after a test stopped and restarted Redis)."""
    from kombu import pools

    from ebox.celery import app

    pools.reset()  # closes and forgets kombu's process-wide connection and producer pools
    app._pool = None  # Celery takes a fresh pool on next use
    app.amqp._producer_pool = None


def service_env(**extra: str) -> dict[str, str]:
    """Environment for a process the tests start: same data folder, the test database."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ebox.test_settings",
            "EBOX_DATABASE_NAME": settings.DATABASES["default"]["NAME"],
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def _start_worker(extra_env: dict[str, str], concurrency: int = 1, python: str = sys.executable):
    """Start a real Celery worker process (its own process group) and wait until it answers.

    `python`: the interpreter to run it with (another virtualenv's, to test an installation)."""
    name = f"test-{time.monotonic_ns()}"
    log = open(Path(settings.DATA_DIR) / f"worker-{name}.log", "w+")
    proc = subprocess.Popen(
        [
            python,
            "-m",
            "celery",
            "-A",
            "ebox",
            "worker",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}@%h",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=service_env(**extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log = log
    from ebox.celery import app

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"worker exited: {log.read()}")
            try:
                replies = app.control.ping(timeout=0.5)
            except (OSError, redis.ConnectionError):  # a pooled connection to a Redis a test restarted
                reset_broker_connections()
                continue
            if any(host.startswith(f"{name}@") for reply in replies for host in reply):
                return proc
        log.seek(0)
        pytest.fail(f"worker did not answer: {log.read()}")
    except BaseException:
        _stop_worker(proc)  # never leave a worker (and its pool) running after a failed start
        raise


def _stop_worker(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    proc.log.close()


@pytest.fixture
def celery_worker_factory(transactional_db):
    """Start real Celery workers with extra environment (e.g. EMAIL_URL); all are stopped after the test.

    Workers run in their own process group, so `os.killpg(proc.pid, signal.SIGKILL)` kills the
    pool children too (a crash in the middle of a task)."""
    started = []

    def start(concurrency: int = 1, python: str = sys.executable, **extra_env: str):
        proc = _start_worker(extra_env, concurrency, python)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        _stop_worker(proc)


@pytest.fixture
def celery_worker_process(celery_worker_factory):
    """A real Celery worker process on this session's Redis and test database."""
    return celery_worker_factory()


from tests.browser import browser, page  # noqa: E402,F401 - shared browser fixtures
from tests.s3_support import s3_server  # noqa: E402,F401 - moto's S3 server, for the storage and hosts tests
from tests.web_support import gunicorn_factory  # noqa: E402,F401 - shared web server fixture

FUZZ_EXAMPLES = 25  # generated calls per API operation in the suite (tests/test_fuzz_api.py)


def pytest_addoption(parser):
    parser.addoption(
        "--calls", type=int, default=None, help="tests/test_fuzz_api.py: generated calls, spread over the operations"
    )


def pytest_configure(config):
    # Hypothesis' settings are read when the fuzz test is decorated (at import): set them here.
    from hypothesis import settings as hypothesis_settings

    calls = config.getoption("--calls")
    operations = 37  # of /api/v2/schema/ (docs/openapi.yaml); only sizes the long run
    hypothesis_settings.register_profile(
        "ebox", max_examples=max(1, calls // operations) if calls else FUZZ_EXAMPLES, database=None
    )
    hypothesis_settings.load_profile("ebox")
