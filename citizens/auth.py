"""Login through OpenID Connect (mozilla-django-oidc): the national-number claim names the citizen.

The claim is configurable (`OIDC_NATIONAL_NUMBER_CLAIM`) because identity providers
name it differently (FAS, CSAM, a Keycloak mapper…). Logging in never activates eBox.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from citizens import services
from ebox.identifiers import normalise_national_number

logger = logging.getLogger(__name__)


class CitizenOIDCBackend(OIDCAuthenticationBackend):
    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        # The ID token is signed; prefer its claim, fall back to userinfo.
        raw = payload.get(settings.OIDC_NATIONAL_NUMBER_CLAIM) or claims.get(settings.OIDC_NATIONAL_NUMBER_CLAIM)
        if not raw:
            logger.warning("OIDC login without the %s claim", settings.OIDC_NATIONAL_NUMBER_CLAIM)
            return None
        try:
            number = normalise_national_number(str(raw))
        except ValidationError:
            logger.warning("OIDC login with an invalid national number")
            return None
        citizen = services.citizen_logged_in(
            number, given_name=claims.get("given_name", ""), family_name=claims.get("family_name", "")
        )
        return citizen.user


def provider_logout_url(request) -> str:
    """The IdP's end-session endpoint (RP-initiated logout), coming back to the portal's "logged out" page.

    The IdP must know that page as a post-logout redirect URI (PUBLIC_URL + /logged-out/).
    """
    params = {
        "post_logout_redirect_uri": request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
        "client_id": settings.OIDC_RP_CLIENT_ID,
    }
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{settings.OIDC_OP_LOGOUT_ENDPOINT}?{urlencode(params)}"
