"""`manage.py print_batch [--out DIR] [--limit N]`: write one print run of the queued letters."""

from django.core.management.base import BaseCommand

from paper.services import batches


class Command(BaseCommand):
    help = "Write the queued paper letters as one print run (PDFs, manifest, checksums) into a folder."

    def add_arguments(self, parser):
        parser.add_argument("--out", help="output folder (default: EBOX_PRINT_OUT_DIR, else .data/print)")
        parser.add_argument("--limit", type=int, help="at most this many letters (default: EBOX_PRINT_BATCH_MAX)")

    def handle(self, *args, **options):
        batch = batches.print_batch(options["out"], options["limit"])
        if batch is None:
            self.stdout.write("nothing to print")
            return
        self.stdout.write(
            f"batch={batch.id} letters={batch.letters} sheets={batch.sheets} folder={batch.out_dir}/{batch.id}"
        )
