"""Who may call the federation and event APIs: an enterprise's own client, or any live eBox client.

Tokens are django-oauth-toolkit's (REST framework's default OAuth2Authentication); these
permissions say which application the token belongs to and set `request.enterprise_app`.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from federation.models import EnterpriseApplication


def _token(request):
    if request.auth is None:
        error = getattr(request, "oauth2_error", {}) or {}
        raise exceptions.NotAuthenticated(
            error.get("error_description") or "a Bearer access token is required (from /o/token/)"
        )
    return request.auth


def _related(application, name: str):
    try:
        return getattr(application, name)
    except ObjectDoesNotExist:
        return None


def enterprise_application(request) -> EnterpriseApplication:
    token = _token(request)
    client = _related(token.application, "enterprise_application")
    if client is None:
        raise exceptions.PermissionDenied("this operation needs the token of an enterprise's own API client")
    if client.revoked_at is not None:
        raise exceptions.AuthenticationFailed("this enterprise client was revoked")
    return client


class EnterpriseClient(BasePermission):
    """An enterprise's own client; `ebox.manage` to change, `ebox.read` to read."""

    def has_permission(self, request, view) -> bool:
        client = enterprise_application(request)
        scope = "ebox.read" if request.method in ("GET", "HEAD", "OPTIONS") else "ebox.manage"
        if not request.auth.allow_scopes([scope]):
            raise exceptions.PermissionDenied(f"scope {scope} missing")
        request.enterprise_app = client
        return True


class AnyClient(BasePermission):
    """A token of any eBox client that is not revoked: sender, partner, enterprise client or provider."""

    def has_permission(self, request, view) -> bool:
        application = _token(request).application
        for name in ("sender_application", "partner_application", "enterprise_application"):
            client = _related(application, name)
            if client is not None:
                if client.revoked_at is not None:
                    raise exceptions.AuthenticationFailed("this client was revoked")
                return True
        if _related(application, "message_provider") is not None:
            return True
        raise exceptions.PermissionDenied("this token belongs to no eBox client")
