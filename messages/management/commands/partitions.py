"""`manage.py partitions`: the monthly partitions of every partitioned table; --ensure creates ahead and detaches."""

from django.core.management.base import BaseCommand

from messages.services import partitions


class Command(BaseCommand):
    help = (
        "List the monthly partitions (bounds, rows; default partitions counted exactly and flagged when not "
        "empty). --ensure first does what beat does: create the months ahead, detach those past retention."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true", help="Create months ahead and detach old ones first.")

    def handle(self, *args, ensure, **options):
        if ensure:
            report = partitions.ensure_partitions()
            for name in report.created:
                self.stdout.write(f"created  {name}")
            for name in report.detached:
                self.stdout.write(f"detached {name}")
            for name, why in report.kept:
                self.stdout.write(f"kept     {name}: {why}")
        for info in partitions.partition_listing():
            flag = (
                "  <- rows outside every month: see docs/operators.md" if info.bound == "DEFAULT" and info.rows else ""
            )
            self.stdout.write(f"{info.name:48} {info.rows:>12}  {info.bound}{flag}")
