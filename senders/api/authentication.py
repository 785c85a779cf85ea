"""Bearer tokens of sender applications, checked on every request against PostgreSQL.

Instead of DOT's generic OAuth2Authentication, one query loads the token with its
client, sender application and organisation, so we can say exactly what is wrong
("token expired", "client revoked") and revocation in the admin takes effect at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils import timezone
from oauth2_provider.models import AccessToken
from rest_framework import authentication, exceptions

from senders.models import Organisation, SenderApplication


@dataclass
class SenderPrincipal:
    """`request.user` for a sender application's request (no Django user behind client credentials)."""

    sender_application: SenderApplication
    organisation: Organisation
    scopes: frozenset[str]
    client_id: str

    is_authenticated = True
    is_anonymous = False

    def __str__(self) -> str:
        return self.sender_application.application_id


class SenderTokenAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "ebox"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            request.oauth2_error = {"error": "invalid_request"}
            raise exceptions.AuthenticationFailed("Authorization header must be: Bearer <access token>")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("token is not ASCII") from exc
        token = (
            AccessToken.objects.select_related("application__sender_application__organisation")
            .filter(token_checksum=hashlib.sha256(raw.encode()).hexdigest())
            .first()
        )
        if token is None:
            request.oauth2_error = {"error": "invalid_token", "error_description": "token unknown or revoked"}
            raise exceptions.AuthenticationFailed("token unknown or revoked")
        if token.expires <= timezone.now():
            request.oauth2_error = {"error": "invalid_token", "error_description": "token expired"}
            raise exceptions.AuthenticationFailed("token expired")
        sender = getattr(token.application, "sender_application", None) if token.application else None
        if sender is None:
            raise exceptions.PermissionDenied("this client is not a sender application")
        if sender.revoked_at is not None:
            request.oauth2_error = {"error": "invalid_token", "error_description": "client revoked"}
            raise exceptions.AuthenticationFailed(f"client {token.application.client_id} revoked")
        principal = SenderPrincipal(
            sender_application=sender,
            organisation=sender.organisation,
            scopes=frozenset(token.scope.split()),
            client_id=token.application.client_id,
        )
        return principal, token

    def authenticate_header(self, request):
        error = getattr(request, "oauth2_error", {})
        attributes = {"realm": self.www_authenticate_realm, **error}
        return "Bearer " + ", ".join(f'{k}="{v}"' for k, v in attributes.items())


class ScopeRequired:
    """DRF permission: the token must carry the view's `required_scope`."""

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, SenderPrincipal):
            raise exceptions.NotAuthenticated("no access token: send Authorization: Bearer <token> (from /o/token/)")
        scope = getattr(view, "required_scope", None)
        if scope and scope not in principal.scopes:
            raise exceptions.PermissionDenied(f"scope {scope} missing")
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        return True
