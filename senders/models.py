"""Organisations that send, their sender applications (OAuth clients) and their message types."""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ebox.i18n import translate
from ebox.identifiers import validate_enterprise_number


class Organisation(models.Model):
    class Category(models.TextChoices):
        FEDERAL = "federal", _("Federal public service")
        REGIONAL = "regional", _("Region")
        COMMUNITY = "community", _("Community")
        PROVINCE = "province", _("Province")
        MUNICIPALITY = "municipality", _("City or municipality")
        CPAS = "cpas", _("Public social welfare centre (CPAS/OCMW)")
        SOCIAL_SECURITY = "social_security", _("Social security institution")
        OTHER = "other", _("Other")

    class Region(models.TextChoices):
        NATIONAL = "national", _("National")
        BRUSSELS = "brussels", _("Brussels-Capital")
        FLANDERS = "flanders", _("Flanders")
        WALLONIA = "wallonia", _("Wallonia")
        GERMAN_SPEAKING = "german_speaking", _("German-speaking Community")

    enterprise_number = models.CharField(
        _("enterprise number"),
        max_length=10,
        unique=True,
        validators=[validate_enterprise_number],
        help_text=_("KBO/BCE number, 10 digits."),
    )
    short_name = models.JSONField(_("short name"), help_text='{"fr": …, "nl": …, "de": …, "en": …}')
    long_name = models.JSONField(_("long name"), default=dict, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.OTHER)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, default=Region.NATIONAL)
    joined_on = models.DateField(_("joined eBox on"), default=dt.date.today)
    paper_transition_until = models.DateField(
        _("paper transition until"),
        null=True,
        blank=True,
        help_text=_("Until this date the organisation also sends paper to citizens who activated eBox."),
    )
    # The platform's paper service (issue 16): letters to recipients who do not read eBox are printed
    # and posted by the platform (paper/), not left to the organisation. Switched on by an operator.
    paper_service = models.BooleanField(
        _("paper service"),
        default=False,
        help_text=_("The platform prints and posts letters to recipients who do not read eBox."),
    )
    return_address = models.CharField(
        _("return address"),
        max_length=200,
        blank=True,
        help_text=_("One line printed above the recipient's address on paper letters."),
    )
    website = models.JSONField(_("website"), default=dict, blank=True)
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    contact_business = models.CharField(_("helpdesk for citizens"), max_length=200, blank=True)
    contact_technical = models.CharField(_("technical helpdesk"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["enterprise_number"]

    def __str__(self) -> str:
        return f"{self.name()} ({self.enterprise_number})"

    def name(self, language: str | None = None) -> str:
        return translate(self.short_name, language)

    def in_paper_transition(self, on: dt.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.paper_transition_until is not None and on <= self.paper_transition_until


class SenderApplication(models.Model):
    """An application (online service) of an organisation that publishes messages: an OAuth 2 client."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="applications")
    application_id = models.SlugField(_("application id"), max_length=100, unique=True)
    name = models.JSONField(_("name"))
    description = models.JSONField(_("description"), default=dict, blank=True)
    oauth_application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sender_application",
    )
    contact_technical = models.CharField(_("technical helpdesk"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Revocation is a timestamp, so the history of who published what stays.
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Status changes are POSTed here (senders.callbacks); empty: no callbacks, and no outbox rows.
    callback_url = models.URLField(_("callback URL"), max_length=500, blank=True)
    # The signing secret, wrapped under the platform KEK (messages.crypto.wrap_key): HMAC needs it
    # in clear, so it cannot be hashed; it is never stored in clear. Set by senders.callbacks.configuration.
    callback_secret_kek_id = models.CharField(max_length=64, blank=True, editable=False)
    callback_secret_wrapped = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("sender application")
        verbose_name_plural = _("sender applications")
        ordering = ["application_id"]

    def __str__(self) -> str:
        return self.application_id


class MessageType(models.Model):
    """A business category of letter (e.g. tax assessment), with the validity period that sets expiration."""

    class Unit(models.TextChoices):
        DAY = "day", _("day")
        MONTH = "month", _("month")
        YEAR = "year", _("year")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="message_types")
    message_type_id = models.SlugField(_("message type id"), max_length=100, unique=True)
    name = models.JSONField(_("name"))
    description = models.JSONField(_("description"), default=dict, blank=True)
    validity_number = models.PositiveIntegerField(_("validity period"), default=1)
    validity_unit = models.CharField(_("validity unit"), max_length=5, choices=Unit.choices, default=Unit.YEAR)
    # A registered letter still unacknowledged this many days after publication goes to print too
    # (paper.services.queueing), when the organisation has the paper service.
    paper_after_days = models.PositiveIntegerField(
        _("paper after (days)"),
        null=True,
        blank=True,
        help_text=_("Print a registered letter still unacknowledged after this many days (empty: never)."),
    )

    class Meta:
        verbose_name = _("message type")
        verbose_name_plural = _("message types")
        ordering = ["message_type_id"]

    def __str__(self) -> str:
        return self.message_type_id

    def expiration_from(self, start: dt.datetime) -> dt.datetime:
        """When a message of this type received at `start` expires."""
        n = self.validity_number
        if self.validity_unit == self.Unit.DAY:
            return start + dt.timedelta(days=n)
        months = n if self.validity_unit == self.Unit.MONTH else 12 * n
        year, month = divmod(start.month - 1 + months, 12)
        year += start.year
        month += 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)


class CallbackDelivery(models.Model):
    """One status change of one message owed to its sender application's callback URL: the outbox row.

    Written in the transaction of the change (senders.callbacks.outbox), delivered in `sequence`
    order per message (senders.callbacks.delivery); `delivery_id` is the receiver's dedupe key.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")  # owed; sent when next_attempt_at has passed and its predecessor arrived
        DELIVERING = "delivering", _("delivering")  # claimed by a worker (claimed_at is its lease)
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")  # attempts exhausted, refused target, or an earlier event of its message failed

    message_id = models.UUIDField()  # no foreign key: the callback outlives a message removed by retention
    sender_application = models.ForeignKey(
        SenderApplication, on_delete=models.CASCADE, related_name="callback_deliveries", db_index=False
    )
    sequence = models.PositiveIntegerField()
    event = models.CharField(max_length=20)
    status = models.CharField(max_length=20)
    at = models.DateTimeField()
    delivery_id = models.UUIDField(unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    attempt_id = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        constraints = [models.UniqueConstraint(fields=["message_id", "sequence"], name="callback_sequence_per_message")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state="pending"), name="callback_due"),
            models.Index(fields=["claimed_at"], condition=Q(state="delivering"), name="callback_in_flight"),
            models.Index(fields=["sender_application", "state", "-created_at"], name="callback_by_application"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.sequence} {self.event} ({self.state})"


class CallbackSequence(models.Model):
    """The last callback sequence number given to a message: an upsert on this row serialises
    concurrent status changes of one message, so that numbers follow commit order."""

    message_id = models.UUIDField(primary_key=True)
    last_sequence = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("callback sequence")
        verbose_name_plural = _("callback sequences")
