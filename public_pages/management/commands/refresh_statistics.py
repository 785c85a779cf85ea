"""`manage.py refresh_statistics`: recompute the public statistics rollups by hand (beat does it on schedule)."""

from django.core.management.base import BaseCommand, CommandError

from public_pages.statistics import refresh_statistics


class Command(BaseCommand):
    help = "Recompute the rollups behind the public statistics (all history, or the last --months months)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--months", type=int, default=None, help="only the last N calendar months")

    def handle(self, *args, months: int | None = None, **options) -> None:
        if months is not None and months < 1:
            raise CommandError("--months must be at least 1")
        result = refresh_statistics(months)
        self.stdout.write(
            self.style.SUCCESS(
                f"Statistics refreshed since {result.since or 'the beginning'}: "
                f"{result.message_rows} monthly message row(s), {result.activation_rows} activation row(s)."
            )
        )
