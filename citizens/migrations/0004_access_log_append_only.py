"""The access log is append-only in the database (audit/append_only.py)."""

from django.db import migrations

from audit.append_only import (
    ACCESS_LOG_TRIGGERS_SQL,
    DROP_ACCESS_LOG_TRIGGERS_SQL,
    access_log_function_sql,
    truncate_switch,
)


def forwards(apps, schema_editor):
    schema_editor.execute(access_log_function_sql(truncate_switch()), params=None)
    schema_editor.execute(ACCESS_LOG_TRIGGERS_SQL, params=None)


def backwards(apps, schema_editor):
    schema_editor.execute(DROP_ACCESS_LOG_TRIGGERS_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("citizens", "0003_delivery_pending_email_postal_address_acknowledged"), ("audit", "0003_truncate_switch_only_in_tests")]

    operations = [migrations.RunPython(forwards, backwards)]
