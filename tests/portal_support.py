"""Fixtures for the portal tests: the development IdP (node devidp/server.js) and an SMTP sink."""

from __future__ import annotations

import email
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def devidp(live_server):
    """The development OpenID Connect provider, with the live server's callback URL registered."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the development IdP (apt-get install nodejs; npm ci)")
    proc = subprocess.Popen(
        [node, str(ROOT / "devidp" / "server.js")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DEVIDP_ISSUER": issuer, "PUBLIC_URL": live_server.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"development IdP did not start: {proc.stdout.read().decode()}")
            time.sleep(0.1)
    yield issuer
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def oidc_settings(settings, devidp):
    """Point mozilla-django-oidc at the development IdP of this session."""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{devidp}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{devidp}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{devidp}/me"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{devidp}/jwks"
    settings.OIDC_OP_LOGOUT_ENDPOINT = f"{devidp}/session/end"
    settings.OIDC_RP_CLIENT_SECRET = "development-only-not-a-secret"
    return settings


class Sink:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def wait_for(self, count: int = 1, timeout: float = 30) -> list[email.message.Message]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"expected {count} e-mail(s), got {len(self.messages)}")
            time.sleep(0.1)
        return self.messages


@pytest.fixture
def smtp_sink(settings, monkeypatch):
    """A real SMTP server (aiosmtpd) on a free port; this process and the worker processes send to it."""
    from aiosmtpd.controller import Controller

    port = free_port()
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    monkeypatch.setenv("EMAIL_URL", f"smtp://127.0.0.1:{port}")
    yield sink
    controller.stop()
