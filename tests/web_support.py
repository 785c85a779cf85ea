"""A web server process for the tests that need one as production runs it: gunicorn, two sync
workers, persistent connections, on this session's database and data folder (so the same keys)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.conftest import ROOT, service_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_factory(transactional_db):
    """Start gunicorn with extra environment; returns its base URL. Every server stops after the test."""
    started = []

    def start(**extra_env: str) -> str:
        port = _free_port()
        log = open(Path(settings.DATA_DIR) / f"gunicorn-{port}.log", "w+")  # noqa: SIM115 - closed below
        env = service_env(EBOX_TEST_CONN_MAX_AGE="60", **extra_env)
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ebox.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((proc, log))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    return url
            except requests.RequestException:
                time.sleep(0.2)
        log.seek(0)
        pytest.fail(f"gunicorn did not start: {log.read()}")

    yield start
    for proc, log in started:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # a worker that does not finish its graceful stop
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
