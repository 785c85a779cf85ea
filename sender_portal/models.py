"""Who may act for an organisation in the sender portal: one row per person, organisation and role."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SenderRole(models.Model):
    """A civil servant's role in an organisation. Revocation is a timestamp: the history of who could do
    what stays. A person holds a role while a row with `revoked_at` empty exists."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", _("administrator")
        SENDER = "sender", _("sender")
        REPLIES = "replies", _("reader of replies")
        STATISTICS = "statistics", _("viewer of statistics")

    organisation = models.ForeignKey(
        "senders.Organisation", on_delete=models.CASCADE, related_name="sender_roles", verbose_name=_("organisation")
    )
    # A person (kind `person`): civil servants log in with their national number like citizens do.
    person = models.ForeignKey(
        "citizens.Citizen", on_delete=models.CASCADE, related_name="sender_roles", verbose_name=_("person")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    # Who granted it: "operator" (command line, admin) or "citizen:<hmac>" of the administrator.
    granted_by = models.CharField(_("granted by"), max_length=200, default="operator")
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sender role")
        verbose_name_plural = _("sender roles")
        ordering = ["organisation_id", "person_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "person", "role"],
                condition=models.Q(revoked_at__isnull=True),
                name="sender_role_active_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["person", "organisation"],
                condition=models.Q(revoked_at__isnull=True),
                name="sender_role_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.role} @ {self.organisation.enterprise_number}"


class ReplyHandling(models.Model):
    """How the organisation deals with a citizen's reply: who it is assigned to, whether it is handled, and
    the letter that answered it. No row: a new reply, not assigned."""

    reply = models.OneToOneField("mailbox.Reply", on_delete=models.CASCADE, related_name="handling", primary_key=True)
    assigned_to = models.ForeignKey(
        "citizens.Citizen",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    answer = models.ForeignKey("mailbox.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reply handling")
        verbose_name_plural = _("reply handling")
