"""Models of the audit app: the audit trail.

The audit trail (eBox requirements ATREQ01–04): an append-only, hash-chained log of successful actions.

Rows are written only by `audit.services` (`record`, `append_statement`) and never changed: a PostgreSQL trigger
(migration 0001) refuses UPDATE, DELETE and TRUNCATE, and each entry carries the hash
of the previous one, so an edit or a removal made around the trigger breaks the chain.
Signed checkpoints of the chain head (`AuditCheckpoint`) make a truncated tail show.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One successful action. No content and no clear national number: actors are keyed hashes."""

    at = models.DateTimeField(_("time"))
    actor = models.CharField(
        _("actor"), max_length=200, help_text=_("client:<OAuth client id>, citizen:<HMAC of the national number>, …")
    )
    token_sha256 = models.CharField(_("SHA-256 of the token"), max_length=64, blank=True)
    method = models.CharField(_("method"), max_length=10)
    url = models.CharField(_("URL"), max_length=2000)
    status_code = models.PositiveSmallIntegerField(_("response code"))
    ids = ArrayField(models.CharField(max_length=100), default=list, blank=True, verbose_name=_("ids touched"))
    prev_hash = models.CharField(_("previous entry hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["actor", "-at"], name="audit_by_actor")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.method} {self.url}"


class AuditHead(models.Model):
    """The chain's newest entry hash, in one row. Each append updates it in the statement that
    inserts the entry, so appends queue on this row's lock until the appender commits, and each
    reads the head its predecessor committed (see audit.services.append_statement)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")


class AuditCheckpoint(models.Model):
    """A platform signature over the chain head at a moment, so removing the newest entries shows."""

    entry_id = models.BigIntegerField(_("entry"))
    entry_hash = models.CharField(_("entry hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    kid = models.CharField(_("seal key id"), max_length=64)
    signature = models.BinaryField()

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["-id"]


class AuditPrune(models.Model):
    """A signed record that entries up to `through_entry_id` were pruned after the retention period.

    `anchor_hash` is the entry hash of the last pruned entry, which the first kept entry names
    as its previous hash: `verify()` starts the chain there. Only the database function
    `audit_prune(bigint)` (migration 0002, see audit.retention) can delete entries.
    """

    through_entry_id = models.BigIntegerField(_("pruned through entry"))
    anchor_hash = models.CharField(_("hash of the last pruned entry"), max_length=64)
    cutoff = models.DateTimeField(_("entries older than"))
    pruned_count = models.PositiveBigIntegerField(_("entries pruned"))
    signed_at = models.DateTimeField(_("signed at"))
    kid = models.CharField(_("seal key id"), max_length=64)
    signature = models.BinaryField()

    class Meta:
        verbose_name = _("audit prune")
        verbose_name_plural = _("audit prunes")
        ordering = ["-id"]
