"""Organisations that send, their sender applications (OAuth clients) and their message types."""

from __future__ import annotations

import calendar
import datetime as dt

from django.conf import settings
from django.db import models
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
