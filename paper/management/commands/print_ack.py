"""`manage.py print_ack BATCH`: the print provider printed and posted this run."""

from django.core.management.base import BaseCommand, CommandError

from paper.services import batches


class Command(BaseCommand):
    help = "Mark the letters of a print run printed (the provider's acknowledgement)."

    def add_arguments(self, parser):
        parser.add_argument("batch", help="the batch id, e.g. PB-20261130-163000-3f2a1c")

    def handle(self, *args, **options):
        try:
            count = batches.acknowledge(options["batch"])
        except batches.UnknownBatch as exc:
            raise CommandError(f"no print run {exc}") from exc
        self.stdout.write(f"batch={options['batch']} printed={count}")
