"""Which OAuth 2 scopes a client may get: sender applications get the publication scopes only.

Plugged into django-oauth-toolkit as `OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"]`. Partner
apps (authorization code + PKCE, the consultation API) keep the `ebox.*` scopes.
"""

from __future__ import annotations

from oauth2_provider.scopes import SettingsScopes

from senders.services import SENDER_SCOPES

PARTNER_SCOPES = ("ebox.read", "ebox.manage", "referencedata")


def _is_sender(application) -> bool:
    if application is None:
        return False
    try:
        return application.sender_application is not None
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist: a partner app
        return False


class EboxScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:  # the server metadata lists every scope
            return super().get_available_scopes(application, request)
        allowed = SENDER_SCOPES if _is_sender(application) else PARTNER_SCOPES
        return [s for s in super().get_available_scopes(application, request) if s in allowed]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # A sender asking for no scope gets all of its scopes (clients written for eBox send none).
        if _is_sender(application):
            return [s for s in super().get_all_scopes() if s in SENDER_SCOPES]
        return super().get_default_scopes(application, request)
