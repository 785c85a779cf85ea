"""`manage.py load_demo`: the demo data and its history (demo.loader), then the statistics refresh."""

from django.core.management.base import BaseCommand

from demo.loader import load_demo, load_demo_history
from public_pages.statistics import refresh_statistics


class Command(BaseCommand):
    help = (
        "Load demo organisations, message types, citizens and sealed messages, with a history of "
        "back-dated campaigns for the statistics charts (once; safe to repeat), then refresh the statistics."
    )

    def handle(self, *args, **options) -> None:
        created = load_demo()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data: {organisations} organisation(s), {citizens} citizen(s), {messages} message(s) created.".format(
                    **created
                )
            )
        )
        history = load_demo_history()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo history: {organisations} organisation(s), {citizens} citizen(s), {messages} message(s) created.".format(
                    **history
                )
            )
        )
        result = refresh_statistics()
        self.stdout.write(self.style.SUCCESS(f"Statistics refreshed: {result.message_rows} monthly row(s)."))
