"""The audit trail service: record successful actions, sign the chain head, verify it all.

- `record(...)` appends one entry. Entries form a hash chain: entry_hash =
  SHA-256(prev_hash + "\\n" + RFC 8785 JSON of the entry's fields). One statement advances
  the head row (AuditHead) and inserts the entry; appends queue on that row's lock, so the
  chain stays linear (PostgreSQL computes the hash from the head it holds), and reads never
  take it.
- `AuditMiddleware` (audit.middleware) records every successful (2xx/3xx) request under `/api/` and the
  authenticated portal actions (POST/PUT/PATCH/DELETE, and GETs whose view appended to
  `request.audit_ids`, such as opening a message or downloading an attachment).
  Entries are written synchronously, never through a queue that could lose them.
  A view can instead have its action append the entry in the action's own statement
  (`recorded_with_action`, `append_statement(before=…)`; publishMessage: one statement and one
  commit for both); the middleware then skips that request.
- `sign_checkpoint()` (beat) checks the entries since the last anchor, then signs the chain
  head with the platform seal key and anchors it outside the database (`audit.anchors`), so
  a tail removed after a checkpoint shows, and so does a chain a database superuser rewrote
  whole. `verify()` (`manage.py verify_audit`) checks the chain, every checkpoint, the
  database against the anchors, gaps in checkpoint ids and a stale last checkpoint, and
  names the first bad entry; after a retention prune
  (`audit.retention`) the chain starts at the signed prune record's anchor hash.

Actors never appear in clear: a citizen is `citizen:<HMAC-SHA256 of the national number
under EBOX_AUDIT_HMAC_KEY>`, a machine client `client:<OAuth client id>`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import anchors, retention
from audit.models import AuditCheckpoint, AuditEntry, AuditHead, AuditPrune
from ebox import db
from ebox.canonical import canonical
from messages import signing

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def citizen_actor(national_number: str) -> str:
    """The keyed hash that stands for a citizen in the audit trail (searchable, not reversible)."""
    key = settings.EBOX_AUDIT_HMAC_KEY.encode()
    return "citizen:" + hmac.new(key, national_number.encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def timestamp(value) -> str:
    """A time as the audit trail signs it: UTC, microseconds, Z."""
    return _timestamp(value)


def _timestamp(value) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_entry(
    *, at, actor: str, token_sha256: str, method: str, url: str, status_code: int, ids: list[str]
) -> str:
    """The text an entry's hash covers (after the previous hash and a newline): RFC 8785 JSON."""
    return canonical(
        {
            "at": _timestamp(at),
            "actor": actor,
            "tokenSha256": token_sha256,
            "method": method,
            "url": url,
            "status": status_code,
            "ids": ids,
        }
    ).decode()


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


@dataclass
class Entry:
    """An audit entry to append: what `record` writes, or what an action's own statement appends
    with it (`append_statement(before=…)`: publishMessage stores its rows and its entry in one
    statement, so neither exists without the other, with one round trip and one commit).

    `ids` are the objects touched (message ids…), never national numbers: a citizen appears
    only through `citizen_actor()`.
    """

    method: str
    url: str
    status_code: int
    actor: str
    token_sha256: str = ""
    ids: list[str] = field(default_factory=list)
    # Stamped before the head is locked (the hash covers it), so times may interleave by a few
    # milliseconds between concurrent entries; the order of the chain is the order of ids.
    at: dt.datetime = field(default_factory=timezone.now)

    def parameters(self) -> list:
        """The parameters of `append_statement()`, in its order (after those of its `before` parts)."""
        ids = list(dict.fromkeys(str(i)[:100] for i in self.ids))
        url = self.url.replace("\x00", "")[:2000]
        text = "\n" + canonical_entry(
            at=self.at,
            actor=self.actor,
            token_sha256=self.token_sha256,
            method=self.method,
            url=url,
            status_code=self.status_code,
            ids=ids,
        )
        return [
            GENESIS_HASH, GENESIS_HASH, text, text,
            self.at, self.actor, self.token_sha256, self.method, url, self.status_code, db.text_array(ids),
        ]  # fmt: skip


