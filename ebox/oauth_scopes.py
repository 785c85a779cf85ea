"""Which OAuth scopes each client may obtain: senders publish, partner apps read citizens' eBoxes,
enterprises' own clients read their enterprise's.

django-oauth-toolkit asks this backend (settings OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"]) what a
client may request, so a sender application can never obtain `ebox.read`, and a partner app
only the scopes operators allowed it.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from oauth2_provider.scopes import SettingsScopes

SENDER_SCOPES = ["publication", "status", "preferences", "referencedata", "evidence", "replies"]
# An enterprise's own client (federation.EnterpriseApplication) reads and manages its own mailbox.
ENTERPRISE_SCOPES = ["ebox.read", "ebox.manage"]
# A message provider's client (federation.MessageProvider.oauth_application) updates its registry entry.
PROVIDER_SCOPES = ["federation.registry"]


class ApplicationScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return super().get_available_scopes(application, request, *args, **kwargs)
        try:
            partner = application.partner_application
        except ObjectDoesNotExist:
            partner = None
        if partner is not None:
            return [] if partner.revoked_at else list(partner.allowed_scopes)
        try:
            enterprise = application.enterprise_application
        except ObjectDoesNotExist:
            enterprise = None
        if enterprise is not None:
            return [] if enterprise.revoked_at else list(ENTERPRISE_SCOPES)
        try:
            application.message_provider  # noqa: B018 - the reverse relation exists or raises
            return list(PROVIDER_SCOPES)
        except ObjectDoesNotExist:
            pass
        try:
            sender = application.sender_application
        except ObjectDoesNotExist:
            return []
        return [] if sender.revoked_at else list(SENDER_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        return self.get_available_scopes(application, request, *args, **kwargs)
