"""Issue 15, item 9: what protects citizens cannot be rewritten by operators or by the application's role."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit.append_only import access_log_function_sql, audit_function_sql
from citizens import services as citizen_services
from citizens.models import AccessLogEntry, Citizen


def test_operators_cannot_change_a_citizens_email_address_in_the_admin(admin_client, citizen):
    citizen.email = "own@example.org"
    citizen.save(update_fields=["email"])
    url = f"/admin/citizens/citizen/{citizen.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="email"' not in page.content and b"own@example.org" in page.content
    admin_client.post(url, {"email": "attacker@example.org", "preferred_language": "fr", "_save": "1"})
    assert Citizen.objects.get(pk=citizen.pk).email == "own@example.org"


def test_access_log_entries_cannot_be_deleted_or_changed(admin_client, citizen, publish):
    message = publish(citizen.national_number)
    citizen_services.log_access(citizen, message, AccessLogEntry.Action.OPENED)
    entry = AccessLogEntry.objects.get(citizen=citizen)
    assert admin_client.get(f"/admin/citizens/accesslogentry/{entry.pk}/delete/").status_code == 403
    answer = admin_client.post(
        "/admin/citizens/accesslogentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert answer.status_code in (200, 302)
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).update(accessor="nobody")
    # A deleted message leaves its entries, without the link (ON DELETE SET NULL).
    AccessLogEntry.objects.filter(pk=entry.pk).update(message=None)
    assert AccessLogEntry.objects.get(pk=entry.pk).action == AccessLogEntry.Action.OPENED


@pytest.mark.parametrize(
    "function_sql, table",
    [(audit_function_sql, "audit_auditentry"), (access_log_function_sql, "citizens_accesslogentry")],
)
def test_without_the_test_settings_the_truncate_switch_does_nothing(db, citizen, function_sql, table):
    """The functions as production's migration creates them: the session's switch is ignored."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(function_sql(False))
        cursor.execute("SET LOCAL ebox.audit_truncate_allowed = on")
        cursor.execute(f"TRUNCATE {table} CASCADE")
    # and the test database's functions (with the switch) are still in place after the rollback
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'audit_append_only'")
        assert "audit_truncate_allowed" in cursor.fetchone()[0]
