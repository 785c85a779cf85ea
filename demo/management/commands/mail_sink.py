"""`manage.py mail_sink`: the development SMTP sink (demo.mailsink), shown at /dev/mail/ (demo.devmail)."""

import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.mailsink import start_sink


class Command(BaseCommand):
    help = "Run the development SMTP sink; e-mails land in <data>/mail/."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT or 1025)

    def handle(self, *args, port: int, **options) -> None:
        folder = Path(settings.DATA_DIR) / "mail"
        controller = start_sink(folder, port=port)
        self.stdout.write(f"SMTP sink on 127.0.0.1:{port}, writing to {folder}")
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
        done.wait()
        controller.stop()
