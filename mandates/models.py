"""Mandates: a person's access to another eBox (an enterprise's, a minor child's, a ward's, a citizen's).

A mandate is active from `valid_from` until the day before `valid_until` (the day access ends; null:
open-ended) unless `revoked_at` is set. Access is checked against the live rows on every request
(mandates.selectors), never remembered in the session.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MandateQuerySet(models.QuerySet):
    def active(self, on: dt.date | None = None) -> MandateQuerySet:
        day = on or timezone.localdate()
        return self.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=day), revoked_at__isnull=True, valid_from__lte=day
        )


class Mandate(models.Model):
    """`representative` (a person) may read, or read and manage, the eBox of `owner`."""

    class Role(models.TextChoices):
        DIRECTOR = "director", _("director (official register)")
        DELEGATE = "delegate", _("delegate (accountant, employee)")
        PARENT = "parent", _("parent")
        GUARDIAN = "guardian", _("guardian")
        CHOSEN_DELEGATE = "chosen_delegate", _("chosen delegate")

    class Scope(models.TextChoices):
        READ = "read", _("read")
        MANAGE = "read_and_manage", _("read and manage")

    owner = models.ForeignKey("citizens.Citizen", on_delete=models.CASCADE, related_name="mandates_given")
    representative = models.ForeignKey("citizens.Citizen", on_delete=models.CASCADE, related_name="mandates_held")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    scope = models.CharField(_("scope"), max_length=20, choices=Scope.choices, default=Scope.READ)
    valid_from = models.DateField(_("valid from"))
    # The first day without access (a minor's 18th birthday); null: until revoked.
    valid_until = models.DateField(_("ends on"), null=True, blank=True)
    # The person who granted it in the portal; null: the import of the official register.
    granted_by = models.ForeignKey(
        "citizens.Citizen", on_delete=models.SET_NULL, null=True, blank=True, related_name="mandates_granted"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        "citizens.Citizen", on_delete=models.SET_NULL, null=True, blank=True, related_name="mandates_revoked"
    )

    objects = MandateQuerySet.as_manager()

    class Meta:
        ordering = ["owner_id", "-created_at"]
        indexes = [models.Index(fields=["representative", "revoked_at"]), models.Index(fields=["owner", "revoked_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(owner=models.F("representative")), name="mandate_not_to_oneself"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="mandate_ends_after_it_starts",
            ),
        ]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")

    def __str__(self) -> str:
        return f"{self.representative} → {self.owner} ({self.role}, {self.scope})"

    @property
    def manages(self) -> bool:
        return self.scope == self.Scope.MANAGE

    @property
    def granted_by_register(self) -> bool:
        return self.granted_by_id is None

    def is_active(self, on: dt.date | None = None) -> bool:
        day = on or timezone.localdate()
        return (
            self.revoked_at is None and self.valid_from <= day and (self.valid_until is None or self.valid_until > day)
        )
