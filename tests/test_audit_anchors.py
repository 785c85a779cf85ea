"""The audit trail against a database superuser: checkpoints anchored outside the database.

With `session_replication_role = replica` (no triggers) a superuser can edit an entry,
recompute every later hash and delete the checkpoints: the chain is then consistent in
itself, and only the anchors (files the database role cannot touch) show the rewrite.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from audit import services as audit
from audit.models import AuditCheckpoint, AuditEntry
from messages import signing

pytestmark = pytest.mark.django_db


def _entries(n: int) -> list[int]:
    return [
        audit.record(method="GET", url=f"/api/v2/thing/{i}", status_code=200, actor="client:abc", ids=[f"id-{i}"])[0]
        for i in range(n)
    ]


def _verify_audit(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return f"FAILED {exc}\n{err.getvalue()}"
    return out.getvalue()


def _superuser_rewrite(edited_id: int) -> None:
    """Edit an entry, recompute every later hash and the head, delete every checkpoint: no trigger fires."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("UPDATE audit_auditentry SET status_code = 204 WHERE id = %s", [edited_id])
            rows = list(AuditEntry.objects.filter(id__gte=edited_id).order_by("id"))
            prev = AuditEntry.objects.filter(id__lt=edited_id).order_by("-id").values_list("entry_hash", flat=True)
            prev_hash = prev.first() or audit.GENESIS_HASH
            for row in rows:
                text = audit.canonical_entry(
                    at=row.at, actor=row.actor, token_sha256=row.token_sha256, method=row.method,
                    url=row.url, status_code=row.status_code, ids=list(row.ids),
                )  # fmt: skip
                digest = audit.entry_hash(prev_hash, text)
                cursor.execute(
                    "UPDATE audit_auditentry SET prev_hash = %s, entry_hash = %s WHERE id = %s",
                    [prev_hash, digest, row.id],
                )
                prev_hash = digest
            cursor.execute("UPDATE audit_audithead SET entry_hash = %s", [prev_hash])
            cursor.execute("DELETE FROM audit_auditcheckpoint")
        finally:
            cursor.execute("SET session_replication_role = origin")


def test_a_chain_a_superuser_rewrote_whole_fails_against_the_anchors(audit_anchor_dir):
    ids = _entries(4)
    first = audit.sign_checkpoint()
    ids += _entries(3)
    second = audit.sign_checkpoint()
    assert sorted(p.name for p in audit_anchor_dir.iterdir()) == [
        f"checkpoint-{first.pk:012d}.json",
        f"checkpoint-{second.pk:012d}.json",
    ]
    assert "audit trail valid: 7 entries, 2 checkpoints, 2 anchors" in _verify_audit()

    _superuser_rewrite(ids[1])
    assert not AuditCheckpoint.objects.exists()
    report = _verify_audit()
    assert report.startswith("FAILED"), report
    assert f"first bad entry: {ids[3]}" in report  # the first anchored head the rewrite changed
    assert f"entry {ids[3]}: its hash differs from the head anchored by checkpoint {first.pk}" in report
    assert f"entry {ids[6]}: its hash differs from the head anchored by checkpoint {second.pk}" in report
    assert f"checkpoint {first.pk} (anchored): missing from the database but present in the anchors" in report

    # Neither verify_audit --checkpoint nor the beat task signs the rewritten chain.
    assert "no checkpoint signed" in _verify_audit("--checkpoint")
    with pytest.raises(audit.ChainBroken):
        audit.sign_checkpoint()
    assert not AuditCheckpoint.objects.exists() and len(list(audit_anchor_dir.iterdir())) == 2


def test_an_anchor_is_never_rewritten(audit_anchor_dir):
    _entries(2)
    checkpoint = audit.sign_checkpoint()
    path = audit_anchor_dir / f"checkpoint-{checkpoint.pk:012d}.json"
    before = path.read_bytes()
    from audit import anchors

    with pytest.raises(FileExistsError):
        anchors.write_anchor(checkpoint, "2000-01-01T00:00:00.000000Z")
    assert path.read_bytes() == before


def test_verify_audit_checkpoint_verifies_before_it_signs():
    ids = _entries(3)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_auditentry SET url = '/elsewhere' WHERE id = %s", [ids[1]])
        cursor.execute("SET session_replication_role = origin")
    report = _verify_audit("--checkpoint")
    assert report.startswith("FAILED") and "no checkpoint signed" in report, report
    assert not AuditCheckpoint.objects.exists()


def test_a_gap_in_checkpoint_ids_is_flagged(audit_anchor_dir):
    signed = []
    for _ in range(3):
        _entries(1)
        signed.append(audit.sign_checkpoint())
    assert "3 checkpoints, 3 anchors" in _verify_audit()
    # The middle checkpoint gone from the database and from the anchors alike.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE id = %s", [signed[1].pk])
        cursor.execute("SET session_replication_role = origin")
    (audit_anchor_dir / f"checkpoint-{signed[1].pk:012d}.json").unlink()
    report = _verify_audit()
    assert f"checkpoint {signed[1].pk} is missing (a gap in checkpoint ids)" in report, report


def test_a_stale_last_checkpoint_is_flagged():
    _entries(1)
    audit.sign_checkpoint()
    waiting = _entries(1)[0]
    with override_settings(EBOX_AUDIT_CHECKPOINT_SECONDS=1, EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS=1):
        assert "audit trail valid" in _verify_audit()  # waiting less than 1 × 1 s
        time.sleep(1.2)
        report = _verify_audit()
        assert report.startswith("FAILED") and "checkpoint stale" in report, report
        assert f"entry {waiting} has waited" in report
        audit.sign_checkpoint()
        assert "audit trail valid" in _verify_audit()


def test_the_signed_heads_are_public_for_third_parties_to_keep(client, audit_anchor_dir):
    _entries(2)
    checkpoint = audit.sign_checkpoint()
    response = client.get("/.well-known/audit-checkpoints.json")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    (item,) = response.json()["checkpoints"]
    anchored = json.loads((audit_anchor_dir / f"checkpoint-{checkpoint.pk:012d}.json").read_text())
    assert item == anchored
    assert item["entryHash"] == AuditEntry.objects.get(id=item["entryId"]).entry_hash
    # Verifiable with the public key alone.
    from audit import anchors

    (anchor,) = anchors.read_anchors()[0]
    assert signing.verify(anchors.signed_document(anchor), item["kid"], anchor.signature)
    assert client.get("/.well-known/audit-checkpoints.json?after=x").status_code == 400
    assert client.get(f"/.well-known/audit-checkpoints.json?after={checkpoint.pk}").json() == {"checkpoints": []}
