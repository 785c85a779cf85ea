"""Anchors of the audit trail outside the database: each signed checkpoint, also as a file.

A database superuser can rewrite the whole chain (recompute every later hash with
`session_replication_role = replica`, delete the checkpoints), which the chain alone cannot
show. So `sign_checkpoint` also writes every checkpoint to `EBOX_AUDIT_ANCHOR_DIR`, one file
per checkpoint named by its id, created with O_EXCL and never rewritten; `verify()` checks
the database against them (`check_against_anchors`). In production that folder is mounted
from storage the database role cannot write, with its own credentials (for example a bucket
with object lock); the public `/.well-known/audit-checkpoints.json` lets third parties keep
copies of the signed heads too.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from audit.models import AuditCheckpoint


@dataclass(frozen=True)
class Anchor:
    checkpoint_id: int
    entry_id: int
    entry_hash: str
    signed_at: str  # as signed (checkpoint_document's signedAt)
    kid: str
    signature: bytes


def _folder() -> Path:
    return Path(settings.EBOX_AUDIT_ANCHOR_DIR)


def _name(checkpoint_id: int) -> str:
    return f"checkpoint-{checkpoint_id:012d}.json"


def anchor_json(checkpoint: AuditCheckpoint, signed_at: str) -> dict:
    """The public form of a signed checkpoint (an anchor file, an item of audit-checkpoints.json)."""
    return {
        "checkpointId": checkpoint.pk,
        "entryId": checkpoint.entry_id,
        "entryHash": checkpoint.entry_hash,
        "signedAt": signed_at,
        "kid": checkpoint.kid,
        "signature": base64.urlsafe_b64encode(bytes(checkpoint.signature)).rstrip(b"=").decode(),
    }


def write_anchor(checkpoint: AuditCheckpoint, signed_at: str) -> Path:
    """Write the checkpoint's anchor file; it must not exist (an anchor is never rewritten)."""
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / _name(checkpoint.pk)
    data = json.dumps(anchor_json(checkpoint, signed_at), indent=2).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)  # FileExistsError: never overwrite
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_anchors() -> tuple[list[Anchor], list[str]]:
    """Every anchor, by checkpoint id, and the problems met reading them (an unreadable file)."""
    folder = _folder()
    return _read(sorted(folder.glob("checkpoint-*.json")) if folder.is_dir() else [])


def _read(paths: list[Path]) -> tuple[list[Anchor], list[str]]:
    anchors: list[Anchor] = []
    problems: list[str] = []
    for path in paths:
        try:
            raw = json.loads(path.read_text())
            padded = raw["signature"] + "=" * (-len(raw["signature"]) % 4)
            anchors.append(
                Anchor(
                    checkpoint_id=int(raw["checkpointId"]),
                    entry_id=int(raw["entryId"]),
                    entry_hash=str(raw["entryHash"]),
                    signed_at=str(raw["signedAt"]),
                    kid=str(raw["kid"]),
                    signature=base64.urlsafe_b64decode(padded),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"anchor {path.name}: unreadable ({exc})")
    return anchors, problems


def signed_document(anchor: Anchor) -> dict:
    # The same document as audit.services.checkpoint_document, with signedAt as it was signed.
    return {
        "type": "ebox-audit-checkpoint",
        "entryId": anchor.entry_id,
        "entryHash": anchor.entry_hash,
        "signedAt": anchor.signed_at,
    }


def check_against_anchors(
    anchors: list[Anchor],
    checkpoints: dict[int, tuple[int, str, str, str, bytes]],
    hashes: dict[int, str],
    pruned_through: int = 0,
) -> tuple[list[str], int | None]:
    """Compare the database with the anchors: (problems, first bad entry id or None).

    Entries up to `pruned_through` were removed after retention behind a signed prune record
    (audit.retention): an anchor naming one is still compared with its checkpoint, not with the log.

    `checkpoints`: the database's, by id, as (entry id, entry hash, signedAt text, kid, signature);
    `hashes`: the database's entry hash of every entry id a checkpoint or an anchor names.
    """
    from messages import signing  # a leaf module; imported here so the anchors load without the keys

    problems: list[str] = []
    first_bad: int | None = None
    for anchor in anchors:
        where = f"checkpoint {anchor.checkpoint_id} (anchored)"
        if not signing.verify(signed_document(anchor), anchor.kid, anchor.signature):
            problems.append(f"{where}: the anchor's signature does not verify")
            continue
        stored = checkpoints.get(anchor.checkpoint_id)
        anchored = (anchor.entry_id, anchor.entry_hash, anchor.signed_at, anchor.kid, anchor.signature)
        if stored is None:
            problems.append(f"{where}: missing from the database but present in the anchors (deleted)")
        elif stored != anchored:
            problems.append(f"{where}: the database's copy differs from the anchor (rewritten)")
        if anchor.entry_id <= pruned_through:
            continue
        if anchor.entry_id not in hashes:
            problems.append(
                f"entry {anchor.entry_id}: missing, but the anchor of checkpoint {anchor.checkpoint_id} signed it "
                "(the log was truncated)"
            )
        elif hashes[anchor.entry_id] != anchor.entry_hash:
            problems.append(
                f"entry {anchor.entry_id}: its hash differs from the head anchored by checkpoint "
                f"{anchor.checkpoint_id} (the chain was rewritten)"
            )
            first_bad = anchor.entry_id if first_bad is None else min(first_bad, anchor.entry_id)
    return problems, first_bad


def missing_ids(ids: set[int]) -> list[str]:
    """A gap in checkpoint ids (database and anchors together): checkpoints removed from both."""
    ordered = sorted(ids)
    return [
        f"checkpoints {low + 1}–{high - 1} are missing (a gap in checkpoint ids)"
        if high - low > 2
        else f"checkpoint {low + 1} is missing (a gap in checkpoint ids)"
        for low, high in zip(ordered, ordered[1:], strict=False)
        if high - low > 1
    ]


def newest() -> Anchor | None:
    """The most recent anchor (file names sort by checkpoint id)."""
    folder = _folder()
    names = sorted(folder.glob("checkpoint-*.json")) if folder.is_dir() else []
    if not names:
        return None
    anchors, _ = _read([names[-1]])
    return anchors[0] if anchors else None
