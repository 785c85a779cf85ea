"""`manage.py verify_audit`: check the audit hash chain and its signed checkpoints; exit 1 on tampering."""

from django.core.management.base import BaseCommand, CommandError

from audit import services as audit


class Command(BaseCommand):
    help = "Verify the audit trail: every entry's hash chain and every signed checkpoint. Names the first bad entry."

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", action="store_true", help="Sign a checkpoint of the chain head first.")

    def handle(self, *args, **options):
        if options["checkpoint"]:
            audit.sign_checkpoint()
        report = audit.verify(progress=lambda n: self.stdout.write(f"  {n} entries checked…"))
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            first = f"; first bad entry: {report.first_bad_entry}" if report.first_bad_entry is not None else ""
            raise CommandError(f"audit trail INVALID ({len(report.problems)} problem(s){first})")
        self.stdout.write(
            self.style.SUCCESS(f"audit trail valid: {report.entries} entries, {report.checkpoints} checkpoints")
        )
