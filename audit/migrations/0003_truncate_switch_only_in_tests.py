"""The audit trigger's TRUNCATE switch exists only where EBOX_AUDIT_TRUNCATE_SWITCH is set (tests)."""

from django.db import migrations

from audit.append_only import audit_function_sql, truncate_switch


def forwards(apps, schema_editor):
    schema_editor.execute(audit_function_sql(truncate_switch()), params=None)


def backwards(apps, schema_editor):
    schema_editor.execute(audit_function_sql(True), params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_prune")]

    operations = [migrations.RunPython(forwards, backwards)]
