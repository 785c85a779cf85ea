"""A DELETE of audit entries needs, besides the pruning switch, a prune record covering the entry.

`ebox.audit_pruning` is a custom setting any role may set; with it alone, a role holding DELETE
(the application's own, where it owns the tables) could erase entries. The trigger now also
requires an `audit_auditprune` row at or after the entry, as `audit_prune()` always has.
"""

from django.db import migrations

from audit.append_only import audit_function_sql, truncate_switch


def forwards(apps, schema_editor):
    schema_editor.execute(audit_function_sql(truncate_switch()), params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_partitioned_by_month")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
