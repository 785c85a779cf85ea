"""Citizens (eBox owners), their activation history, partner grants, and the access log they see."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from ebox.identifiers import format_mailbox_number, validate_mailbox_number


class Language(models.TextChoices):
    FR = "fr", "Français"
    NL = "nl", "Nederlands"
    DE = "de", "Deutsch"
    EN = "en", "English"


class Citizen(models.Model):
    """The owner of one eBox: a person (national register or BIS number) or an enterprise.

    An enterprise's mailbox is a row of kind `enterprise` whose `national_number` holds its
    10-digit enterprise number: publication, preferences, expiry, notification and evidence then
    work for enterprises as for persons, through the same rows and queries. A row exists as soon
    as a message is addressed to its owner or they log in; `activated_at` is set only by the
    explicit activation step (see services.activate).
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("person")
        ENTERPRISE = "enterprise", _("enterprise")

    national_number = models.CharField(
        _("national number"), max_length=11, unique=True, validators=[validate_mailbox_number]
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    # An enterprise's registered name (a person's name comes from the identity provider, on `user`).
    name = models.CharField(_("name"), max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="citizen"
    )
    preferred_language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.FR)
    email = models.EmailField(_("e-mail address"), blank=True)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    # A new address the citizen asked for, waiting for its confirmation link; notifications keep going
    # to the verified `email` until it is confirmed (then it replaces `email`).
    pending_email = models.EmailField(_("new e-mail address to confirm"), blank=True)
    activated_at = models.DateTimeField(_("eBox activated at"), null=True, blank=True)
    last_connection_at = models.DateTimeField(_("last connection"), null=True, blank=True)
    # Notification preferences (the e-mail itself only says that something arrived, never what).
    notify_new_messages = models.BooleanField(_("e-mail me when a new message arrives"), default=True)
    notify_reminders = models.BooleanField(
        _("e-mail me reminders (unread registered mail, payments falling due)"), default=True
    )
    # Postal address on record (the paper channel); informative, eBox prints nothing itself.
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")

    def __str__(self) -> str:
        return format_mailbox_number(self.national_number)

    @property
    def is_enterprise(self) -> bool:
        return self.kind == self.Kind.ENTERPRISE

    @property
    def display_name(self) -> str:
        """How the mailbox is named in the portal's switcher and access logs: the registered name
        (enterprises, or a person from the register import), else the identity provider's, else the number."""
        if self.name:
            return self.name
        full = self.user.get_full_name() if self.user_id else ""
        return full or str(self)

    @property
    def is_activated(self) -> bool:
        return self.activated_at is not None

    @property
    def is_digital(self) -> bool:
        """Letters reach this citizen digitally: activated *and* a verified address to tell them (see
        citizens.selectors.channel_for, the one rule publication, preferences and the portal follow)."""
        return self.activated_at is not None and self.email_verified_at is not None and bool(self.email)


class ActivationChange(models.Model):
    """One step in the history of a citizen's choice for digital mail (kept forever)."""

    class Kind(models.TextChoices):
        ACTIVATED = "activated", _("activated")
        DEACTIVATED = "deactivated", _("deactivated")
        EMAIL_CHANGED = "email_changed", _("e-mail address changed")
        EMAIL_VERIFIED = "email_verified", _("e-mail address verified")
        LANGUAGE_CHANGED = "language_changed", _("language changed")

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="activation_history")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    # Who made the change: "citizen", or "partner:<client id>" when done from a partner's consent page.
    actor = models.CharField(max_length=200, default="citizen")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("activation change")
        verbose_name_plural = _("activation history")


class AccessLogEntry(models.Model):
    """Who opened what, shown to the citizen: their own reads and every partner app access."""

    class Action(models.TextChoices):
        OPENED = "opened", _("opened the message")
        DOWNLOADED = "downloaded", _("downloaded an attachment")
        LISTED = "listed", _("listed the messages")
        MARKED_READ = "marked_read", _("marked as read")
        HIDDEN = "hidden", _("archived")
        UNHIDDEN = "unhidden", _("restored from the archive")
        REPLIED = "replied", _("replied")
        EVIDENCE = "evidence", _("downloaded the evidence")
        ACKNOWLEDGED = "acknowledged", _("answered the acknowledgement of receipt")

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="access_log")
    message = models.ForeignKey("mailbox.Message", on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Empty for the citizen themself; the partner app's display name otherwise.
    accessor = models.CharField(max_length=200, blank=True)
    oauth_client_id = models.CharField(max_length=100, blank=True)
    # Set when a representative read the mailbox: the mandate they read it under (accessor names them).
    mandate = models.ForeignKey(
        "mandates.Mandate", on_delete=models.SET_NULL, null=True, blank=True, related_name="accesses"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["citizen", "-at"])]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")


class PartnerApplication(models.Model):
    """An access provider's app (bank app, document vault, regional portal) registered by operators.

    It is an OAuth 2 client (authorization code with PKCE) that reads or manages the eBox of
    citizens who consented. Revocation is a timestamp; revoking also deletes its tokens.
    """

    class Scope(models.TextChoices):
        READ = "ebox.read", _("Read your eBox")
        MANAGE = "ebox.manage", _("Mark your messages as read and archive them")

    oauth_application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="partner_application"
    )
    name = models.JSONField(_("name"), help_text='{"fr": …, "nl": …, "de": …, "en": …}, shown to citizens')
    description = models.JSONField(_("description"), default=dict, blank=True)
    website = models.URLField(_("website"), blank=True)
    allowed_scopes = ArrayField(
        models.CharField(max_length=20, choices=Scope.choices), default=list, verbose_name=_("allowed scopes")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner app")
        verbose_name_plural = _("partner apps")

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self, language: str | None = None) -> str:
        from ebox.i18n import translate

        return translate(self.name, language) or self.oauth_application.name


class PartnerGrant(models.Model):
    """A citizen's consent for a partner app; listed in their settings and revocable at any time."""

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="partner_grants")
    partner = models.ForeignKey(PartnerApplication, on_delete=models.PROTECT, related_name="grants")
    scopes = ArrayField(models.CharField(max_length=20))
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "partner"], condition=models.Q(revoked_at__isnull=True), name="one_active_grant"
            )
        ]
        verbose_name = _("partner grant")
        verbose_name_plural = _("partner grants")
