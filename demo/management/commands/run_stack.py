"""`make run`: the whole service on one machine, with the embedded services.

Migrates, loads the demo data once, then starts and supervises: the web server
(gunicorn), a Celery worker, Celery beat, a local SMTP sink (mail readable at
/dev/mail/ and in .data/mail/) and, when Node.js is available, the development
identity provider (devidp/). Ctrl-C stops every process it started and the
embedded PostgreSQL and Redis; data stays in the data folder for the next run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ebox.embedded import stop_postgres, stop_redis


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
        processes: list[tuple[str, subprocess.Popen]] = []
        for name, cmd in specs:
            processes.append((name, subprocess.Popen(cmd, cwd=root, env=env, start_new_session=True)))
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
