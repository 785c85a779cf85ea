from django.core.management.base import BaseCommand

from ebox.demo import load_demo


class Command(BaseCommand):
    help = "Load demo organisations, message types, citizens and sealed messages (once; safe to repeat)."

    def handle(self, *args, **options) -> None:
        created = load_demo()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data: {organisations} organisation(s), {citizens} citizen(s), {messages} message(s) created.".format(
                    **created
                )
            )
        )
