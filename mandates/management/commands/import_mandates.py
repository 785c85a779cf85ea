"""`manage.py import_mandates FILE`: mandates from the official register (directors, parents, guardians).

The CSV format is in docs/operators.md (mandates.register). Every row is checked first; on any error
nothing is imported and the errors are printed with their line numbers. Importing again is harmless.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mandates import services


class Command(BaseCommand):
    help = "Import mandates from a register CSV file (all rows or none)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        with translation.override("en"):  # operators read the errors in English, as the other commands'
            self._import(file)

    def _import(self, file: Path) -> None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        try:
            created, kept = services.import_register(text)
        except services.RegisterRefused as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(exc.errors)} error(s): nothing imported") from exc
        self.stdout.write(f"{created} mandate(s) created, {kept} already there (updated if changed)")