def record(
    *,
    method: str,
    url: str,
    status_code: int,
    actor: str,
    token_sha256: str = "",
    ids: Iterable[object] = (),
) -> tuple[int, str]:
    """Append one entry to the chain; return (entry id, entry hash).

    Inside a caller's transaction the entry commits (or rolls back) with the action; the
    chain head's row stays locked until that transaction ends, so keep such transactions short.
    """
    return append(
        Entry(method=method, url=url, status_code=status_code, actor=actor, token_sha256=token_sha256, ids=list(ids))
    )


def append(entry: Entry) -> tuple[int, str]:
    """Append `entry` on its own statement (see `record`); return (entry id, entry hash)."""
    # One statement, so one round trip, and on its own (autocommit) it is its own transaction.
    entry_id, digest = db.execute_prepared(append_statement(), entry.parameters())
    return entry_id, digest


@functools.cache
def append_statement(before: tuple[str, ...] = ()) -> str:
    """Advance the chain head and append the entry, in one statement; PostgreSQL computes the hash
    (as entry_hash() does). `before`: data-modifying statements (with positional parameters,
    given first) that run as part of the same statement, as CTEs.

    The head is one row (AuditHead) upserted with ON CONFLICT DO UPDATE: a concurrent appender
    waits for that row's lock, then computes from the version the previous appender committed
    (PostgreSQL applies such an update to the newest row version, whatever the statement's
    snapshot), and holds the lock until its own transaction ends. So the chain stays one line,
    and entry ids, drawn after the lock, follow it.
    """
    head, table = AuditHead._meta.db_table, AuditEntry._meta.db_table
    ctes = "".join(f"action_{i} AS ({statement}), " for i, statement in enumerate(before))
    return f"""
        WITH {ctes}head AS (
            INSERT INTO {head} AS h (id, prev_hash, entry_hash)
            VALUES (1, %s::text, encode(sha256(convert_to(%s::text || %s::text, 'UTF8')), 'hex'))
            ON CONFLICT (id) DO UPDATE
                SET prev_hash = h.entry_hash,
                    entry_hash = encode(sha256(convert_to(h.entry_hash || %s::text, 'UTF8')), 'hex')
            RETURNING prev_hash, entry_hash
        )
        INSERT INTO {table} (at, actor, token_sha256, method, url, status_code, ids, prev_hash, entry_hash)
        SELECT %s, %s, %s, %s, %s, %s, %s::varchar(100)[], head.prev_hash, head.entry_hash
        FROM head
        RETURNING id, entry_hash
        """  # noqa: S608 - the table names are ours, every value is a parameter


# --- Recording requests ---------------------------------------------------------


def _bearer_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_actor(request) -> str:
    """client:<id> for an OAuth token (plus the citizen it acts for), citizen:<hmac> for a portal session."""
    token = getattr(request, "auth", None)
    application = getattr(token, "application", None)
    user = getattr(request, "user", None)
    parts = []
    if application is not None:
        parts.append(f"client:{application.client_id}")
        user = getattr(token, "user", None)
    elif getattr(user, "client_id", None):
        # A sender application's request, or a partner's or enterprise client's reading reference data
        # (senders.api.authentication.SenderPrincipal, ReaderPrincipal): no Django user.
        return f"client:{user.client_id}"
    if user is not None and user.is_authenticated:
        citizen = getattr(user, "citizen", None)  # the reverse one-to-one raises AttributeError when absent
        if citizen is not None:
            parts.append(citizen_actor(citizen.national_number))
        elif application is None:
            parts.append(f"user:{user.get_username()}")
    return " ".join(parts) or "anonymous"


def should_record(request, response) -> bool:
    if not 200 <= response.status_code < 400:
        return False
    if request.path.startswith("/api/"):
        return True
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return request.method in _WRITE_METHODS or bool(getattr(request, "audit_ids", None))


def request_entry(request, status_code: int) -> Entry:
    """The entry that records this request, with the ids its views added to `request.audit_ids`."""
    return Entry(
        method=request.method,
        url=request.get_full_path(),
        status_code=status_code,
        actor=request_actor(request),
        token_sha256=token_digest(_bearer_token(request)),
        ids=getattr(request, "audit_ids", []),
    )


