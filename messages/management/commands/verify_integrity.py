"""`manage.py verify_integrity`: run the integrity sweep now, with progress."""

from django.core.management.base import BaseCommand, CommandError

from messages import integrity
from messages.models import IntegritySweep


class Command(BaseCommand):
    help = (
        "Check sealed messages (decrypt, recompute the canonical document, verify the seal, decrypt and hash "
        "every attachment). Resumes from the sweep's stored cursor; by default runs to the end of the current pass."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Check at most this many messages.")
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--restart", action="store_true", help="Start a new pass from the first message.")

    def handle(self, *args, limit, batch_size, restart, **options):
        if restart:
            IntegritySweep.objects.filter(name=integrity.SWEEP_NAME).update(position=None, pass_started_at=None)

        def progress(result, total):
            of = f"/{total}" if total else ""
            self.stdout.write(f"  {result.checked}{of} checked, {result.failed} failed")

        result = integrity.sweep(limit=limit, batch_size=batch_size, full_pass=limit is None, progress=progress)
        if result.busy:
            raise CommandError("another integrity sweep is running; try again when it ends")
        summary = f"{result.checked} message(s) checked, {result.failed} integrity failure(s)"
        if result.passes_completed:
            summary += "; pass complete"
        if result.failed:
            raise CommandError(summary + " (see Integrity incidents in the admin)")
        self.stdout.write(self.style.SUCCESS(summary))
