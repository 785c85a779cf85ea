"""Retention of the audit trail: entries older than EBOX_AUDIT_RETENTION_DAYS (ten years) are pruned.

`prune()` (beat, nightly) finds the longest prefix of the chain (in id order) whose entries are
all older than the cutoff, signs an `AuditPrune` record (through which entry, the hash of that
entry, the cutoff, how many) with the platform seal key, and calls the database function
`audit_prune(through_id)` in the same transaction. That SECURITY DEFINER function is the only
path that can delete audit entries: the append-only trigger lets a DELETE through only while
the function has set `ebox.audit_pruning` for its own statement, and the function refuses to
run without a prune record for exactly that entry. In production grant the application's role
EXECUTE on `audit_prune(bigint)` and keep it without DELETE on the audit tables.

`audit.services.verify()` then starts the chain at the newest prune's anchor hash (the first
kept entry names it as its previous hash) and checks every prune's signature; checkpoints of
pruned entries keep their signatures, which still verify.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEntry, AuditPrune
from messages import signing


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def prune_document(prune: AuditPrune) -> dict:
    return {
        "type": "ebox-audit-prune",
        "throughEntryId": prune.through_entry_id,
        "anchorHash": prune.anchor_hash,
        "cutoff": _timestamp(prune.cutoff),
        "prunedCount": prune.pruned_count,
        "signedAt": _timestamp(prune.signed_at),
    }


def verify_prune(prune: AuditPrune) -> bool:
    return signing.verify(prune_document(prune), prune.kid, bytes(prune.signature))


def newest_prune() -> AuditPrune | None:
    return AuditPrune.objects.order_by("-through_entry_id").first()


@transaction.atomic
def prune(now: dt.datetime | None = None) -> AuditPrune | None:
    """Prune the entries past retention behind a signed record; None when there is nothing to prune."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.EBOX_AUDIT_RETENTION_DAYS)
    first_kept = AuditEntry.objects.filter(at__gte=cutoff).order_by("id").values_list("id", flat=True).first()
    prefix = AuditEntry.objects.all() if first_kept is None else AuditEntry.objects.filter(id__lt=first_kept)
    last = prefix.order_by("-id").values_list("id", "entry_hash").first()
    if last is None:
        return None
    record = AuditPrune(
        through_entry_id=last[0],
        anchor_hash=last[1],
        cutoff=cutoff,
        pruned_count=prefix.count(),
        signed_at=now,
    )
    record.kid, signature = signing.sign(prune_document(record))
    record.signature = signature
    record.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_prune(%s)", [record.through_entry_id])
    return record
