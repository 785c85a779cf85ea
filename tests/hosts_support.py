"""Application hosts the tests start as production runs them: gunicorn and a Celery worker per host,
each with its own data folder, all on this session's PostgreSQL and Redis (passed explicitly as
DATABASE_URL / REDIS_URL), with keys provided in the environment (EBOX_ENV=production)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings

from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent


def services_env() -> dict[str, str]:
    """DATABASE_URL and REDIS_URL of this session's servers (Unix sockets in its data folder)."""
    db = settings.DATABASES["default"]
    return {
        "DATABASE_URL": f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}&port={db['PORT']}",
        "REDIS_URL": settings.REDIS_URL,
    }


def provided_keys() -> dict[str, str]:
    """This test process's keys, in the form production takes them, so hosts and tests agree."""
    from messages import crypto, signing

    keyring = crypto.load_keyring()
    kek_ids = [keyring.current_id] + sorted(k for k in keyring.keys if k != keyring.current_id)
    current, seal_keys = signing.load_seal_keys()
    kids = [current] + sorted(k for k in seal_keys if k != current)

    def raw(key) -> str:
        return base64.b64encode(
            key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        ).decode()

    return {
        "SECRET_KEY": settings.SECRET_KEY,
        "EBOX_CLIENT_SECRET_KEY": settings.EBOX_CLIENT_SECRET_KEY,
        "EBOX_AUDIT_HMAC_KEY": settings.EBOX_AUDIT_HMAC_KEY,
        "EBOX_KEK": ",".join(f"{i}:{base64.b64encode(keyring.keys[i]).decode()}" for i in kek_ids),
        "EBOX_SEAL_KEYS": ",".join(f"{kid}:{raw(seal_keys[kid])}" for kid in kids),
    }


def production_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A production process's environment: nothing inherited from the test session's EBOX_* or e-mail setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EBOX_", "DJANGO_", "AWS_")) and k != "EMAIL_URL"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ebox.settings",
            "EBOX_ENV": "production",
            "EBOX_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "EBOX_SEAL_DISPATCH_SECONDS": "0",
            "EBOX_NOTIFICATION_DISPATCH_SECONDS": "0",
        }
    )
    env.update(extra)
    return env


@dataclass
class Host:
    """One application host: a web process (gunicorn) and a Celery worker, on its own data folder."""

    name: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, role: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.data_dir / f"{role}.log", "w+")
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.log = log
        self.procs[role] = proc
        return proc

    def log(self, role: str) -> str:
        return (self.data_dir / f"{role}.log").read_text()

    def start_web(self, python: str = sys.executable) -> None:
        gunicorn = str(Path(python).parent / "gunicorn")
        self._spawn("web", [gunicorn, "ebox.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.procs["web"].poll() is not None:
                raise AssertionError(f"{self.name} web exited: {self.log('web')}")
            try:
                if requests.get(self.url + "/healthz", timeout=10).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} web did not answer: {self.log('web')}")

    def start_worker(self, python: str = sys.executable) -> None:
        node = f"{self.name}-{time.monotonic_ns()}"
        self._spawn(
            "worker",
            [python, "-m", "celery", "-A", "ebox", "worker", "--concurrency=1", "--pool=prefork",
             "--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"{node}@%h", "-l", "INFO"],
        )  # fmt: skip
        from ebox.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.procs["worker"].poll() is not None:
                raise AssertionError(f"{self.name} worker exited: {self.log('worker')}")
            replies = app.control.ping(timeout=0.5)
            if any(h.startswith(f"{node}@") for reply in replies for h in reply):
                return
        raise AssertionError(f"{self.name} worker did not answer: {self.log('worker')}")

    def stop(self, role: str) -> None:
        proc = self.procs.pop(role, None)
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        proc.log.close()

    def stop_all(self) -> None:
        for role in list(self.procs):
            self.stop(role)

    def manage(self, *args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
