"""`manage.py verify_integrity`: run the integrity sweep now, with progress."""

from django.core.management.base import BaseCommand, CommandError

from messages import integrity
from messages.models import IntegritySweep


class Command(BaseCommand):
    help = (
        "Check sealed messages (decrypt, recompute the canonical document, verify the seal, decrypt and hash "
        "every attachment), then citizens' replies likewise. Resumes from the sweeps' stored cursors; by default "
        "runs to the end of the current passes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Check at most this many messages (and replies).")
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument("--restart", action="store_true", help="Start new passes from the first message and reply.")

    def handle(self, *args, limit, batch_size, restart, **options):
        if restart:
            IntegritySweep.objects.filter(name__in=[integrity.SWEEP_NAME, integrity.REPLY_SWEEP_NAME]).update(
                position=None, pass_started_at=None
            )
        failed, summaries = 0, []
        for what, run in (("message(s)", integrity.sweep), ("reply(ies)", integrity.sweep_replies)):

            def progress(result, total, what=what):
                of = f"/{total}" if total else ""
                self.stdout.write(f"  {what}: {result.checked}{of} checked, {result.failed} failed")

            result = run(limit=limit, batch_size=batch_size, full_pass=limit is None, progress=progress)
            if result.busy:
                raise CommandError("another integrity sweep is running; try again when it ends")
            summary = f"{result.checked} {what} checked, {result.failed} integrity failure(s)"
            if result.passes_completed:
                summary += "; pass complete"
            summaries.append(summary)
            failed += result.failed
        if failed:
            raise CommandError("; ".join(summaries) + " (see Integrity incidents in the admin)")
        self.stdout.write(self.style.SUCCESS("; ".join(summaries)))
