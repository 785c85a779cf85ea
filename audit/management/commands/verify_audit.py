"""`manage.py verify_audit`: check the audit hash chain, its signed checkpoints and their anchors; exit 1 on tampering."""

from django.core.management.base import BaseCommand, CommandError

from audit import services as audit


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every entry's hash chain, every signed checkpoint, the database against the "
        "anchors in EBOX_AUDIT_ANCHOR_DIR, gaps in checkpoint ids and a stale last checkpoint. Names the first bad entry."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint", action="store_true", help="Then, if the trail is valid, sign (and anchor) the chain head."
        )

    def handle(self, *args, **options):
        report = audit.verify(progress=lambda n: self.stdout.write(f"  {n} entries checked…"))
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            first = f"; first bad entry: {report.first_bad_entry}" if report.first_bad_entry is not None else ""
            refused = "; no checkpoint signed" if options["checkpoint"] else ""
            raise CommandError(f"audit trail INVALID ({len(report.problems)} problem(s){first}){refused}")
        self.stdout.write(
            self.style.SUCCESS(
                f"audit trail valid: {report.entries} entries, {report.checkpoints} checkpoints, {report.anchors} anchors"
            )
        )
        if options["checkpoint"]:
            # Verified first, so a checkpoint never vouches for a broken chain.
            try:
                checkpoint = audit.sign_checkpoint()
            except audit.ChainBroken as exc:  # an entry changed since the walk above
                raise CommandError(f"audit trail INVALID ({exc}); no checkpoint signed") from exc
            if checkpoint is None:
                self.stdout.write("chain head unchanged since the last checkpoint: nothing to sign")
            else:
                self.stdout.write(f"checkpoint {checkpoint.pk} signed and anchored at entry {checkpoint.entry_id}")