def record_request(request, status_code: int) -> tuple[int, str]:
    return append(request_entry(request, status_code))


def recorded_with_action(request, status_code: int) -> Entry:
    """The request's entry, for a view whose action appends it in its own statement (publishMessage:
    `publish_message(new, audit_entry=…)`, which adds the ids it stores).

    The middleware then skips the request. For views whose success status is known before they
    answer (publishMessage: 201); if the action fails, nothing is stored and nothing recorded.
    """
    request.audit_recorded = True
    return request_entry(request, status_code)


# --- Checkpoints and verification ------------------------------------------------


def checkpoint_document(entry_id: int, entry_hash_hex: str, signed_at) -> dict:
    return {
        "type": "ebox-audit-checkpoint",
        "entryId": entry_id,
        "entryHash": entry_hash_hex,
        "signedAt": _timestamp(signed_at),
    }


class ChainBroken(Exception):
    """The chain does not verify: no checkpoint is signed over it."""


def _check_tail(after: anchors.Anchor | None) -> str | None:
    """Check the entries after the newest anchor (from the genesis if none): the problem, or None.

    Cheap enough for every checkpoint: only the entries since the last one are read. It starts
    from the anchor, which the database role cannot change, so a chain rewritten in the
    database is never signed again.
    """
    prev, prev_id = GENESIS_HASH, None
    rows = AuditEntry.objects.order_by("id")
    if after is not None:
        anchored = AuditEntry.objects.filter(id=after.entry_id).values_list("entry_hash", flat=True).first()
        if anchored != after.entry_hash:
            return f"entry {after.entry_id} no longer has the hash anchored by checkpoint {after.checkpoint_id}"
        prev, prev_id = after.entry_hash, after.entry_id
        rows = rows.filter(id__gt=after.entry_id)
    fields = ("id", "at", "actor", "token_sha256", "method", "url", "status_code", "ids", "prev_hash", "entry_hash")
    for entry_id, at, actor, token, method, url, status, ids, stored_prev, stored_hash in rows.values_list(
        *fields
    ).iterator(5000):
        text = canonical_entry(
            at=at, actor=actor, token_sha256=token, method=method, url=url, status_code=status, ids=list(ids)
        )
        if stored_prev != prev or entry_hash(stored_prev, text) != stored_hash:
            return f"entry {entry_id} does not follow entry {prev_id} in the chain"
        prev, prev_id = stored_hash, entry_id
    return None


def sign_checkpoint() -> AuditCheckpoint | None:
    """Sign the current chain head and anchor it (nothing to do when it has not moved since the last checkpoint).

    The entries since the newest anchor are checked first; raises ChainBroken rather than sign a
    broken chain. The checkpoint row commits only once its anchor file is written.
    """
    head = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
    if head is None:
        return None
    last = AuditCheckpoint.objects.order_by("-id").values_list("entry_id", flat=True).first()
    if last == head[0]:
        return None
    problem = _check_tail(anchors.newest())
    if problem:
        logger.error("audit checkpoint refused: %s", problem)
        raise ChainBroken(problem)
    now = timezone.now()
    kid, signature = signing.sign(checkpoint_document(head[0], head[1], now))
    with transaction.atomic():
        checkpoint = AuditCheckpoint.objects.create(
            entry_id=head[0], entry_hash=head[1], signed_at=now, kid=kid, signature=signature
        )
        anchors.write_anchor(checkpoint, _timestamp(now))
    return checkpoint


