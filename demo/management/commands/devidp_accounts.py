"""Write the development IdP's accounts (devidp/accounts.json) from the demo citizens."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.data import DEMO_CITIZENS

FIELDS = ("national_number", "given_name", "family_name", "email")


def accounts_json() -> str:
    return json.dumps([{k: c[k] for k in FIELDS} for c in DEMO_CITIZENS], indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write devidp/accounts.json (the development IdP's accounts) from demo.data.DEMO_CITIZENS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", default=str(Path(settings.BASE_DIR) / "devidp" / "accounts.json"))

    def handle(self, *args, output: str, **options) -> None:
        Path(output).write_text(accounts_json())
        self.stdout.write(f"wrote {output}")
