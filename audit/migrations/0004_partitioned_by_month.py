"""The audit trail partitioned by month on the entries' time (audit.partitions, ebox.partitioning).

The append-only triggers are recreated on the partitioned table (row triggers reach every
partition; the TRUNCATE guard is copied onto each partition, which PostgreSQL does not do).
The function lets audit_prune()'s DELETE through on the partitions (whose
TG_TABLE_NAME is their own). The hash chain is untouched: ids, hashes and their order move as they are. Not reversible.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations

from audit.append_only import audit_function_sql, truncate_switch
from audit.partitions import AUDIT_ENTRIES
from ebox import partitioning


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        now = partitioning.month_start(dt.datetime.now(dt.UTC))
        oldest = partitioning.oldest_month(cursor, AUDIT_ENTRIES) or now
        month = max(min(oldest, now), partitioning.add_months(now, -120))
        last = partitioning.add_months(now, settings.EBOX_PARTITION_MONTHS_AHEAD)
        months = []
        while month <= last:
            months.append(month)
            month = partitioning.add_months(month, 1)
        partitioning.convert_to_partitioned(cursor, AUDIT_ENTRIES, months)
    # The trigger runs on the partitions now: audit_prune()'s DELETE reaches them by their own names.
    schema_editor.execute(audit_function_sql(truncate_switch()), params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_truncate_switch_only_in_tests")]

    operations = [migrations.RunPython(forwards, elidable=False)]  # irreversible: see the docstring
