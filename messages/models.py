"""Messages, their encrypted content and attachments, replies, events and integrity incidents.

Content (subject, body, payment and business data, attachment names and bytes) is
stored only as AES-256-GCM ciphertext (see `messages.crypto`); what stays in clear is
the metadata needed to route, list and prove: who sent what type to whom, and when.
One `MessageContent` may be shared by many `Message` rows (`/linkEboxMessage`).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from uuid6 import uuid7

# Row ids of contents, messages, attachments and replies are UUIDv7 (RFC 9562, time-ordered):
# new rows land at the right edge of their primary-key index instead of on random pages, and
# the messages a task seals sit together (bench/seal.py: PostgreSQL's work per seal fell by a
# quarter at 10^5 messages). Python 3.14's uuid.uuid7 can replace the uuid6 package.


class MessageContent(models.Model):
    """The encrypted content of a publication, under its own data key.

    After the retention period (`messages.services.expiry`) the content is crypto-shredded:
    `wrapped_key` and the ciphertexts are emptied and `shredded_at` set.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    sender_organisation = models.ForeignKey("senders.Organisation", on_delete=models.PROTECT, related_name="+")
    kek_id = models.CharField(max_length=64)
    wrapped_key = models.BinaryField()
    subject_ct = models.BinaryField()
    body_ct = models.BinaryField(null=True)
    payment_ct = models.BinaryField(null=True)
    business_ct = models.BinaryField(null=True)
    subject_languages = ArrayField(models.CharField(max_length=2), default=list)
    body_languages = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message content")
        verbose_name_plural = _("message contents")
        # No index on kek_id: key rotation looks for `kek_id <> current`, which a B-tree does
        # not serve, and each publication would pay for maintaining one.


