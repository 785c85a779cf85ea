"""Rollup tables behind the public statistics, kept by `public.statistics.refresh_statistics` (beat).

The public pages read these few thousand rows instead of counting tens of millions of
messages per request. Only `public_pages.statistics` writes them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MonthlyMessageStatistic(models.Model):
    """Messages one organisation published in one calendar month (Europe/Brussels), with how they fared."""

    month = models.DateField(help_text=_("First day of the month, in the portal's time zone."))
    organisation = models.ForeignKey("senders.Organisation", on_delete=models.CASCADE, related_name="+")
    messages = models.PositiveBigIntegerField(default=0)
    read = models.PositiveBigIntegerField(default=0, help_text=_("Of those, opened by the recipient."))
    digital = models.PositiveBigIntegerField(default=0, help_text=_("Of those, sent only digitally: no paper letter."))
    digital_registered = models.PositiveBigIntegerField(
        default=0, help_text=_("Of the digital ones, registered mail (a more expensive letter avoided).")
    )
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("monthly message statistic")
        verbose_name_plural = _("monthly message statistics")
        constraints = [models.UniqueConstraint(fields=["month", "organisation"], name="monthly_message_statistic")]
        ordering = ["month", "organisation"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organisation_id}: {self.messages}"


class MonthlyActivationStatistic(models.Model):
    """Citizens whose (current) activation of eBox happened in one calendar month."""

    month = models.DateField(unique=True, help_text=_("First day of the month, in the portal's time zone."))
    activations = models.PositiveBigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("monthly activation statistic")
        verbose_name_plural = _("monthly activation statistics")
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.activations}"
