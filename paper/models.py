"""Print items (one letter the platform prints and posts) and print batches (one print run).

A `PrintItem` is the outbox row of the paper service: written in the publication's transaction
(or by beat for an unacknowledged registered letter), claimed by a print run with row locks,
marked printed when the provider acknowledges the run. The postal address is a copy taken when
the item is queued: the print run shows what was decided at that moment.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PrintBatch(models.Model):
    """One print run: a folder handed to the print provider (`paper.services.batches`)."""

    class Status(models.TextChoices):
        # Files written in a temporary folder, the row committed; the folder is renamed next.
        WRITTEN = "written", _("written")
        DELIVERED = "delivered", _("handed to the provider")
        PRINTED = "printed", _("printed and posted")

    # Readable and sortable: PB-20261130-163000-3f2a1c.
    id = models.CharField(_("batch id"), max_length=40, primary_key=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WRITTEN)
    out_dir = models.CharField(_("folder"), max_length=500)
    letters = models.PositiveIntegerField(_("letters"), default=0)
    sheets = models.PositiveIntegerField(_("sheets"), default=0)
    created_at = models.DateTimeField(_("created at"))
    printed_at = models.DateTimeField(_("printed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id


class PrintItem(models.Model):
    """A letter the platform prints and posts: queued → in a batch → printed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued for print")
        IN_BATCH = "in_batch", _("in a print run")
        PRINTED = "printed", _("printed and posted")

    class Reason(models.TextChoices):
        PUBLICATION = "publication", _("recipient does not read eBox")
        TRANSITION = "transition", _("organisation's paper transition period")
        UNACKNOWLEDGED = "unacknowledged", _("registered letter not acknowledged in time")

    # One print per message, whatever the retries (the unique key is the guarantee).
    message = models.OneToOneField("mailbox.Message", on_delete=models.CASCADE, related_name="print_item")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("reason"), max_length=15, choices=Reason.choices)
    # {"name", "street", "postcode", "city", "country"}: from the sender's paperAddress or the citizen record.
    address = models.JSONField(_("postal address"))
    batch = models.ForeignKey(
        PrintBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="items", db_index=False
    )
    pages = models.PositiveIntegerField(_("pages"), null=True, blank=True)
    sheets = models.PositiveIntegerField(_("sheets"), null=True, blank=True)
    envelope = models.CharField(_("envelope"), max_length=3, blank=True)
    queued_at = models.DateTimeField(_("queued at"))
    printed_at = models.DateTimeField(_("printed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("print item")
        verbose_name_plural = _("print items")
        indexes = [
            # What the next print run takes, oldest first.
            models.Index(fields=["queued_at"], condition=Q(status="queued"), name="print_item_queued"),
            models.Index(fields=["batch"], condition=Q(batch__isnull=False), name="print_item_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"
