"""The audit trail (ATREQ01–04): append-only, hash-chained, signed checkpoints, recorded by middleware."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from audit import services as audit
from audit.models import AuditCheckpoint, AuditEntry


def _entries(n: int) -> list[int]:
    return [
        audit.record(method="GET", url=f"/api/v2/thing/{i}", status_code=200, actor="client:abc", ids=[f"id-{i}"])[0]
        for i in range(n)
    ]


def _verify_audit() -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        return f"FAILED {exc}\n{err.getvalue()}"
    return out.getvalue()


def _without_trigger(sql: str, params=()) -> None:
    """What a superuser could do around the trigger: disable it, change rows, enable it again."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_entries_form_a_chain_that_verifies():
    ids = _entries(3)
    rows = list(AuditEntry.objects.order_by("id"))
    assert [r.id for r in rows] == ids
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].entry_hash and rows[2].prev_hash == rows[1].entry_hash
    # PostgreSQL computed the hash with the same formula the verifier uses.
    for row in rows:
        canonical = audit.canonical_entry(
            at=row.at,
            actor=row.actor,
            token_sha256=row.token_sha256,
            method=row.method,
            url=row.url,
            status_code=row.status_code,
            ids=row.ids,
        )
        assert audit.entry_hash(row.prev_hash, canonical) == row.entry_hash
    assert "audit trail valid: 3 entries" in _verify_audit()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET url = '/elsewhere'",
        "DELETE FROM audit_auditentry",
        "UPDATE audit_auditcheckpoint SET entry_id = 0",
        "DELETE FROM audit_auditcheckpoint",
    ],
)
def test_editing_or_deleting_audit_rows_fails(sql):
    _entries(2)
    audit.sign_checkpoint()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEntry.objects.count() == 2 and AuditCheckpoint.objects.count() == 1


@pytest.mark.django_db
def test_truncating_the_audit_trail_fails():
    _entries(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        # The test settings let Django's test runner empty tables; a normal session may not.
        cursor.execute("SET LOCAL ebox.audit_truncate_allowed = off")
        cursor.execute("TRUNCATE audit_auditentry")
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_orm_cannot_change_an_entry_either():
    entry = AuditEntry.objects.get(pk=_entries(1)[0])
    entry.url = "/forged"
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.delete()


@pytest.mark.django_db
def test_an_entry_edited_with_the_trigger_disabled_is_named():
    ids = _entries(5)
    _without_trigger("UPDATE audit_auditentry SET status_code = 204 WHERE id = %s", [ids[2]])
    report = _verify_audit()
    assert report.startswith("FAILED")
    assert f"first bad entry: {ids[2]}" in report
    assert f"entry {ids[2]}: its content does not match its hash" in report


@pytest.mark.django_db
def test_a_deleted_entry_is_named_by_the_next_one():
    ids = _entries(5)
    _without_trigger("DELETE FROM audit_auditentry WHERE id = %s", [ids[1]])
    report = _verify_audit()
    assert f"first bad entry: {ids[2]}" in report
    assert f"does not match entry {ids[0]}" in report


@pytest.mark.django_db
def test_a_rewritten_chain_or_a_truncated_tail_shows_against_the_signed_checkpoint():
    ids = _entries(4)
    checkpoint = audit.sign_checkpoint()
    assert checkpoint.entry_id == ids[-1]
    assert audit.sign_checkpoint() is None  # head unchanged: nothing new to sign
    assert "1 checkpoints" in _verify_audit()

    # Remove the newest two entries: the chain that remains is internally consistent…
    _without_trigger("DELETE FROM audit_auditentry WHERE id >= %s", [ids[2]])
    report = _verify_audit()
    # …but the checkpoint signed an entry that no longer exists.
    assert f"signed entry {ids[-1]} is missing" in report


@pytest.mark.django_db
def test_a_forged_checkpoint_does_not_verify():
    _entries(2)
    checkpoint = audit.sign_checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditcheckpoint SET signed_at = signed_at - interval '1 day'")
        cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER USER")
    assert f"checkpoint {checkpoint.pk}: signature does not verify" in _verify_audit()


# --- Recording requests ----------------------------------------------------------


@pytest.mark.django_db
def test_successful_api_calls_are_recorded_with_client_and_token_hash(client, publish, citizen, sender_application):
    message = publish(citizen.national_number)
    application = Application.objects.create(
        name="sender",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    sender_application.oauth_application = application
    sender_application.save()
    AccessToken.objects.create(
        application=application, token="secret-token", scope="evidence", expires=timezone.now() + dt.timedelta(1)
    )
    url = f"/api/v2/extensions/messages/{message.id}/evidence"
    assert client.get(url, HTTP_AUTHORIZATION="Bearer secret-token").status_code == 200
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401  # failures are not recorded

    entry = AuditEntry.objects.get()
    assert entry.actor == f"client:{application.client_id}"
    assert entry.token_sha256 == audit.token_digest("secret-token") != "secret-token"
    assert (entry.method, entry.url, entry.status_code) == ("GET", url, 200)
    assert entry.ids == [str(message.id)]


@pytest.mark.django_db
def test_portal_actions_are_recorded_under_a_keyed_hash_of_the_national_number(client, publish, citizen):
    user = get_user_model().objects.create_user("owner")
    citizen.user = user
    citizen.save()
    message = publish(citizen.national_number)
    client.force_login(user)

    client.get("/")  # a plain page view is not an action
    assert not AuditEntry.objects.exists()
    response = client.get(f"/inbox/{message.id}/evidence.json")  # the view touched a message
    assert response.status_code == 200
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})  # an authenticated POST

    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.method, e.status_code) for e in entries] == [("GET", 200), ("POST", 302)]
    assert entries[0].ids == [str(message.id)]
    assert entries[0].actor == audit.citizen_actor(citizen.national_number)
    assert citizen.national_number not in entries[0].actor
    assert "audit trail valid: 2 entries" in _verify_audit()


@pytest.mark.django_db
def test_the_admin_shows_the_trail_read_only(admin_client):
    entry_id = _entries(1)[0]
    assert admin_client.get("/admin/audit/auditentry/").status_code == 200
    page = admin_client.get(f"/admin/audit/auditentry/{entry_id}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
