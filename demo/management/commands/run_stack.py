"""`make run`: the whole service on one machine, with the embedded services.

Migrates, loads the demo data once, then starts and supervises: the web server
(gunicorn), a Celery worker, Celery beat, a local SMTP sink (mail readable at
/dev/mail/ and in .data/mail/) and, when Node.js is available, the development
identity provider (devidp/). Ctrl-C stops every process it started and the
embedded PostgreSQL and Redis; data stays in the data folder for the next run.

Each process writes its whole log to <data>/logs/<name>.log; the terminal shows only the web
access log, warnings and errors, so the banner (printed last, once the web server answers)
and what a developer triggers stay readable.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ebox.embedded import stop_postgres, stop_redis

# What reaches the terminal: gunicorn's access log lines, and anything at WARNING or above.
_ACCESS_LINE = re.compile(r'"[A-Z]+ \S+ HTTP/[0-9.]+" [0-9]{3} ')
_LOUD_LINE = re.compile(r"WARNING|ERROR|CRITICAL|Traceback|Exception")


def _forward(name: str, stream: IO[bytes], log_path: Path, terminal: IO[str]) -> None:
    """Copy a process's output to its log file; echo the lines a developer needs to see."""
    with open(log_path, "ab") as log:
        for raw in iter(stream.readline, b""):
            log.write(raw)
            log.flush()
            line = raw.decode(errors="replace").rstrip()
            if _ACCESS_LINE.search(line) or _LOUD_LINE.search(line):
                terminal.write(f"{name:>6} | {line}\n")
                terminal.flush()


def _wait_until_answering(url: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own local server
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Run web, worker, beat, the SMTP sink and the development IdP until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options) -> None:
        root = Path(settings.BASE_DIR)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo")
        # EBOX_DEV_MAIL_VIEW: the e-mails the SMTP sink receives are readable at /dev/mail/.
        # A short digest window, so that each demo publication's e-mail shows there within seconds.
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            PUBLIC_URL=f"http://{host}:{port}",
            EBOX_DEV_MAIL_VIEW="1",
            EBOX_NOTIFICATION_WINDOW_SECONDS=os.environ.get("EBOX_NOTIFICATION_WINDOW_SECONDS", "10"),
            EBOX_NOTIFICATION_POLL_SECONDS=os.environ.get("EBOX_NOTIFICATION_POLL_SECONDS", "2"),
        )
        # The development IdP serves the issuer the portal expects, with the same client credentials.
        env.setdefault("DEVIDP_ISSUER", settings.OIDC_ISSUER)
        env.setdefault("OIDC_RP_CLIENT_ID", settings.OIDC_RP_CLIENT_ID)
        env.setdefault("OIDC_RP_CLIENT_SECRET", settings.OIDC_RP_CLIENT_SECRET)
        python = sys.executable
        specs = [
            ("smtp", [python, "manage.py", "mail_sink"]),
            (
                "web",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "ebox.wsgi",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    "2",
                    "--access-logfile",
                    "-",
                    "--reload",
                ],
            ),
            ("worker", [python, "-m", "celery", "-A", "ebox", "worker", "-l", "INFO", "--concurrency", "2"]),
            (
                "beat",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "ebox",
                    "beat",
                    "-l",
                    "INFO",
                    "-s",
                    str(Path(settings.DATA_DIR) / "celerybeat-schedule"),
                ],
            ),
        ]
        idp = root / "devidp" / "server.js"
        if idp.exists() and shutil.which("node"):
            specs.append(("idp", ["node", str(idp)]))
        logs = Path(settings.DATA_DIR) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        processes: list[tuple[str, subprocess.Popen]] = []
        for name, cmd in specs:
            proc = subprocess.Popen(
                cmd, cwd=root, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            threading.Thread(
                target=_forward, args=(name, proc.stdout, logs / f"{name}.log", sys.stdout), daemon=True
            ).start()
            processes.append((name, proc))
        if not _wait_until_answering(f"http://{host}:{port}/healthz"):
            self.stderr.write(f"the web server did not answer within a minute; see {logs / 'web.log'}")
        self.stdout.write(
            self.style.SUCCESS(f"""
eBox is running at http://{host}:{port}/

  /                    the home page; log in as a demo citizen (e.g. 85073003328, Marie Dubois;
                       78110345605, Anna Schmitz, not activated yet)
  /inbox/              the citizen's messages
  /organisations/      the sending organisations      /statistics/  the figures
  /admin/              operators (create one with: .venv/bin/python manage.py createsuperuser)
  /api/v2/docs/        the API for sender applications and partner apps
  /dev/mail/           e-mails sent by the platform (development SMTP sink)

Logs of each process: {logs}/ (web, worker, beat, smtp, idp); here: the access log and warnings.
Ctrl-C stops everything; data is kept in {settings.DATA_DIR}.
""")
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in processes:
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping.")
                        stopping = True
                time.sleep(0.5)
        finally:
            for _, proc in processes:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            for _, proc in processes:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            if not os.environ.get("DATABASE_URL"):
                stop_postgres(Path(settings.DATA_DIR))
            if not os.environ.get("REDIS_URL"):
                stop_redis(Path(settings.DATA_DIR))
            self.stdout.write("Stopped.")
