"""A campaign (an organisation's spreadsheet of letters and its ZIP of PDFs) and its rows' sending state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from uuid6 import uuid7


class Campaign(models.Model):
    """One upload (checked by a task, then ready when every row is valid): its files (encrypted in the attachment storage) and where sending is."""

    class Status(models.TextChoices):
        VALIDATING = "validating", _("checking rows")
        INVALID = "invalid", _("rows to fix")
        READY = "ready", _("ready to send")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organisation = models.ForeignKey("senders.Organisation", on_delete=models.PROTECT, related_name="campaigns")
    # The application the letters are published under (the portal's, see campaigns.services).
    sender_application = models.ForeignKey(
        "senders.SenderApplication", on_delete=models.PROTECT, related_name="campaigns"
    )
    message_type = models.ForeignKey("senders.MessageType", on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    # The civil servant who uploaded it (the audit trail has every action with its actor).
    created_by = models.ForeignKey(
        "citizens.Citizen", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Progress of the sending task: beat dispatches a `sending` campaign again when it stalls.
    progressed_at = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    # Validation by a Celery task (campaigns.services.validating): rows checked so far (the task
    # resumes after them), problems found (the first MAX_ERRORS_SHOWN kept, untranslated: the
    # page translates them), or why the files cannot be used at all.
    validated_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    refusal = models.TextField(blank=True)
    spreadsheet_name = models.CharField(max_length=200)
    spreadsheet_format = models.CharField(max_length=4)  # csv | xlsx
    # Both files encrypted under one data key, wrapped by the KEK (messages.crypto).
    kek_id = models.CharField(max_length=64)
    wrapped_key = models.BinaryField()
    spreadsheet_blob = models.CharField(max_length=200)
    documents_blob = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"], name="campaign_by_organisation")]

    def __str__(self) -> str:
        return self.name


class CampaignRow(models.Model):
    """A spreadsheet row (one letter): published with the message of its chunk, in the same transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PUBLISHED = "published", _("published")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rows", db_index=False)
    number = models.PositiveIntegerField(help_text=_("Row number in the spreadsheet (the header is row 1)."))
    recipient_id = models.CharField(max_length=11)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # No foreign key: mailbox_message may be partitioned; the id is enough to follow the letter.
    message_id = models.UUIDField(null=True, blank=True)
    channel = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("campaign row")
        verbose_name_plural = _("campaign rows")
        ordering = ["campaign", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="campaign_row_number")]
