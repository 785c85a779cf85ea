"""The enterprise side of the eBox federation: enterprises' own API clients, the message providers
registry (federation 1.3) and enterprise document events (event API 1.1.1).

An enterprise's mailbox is a `citizens.Citizen` row of kind `enterprise`; everything here points at it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EnterpriseApplication(models.Model):
    """An enterprise's own software (accounting, document management) reading its mailbox.

    An OAuth 2 client (client credentials); its token stands for the enterprise itself, no grant
    needed. The secret is shown once and stored hashed (ebox.security). Revocation is a timestamp.
    """

    enterprise = models.ForeignKey("citizens.Citizen", on_delete=models.PROTECT, related_name="enterprise_applications")
    oauth_application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="enterprise_application"
    )
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("enterprise API client")
        verbose_name_plural = _("enterprise API clients")

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None = None) -> str:
        """The name the access log shows (same interface as citizens.PartnerApplication)."""
        return self.name


class MessageProvider(models.Model):
    """A document provider of the federated eBox (federation 1.3 `MessageProvider`); eBox itself is one.

    Operators edit rows in the admin; a provider whose OAuth client is `oauth_application` updates
    its own row with `PATCH /messageProviders/{id}`.
    """

    provider_id = models.CharField(_("message provider id"), max_length=100, unique=True)
    name = models.JSONField(_("name"), default=dict, help_text='{"nl": …, "fr": …, "de": …, "en": …}')
    description = models.JSONField(_("description"), default=dict, blank=True)
    url = models.CharField(_("URL of the implementation"), max_length=500)
    activation_date = models.DateField(_("activation date"))
    deactivation_date = models.DateField(_("deactivation date"), null=True, blank=True)
    technical_contact = models.CharField(_("technical contact"), max_length=200)
    # [{"startDate": "…Z", "endDate": "…Z"}, …] as the spec's MessageProviderPlannedMaintenance.
    planned_maintenance = models.JSONField(_("planned maintenance"), default=list, blank=True)
    api_supported_version = models.CharField(_("API version supported"), max_length=20)
    oauth_application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="message_provider",
        help_text=_("The provider's OAuth client, which may update this entry through the federation API."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_id"]
        verbose_name = _("message provider")
        verbose_name_plural = _("message providers")

    def __str__(self) -> str:
        return self.provider_id


class DocumentEvent(models.Model):
    """One enterprise document event (event API 1.1.1), about one of the enterprise's messages.

    `sequence` is the spec's eventSequenceNbr: readers page with `lastSequenceNbr`. A client's
    (client id, eventCorrelationId) is unique: submitting it again is the spec's 409.
    """

    class Type(models.TextChoices):
        NEW_DOCUMENT = "newDocument", _("new document")
        NEW_DOCUMENT_REMINDER = "newDocumentReminder", _("new document reminder")
        READ_DOCUMENT = "readDocument", _("document read")
        EXPIRATION_ALERT = "documentExpirationAlert", _("document expiration alert")

    sequence = models.BigAutoField(primary_key=True)
    enterprise = models.ForeignKey("citizens.Citizen", on_delete=models.CASCADE, related_name="document_events")
    message = models.ForeignKey("mailbox.Message", on_delete=models.CASCADE, related_name="document_events")
    event_type = models.CharField(max_length=30, choices=Type.choices)
    event_time = models.DateTimeField(auto_now_add=True)
    # Who submitted it: the OAuth client id, and the provider id shown as eventProviderId.
    client_id = models.CharField(max_length=100)
    provider_id = models.CharField(max_length=100)
    correlation_id = models.CharField(max_length=200, blank=True)
    # The submitted EboxEnterpriseDocumentEvent, as given (validated against the spec).
    data = models.JSONField()

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["enterprise", "sequence"])]
        constraints = [
            models.UniqueConstraint(
                fields=["client_id", "correlation_id"],
                condition=~models.Q(correlation_id=""),
                name="one_event_per_correlation_id",
            )
        ]
        verbose_name = _("enterprise document event")
        verbose_name_plural = _("enterprise document events")