class Message(models.Model):
    """One message in one recipient's eBox."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        SEALED = "sealed", _("available")
        EXPIRED = "expired", _("expired")

    class RecipientType(models.TextChoices):
        CITIZEN = "citizen", _("citizen")
        ENTERPRISE = "enterprise", _("enterprise")

    class Channel(models.TextChoices):
        DIGITAL = "digital", _("digital")
        DIGITAL_AND_PAPER = "digital_and_paper", _("digital and paper")
        PAPER = "paper", _("paper")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    content = models.ForeignKey(MessageContent, on_delete=models.PROTECT, related_name="messages")
    # Every index on this table costs each publication and each seal (a seal changes `status`,
    # so it rewrites every index entry): the foreign keys below have none of their own. Messages
    # are found by id, by (citizen, received) in message_inbox, and by (sender_organisation,
    # received) in message_by_sender; only deleting an application, a type or a citizen (which
    # PROTECT refuses anyway while messages exist) scans instead.
    sender_organisation = models.ForeignKey(
        "senders.Organisation", on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    sender_application = models.ForeignKey(
        "senders.SenderApplication", on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    message_type = models.ForeignKey(
        "senders.MessageType", on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    recipient_type = models.CharField(max_length=10, choices=RecipientType.choices, default=RecipientType.CITIZEN)
    recipient_id = models.CharField(max_length=11, help_text=_("National/BIS number or enterprise number."))
    citizen = models.ForeignKey(
        "citizens.Citizen", on_delete=models.PROTECT, null=True, blank=True, related_name="messages", db_index=False
    )
    # Indexed only where set (replies to a message are few): see Meta.indexes.
    original_message = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    for_the_attention_of = models.JSONField(null=True, blank=True)
    registered_mail = models.BooleanField(default=False)
    reply_authorized = models.BooleanField(default=False)
    body_main_content = models.BooleanField(default=False)
    payment_due_on = models.DateField(null=True, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    received_at = models.DateTimeField()  # indexed by message_received (BRIN) and the composite indexes
    expires_at = models.DateTimeField()
    sealed_at = models.DateTimeField(null=True, blank=True)
    seal = models.BinaryField(null=True, blank=True)
    seal_key_id = models.CharField(max_length=64, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    integrity_failed_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        # The Idempotency key's uniqueness is IdempotencyKey's primary key: a partitioned table's
        # unique index must contain its partition key (the id), so it cannot be here.
        indexes = [
            # The inbox: a citizen's available messages, newest first.
            models.Index(fields=["citizen", "-received_at"], condition=Q(status="sealed"), name="message_inbox"),
            # Pending work that beat re-dispatches.
            models.Index(fields=["received_at"], condition=Q(status="accepted"), name="message_unsealed"),
            models.Index(fields=["sender_organisation", "-received_at"], name="message_by_sender"),
            # Time ranges (statistics): rows arrive in time order, so a BRIN index of a few pages does.
            BrinIndex(fields=["received_at"], name="message_received"),
            models.Index(
                fields=["original_message"], condition=Q(original_message__isnull=False), name="message_replies_to"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    def is_addressed_to(self, citizen) -> bool:
        """Whether the sealed recipient is this eBox: a person's by national number, an enterprise's by
        enterprise number (a citizens.Citizen of kind enterprise)."""
        kind = self.RecipientType.ENTERPRISE if citizen.kind == "enterprise" else self.RecipientType.CITIZEN
        return self.recipient_type == kind and self.recipient_id == citizen.national_number

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_visible(self) -> bool:
        return self.hidden_at is None


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    content = models.ForeignKey(MessageContent, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    main_content = models.BooleanField(default=False)
    signed = models.BooleanField(default=False)
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(help_text=_("Plaintext size in bytes."))
    sha256 = models.CharField(max_length=64, help_text=_("SHA-256 of the plaintext, hex."))
    # File name and title, encrypted under the content's data key.
    meta_ct = models.BinaryField()
    # Path of the encrypted blob in the attachment storage.
    blob = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["content", "position"], name="attachment_position")]


class MessageEvent(models.Model):
    """A step in a message's life that has no column of its own: who read it, archived it, was notified…"""

    # Acceptance and sealing are not events: their times are on the message (received_at,
    # sealed_at), written with it, which spares a row per message on the publication and seal paths.
    class Kind(models.TextChoices):
        READ = "read", _("read")
        # Its own context: the access log's "archived" is an action ("a archivé"), this a state ("archivé").
        HIDDEN = "hidden", pgettext_lazy("message event", "archived")
        UNHIDDEN = "unhidden", _("restored")
        EXPIRED = "expired", _("expired")
        SHREDDED = "shredded", _("content destroyed after retention")
        ACKNOWLEDGED = "acknowledged", _("receipt acknowledged")
        REFUSED = "refused", _("receipt refused")
        NOTIFIED = "notified", _("notified")
        REPLIED = "replied", _("replied")
        INTEGRITY_FAILED = "integrity_failed", _("integrity check failed")
        # The platform's paper service (paper/): queued for print, then printed by the provider.
        PRINT_QUEUED = "print_queued", _("queued for print")
        PRINTED = "printed", _("printed and posted")

    # No index of its own: the (message, kind) index below serves lookups by message.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("message event")
        verbose_name_plural = _("message events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "kind"])]


class ReceiptAcknowledgement(models.Model):
    """The recipient's explicit answer to a registered letter: acknowledged or refused, sealed.

    `document` is what the platform signed (Ed25519, `messages.signing`): message id, digest of
    the message's seal, recipient, decision, time and channel. Written once, never changed.
    """

    class Decision(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", _("receipt acknowledged")
        REFUSED = "refused", _("receipt refused")

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="acknowledgement")
    decision = models.CharField(max_length=12, choices=Decision.choices)
    at = models.DateTimeField()
    # "portal", or "partner:<OAuth client id>" for a partner app acting for the recipient.
    channel = models.CharField(max_length=200)
    document = models.JSONField()
    seal_key_id = models.CharField(max_length=64)
    signature = models.BinaryField()

    class Meta:
        verbose_name = _("acknowledgement of receipt")
        verbose_name_plural = _("acknowledgements of receipt")


class RetainedSeal(models.Model):
    """A message's seal document, kept when its content is crypto-shredded after retention.

    The seal holds digests, never content, so evidence can still be issued and verified
    offline once the plaintext is gone (`messages.evidence`).
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="retained_seal")
    document = models.JSONField()
    shredded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("retained seal")
        verbose_name_plural = _("retained seals")


class Reply(models.Model):
    """A citizen's reply to a message that allowed replies; encrypted and sealed like a message."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="replies")
    citizen = models.ForeignKey("citizens.Citizen", on_delete=models.PROTECT, related_name="replies")
    sender_organisation = models.ForeignKey("senders.Organisation", on_delete=models.PROTECT, related_name="replies")
    kek_id = models.CharField(max_length=64)
    wrapped_key = models.BinaryField()
    text_ct = models.BinaryField()
    attachment_meta_ct = models.BinaryField(null=True, blank=True)
    attachment_blob = models.CharField(max_length=200, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    attachment_size = models.PositiveBigIntegerField(null=True, blank=True)
    attachment_media_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    seal = models.BinaryField(null=True, blank=True)
    seal_key_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sender_organisation", "-created_at"])]


class IntegrityIncident(models.Model):
    """A failed integrity check, raised to operators; never deleted."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    detected_at = models.DateTimeField(auto_now_add=True)
    detected_by = models.CharField(max_length=50, help_text=_("read, sweep, evidence…"))
    reason = models.CharField(max_length=300)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("integrity incident")
        verbose_name_plural = _("integrity incidents")
        ordering = ["-detected_at"]


class IntegritySweep(models.Model):
    """Where the periodic integrity sweep stands, so it resumes where it stopped (one row per sweep)."""

    name = models.CharField(max_length=50, primary_key=True)
    # Last message id checked in the current pass (messages are swept in id order); null: start of a pass.
    position = models.UUIDField(null=True, blank=True)
    pass_started_at = models.DateTimeField(null=True, blank=True)
    last_pass_finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveBigIntegerField(default=0, help_text=_("Messages checked in the current pass."))
    failed = models.PositiveBigIntegerField(default=0, help_text=_("Failures found in the current pass."))
    updated_at = models.DateTimeField(auto_now=True)

    # --- Notification e-mails --------------------------------------------------------

    class Meta:
        verbose_name = _("integrity sweep")
        verbose_name_plural = _("integrity sweeps")


class EmailNotification(models.Model):
    """An e-mail owed to one citizen for one window: the outbox record, claimed with row locks.

    One row per (citizen, kind, window): the unique constraint is what makes "one e-mail per
    citizen and window" hold whatever the retries and duplicated tasks. It names the sending
    organisations and counts messages; it never holds a subject, a body or an attachment.
    """

    class Kind(models.TextChoices):
        NEW_MAIL = "new_mail", _("new mail")
        REMINDER = "reminder", _("reminder")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # owed; sent when execute_after has passed
        CLAIMED = "claimed", _("claimed")  # taken by a worker attempt, not yet handed to SMTP
        SENDING = "sending", _("sending")  # handed to SMTP, outcome not yet recorded
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")  # permanent: refused (5xx) or attempts exhausted
        # Former state (the worker died after handing it to SMTP; it was not resent): such rows are
        # now sent again (migration 0002); the state is kept for the history operators look at.
        UNCERTAIN = "uncertain", _("uncertain")
        SKIPPED = "skipped", _("skipped")  # deactivated or no verified address any more at send time

    # No index of its own: notification_once_per_window starts with the citizen.
    citizen = models.ForeignKey(
        "citizens.Citizen", on_delete=models.CASCADE, related_name="email_notifications", db_index=False
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    window_start = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message_count = models.PositiveIntegerField(default=0)
    registered_count = models.PositiveIntegerField(default=0)
    organisation_ids = ArrayField(models.BigIntegerField(), default=list)
    # The messages this e-mail announces: each gets a `notified` event when it is sent.
    message_ids = ArrayField(models.UUIDField(), default=list)
    # Reminders: how many messages each reason covers.
    unread_registered_count = models.PositiveIntegerField(default=0)
    expiring_count = models.PositiveIntegerField(default=0)
    payment_due_count = models.PositiveIntegerField(default=0)
    execute_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # The claim that owns the row: a worker only moves rows that still carry its attempt id.
    attempt_id = models.UUIDField(null=True, blank=True)
    # The claim's lease: set when claimed, renewed while the worker sends (messages.notifications.lease).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Times this e-mail was sent again without knowing whether an earlier copy was delivered (lost
    # worker or connection after the whole message): each is a possible duplicate, same Message-ID.
    resent_after_loss = models.PositiveSmallIntegerField(default=0, db_default=0)  # raw INSERTs (owing) omit it
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    to_address = models.EmailField(blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification e-mail")
        verbose_name_plural = _("notification e-mails")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "kind", "window_start"], name="notification_once_per_window"),
        ]
        indexes = [
            models.Index(fields=["execute_after"], condition=Q(status="pending"), name="notification_due"),
            models.Index(
                fields=["claimed_at"], condition=Q(status__in=["claimed", "sending"]), name="notification_in_flight"
            ),
            models.Index(fields=["status", "-created_at"], name="notification_by_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class NotificationReminder(models.Model):
    """That a reminder of one kind was queued for one message: each reminder goes out once."""

    class Kind(models.TextChoices):
        UNREAD_REGISTERED = "registered", _("unread registered mail")
        EXPIRING = "expiring", _("unread message expiring soon")
        PAYMENT_DUE = "payment", _("payment due soon")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    queued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification reminder")
        verbose_name_plural = _("notification reminders")
        constraints = [models.UniqueConstraint(fields=["message", "kind"], name="reminder_once_per_message")]


class Blob(models.Model):
    """A small encrypted blob (an attachment's ciphertext) kept in PostgreSQL instead of a file.

    Written with its publication's rows (messages.blobs, EBOX_DATABASE_BLOB_MAX_BYTES); its key is
    its owner's id (the attachment's), and the attachment's `blob` column names it `db:<id>`.
    """

    id = models.UUIDField(primary_key=True)
    data = models.BinaryField()

    class Meta:
        verbose_name = _("database blob")
        verbose_name_plural = _("database blobs")


class IdempotencyKey(models.Model):
    """An Idempotency key used by a sending application, and the message it published: the key's
    unique arbiter, written in the publication's transaction (messages.services.publishing).

    Not partitioned, small (three columns), so its primary key is a real unique index that
    `INSERT … ON CONFLICT DO NOTHING` (a batch: messages.services.rows.copy_insert_new) and a
    plain INSERT (one publication: a unique violation) both use: two concurrent publications
    with the same key cannot both land. Its primary key constraint is named
    `message_idempotency_key_per_application` (migration mailbox 0006), the name publishing
    recognises. A key leaves with its message's month (messages.services.partitions).
    """

    pk = models.CompositePrimaryKey("sender_application_id", "idempotency_key")
    # No foreign-key constraint: the message row written with it carries the checked one, and a
    # deferred check per row would cost the batch path (5 k letters/s) for nothing.
    sender_application = models.ForeignKey(
        "senders.SenderApplication", on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    idempotency_key = models.CharField(max_length=200)
    message_id = models.UUIDField()

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