@dataclass
class AuditReport:
    entries: int = 0
    checkpoints: int = 0
    anchors: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(progress=None, chunk_size: int = 5000) -> AuditReport:
    """Walk the whole chain and every checkpoint; report the first bad entry."""
    report = AuditReport()
    hashes: dict[int, str] = {}
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    anchored, unreadable = anchors.read_anchors()
    report.problems.extend(unreadable)
    wanted = {c.entry_id for c in checkpoints} | {a.entry_id for a in anchored}
    prev = GENESIS_HASH
    prev_id = None
    pruned_through = 0
    for pruned in AuditPrune.objects.order_by("through_entry_id"):
        if not retention.verify_prune(pruned):
            report.problems.append(f"prune {pruned.pk}: signature does not verify")
        else:  # the chain now starts after the newest pruned entry
            prev, prev_id, pruned_through = pruned.anchor_hash, pruned.through_entry_id, pruned.through_entry_id
    rows = AuditEntry.objects.order_by("id").values_list(
        "id", "at", "actor", "token_sha256", "method", "url", "status_code", "ids", "prev_hash", "entry_hash"
    )
    for entry_id, at, actor, token, method, url, status, ids, stored_prev, stored_hash in rows.iterator(chunk_size):
        report.entries += 1
        canonical = canonical_entry(
            at=at, actor=actor, token_sha256=token, method=method, url=url, status_code=status, ids=list(ids)
        )
        if report.first_bad_entry is None:
            if stored_prev != prev:
                after = f"entry {prev_id}" if prev_id is not None else "the start of the chain"
                report.problems.append(
                    f"entry {entry_id}: its previous hash does not match {after} (an entry was removed or edited)"
                )
                report.first_bad_entry = entry_id
            elif entry_hash(stored_prev, canonical) != stored_hash:
                report.problems.append(f"entry {entry_id}: its content does not match its hash (edited)")
                report.first_bad_entry = entry_id
        if entry_id in wanted:
            hashes[entry_id] = stored_hash
        prev, prev_id = stored_hash, entry_id
        if progress and report.entries % chunk_size == 0:
            progress(report.entries)
    for checkpoint in checkpoints:
        report.checkpoints += 1
        document = checkpoint_document(checkpoint.entry_id, checkpoint.entry_hash, checkpoint.signed_at)
        if not signing.verify(document, checkpoint.kid, checkpoint.signature):
            report.problems.append(f"checkpoint {checkpoint.pk}: signature does not verify")
        elif checkpoint.entry_id <= pruned_through:
            continue  # its entry was pruned after retention, behind a signed prune record
        elif checkpoint.entry_id not in hashes:
            report.problems.append(
                f"checkpoint {checkpoint.pk}: signed entry {checkpoint.entry_id} is missing (the log was truncated)"
            )
        elif hashes[checkpoint.entry_id] != checkpoint.entry_hash:
            report.problems.append(
                f"checkpoint {checkpoint.pk}: entry {checkpoint.entry_id} no longer has the signed hash (rewritten)"
            )
    stored = {c.pk: (c.entry_id, c.entry_hash, _timestamp(c.signed_at), c.kid, bytes(c.signature)) for c in checkpoints}
    problems, first_bad = anchors.check_against_anchors(anchored, stored, hashes, pruned_through)
    report.problems.extend(problems)
    if first_bad is not None and (report.first_bad_entry is None or first_bad < report.first_bad_entry):
        report.first_bad_entry = first_bad
    report.anchors = len(anchored)
    report.problems.extend(anchors.missing_ids(set(stored) | {a.checkpoint_id for a in anchored}))
    report.problems.extend(_stale_checkpoint(checkpoints, anchored))
    return report


def _stale_checkpoint(checkpoints: list[AuditCheckpoint], anchored: list[anchors.Anchor]) -> list[str]:
    """Entries waiting longer than EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS checkpoint intervals for a checkpoint.

    A quiet chain gets no new checkpoint (the head did not move), so only entries after the last one count.
    """
    limit = dt.timedelta(
        seconds=settings.EBOX_AUDIT_CHECKPOINT_SECONDS * settings.EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS
    )
    last_entry = max([c.entry_id for c in checkpoints] + [a.entry_id for a in anchored], default=0)
    waiting = AuditEntry.objects.filter(id__gt=last_entry).order_by("id").values_list("id", "at").first()
    if waiting is None or timezone.now() - waiting[1] <= limit:
        return []
    last = f"the last checkpoint signed entry {last_entry}" if last_entry else "no checkpoint was ever signed"
    return [
        f"checkpoint stale: {last}, and entry {waiting[0]} has waited since {_timestamp(waiting[1])} "
        f"(longer than {settings.EBOX_AUDIT_STALE_CHECKPOINT_INTERVALS} × {settings.EBOX_AUDIT_CHECKPOINT_SECONDS} s)"
    ]
