"""The OAuth 2 authorisation server's hardening (issue 15), kept out of django-oauth-toolkit's defaults.

* Client secrets are random 128-character strings (DOT's generator), not passwords: a slow
  password hash adds nothing against guessing but gives anyone a cheap way to burn ~0.5 s of
  server CPU per request and to tell existing client ids from unknown ones by timing. They are
  stored as HMAC-SHA256 under a server key (`ClientSecretHasher`, DOT's `CLIENT_SECRET_HASHER`)
  and checked in constant time; an unknown client id costs the same HMAC. A secret still stored
  with the old PBKDF2 hash is accepted once and re-stored as HMAC (no migration needed).
* Only the grants eBox uses are ever allowed (authorization code with PKCE S256, client
  credentials, refresh token), whatever an Application row says.
* Token introspection answers only the client ids listed in `EBOX_INTROSPECTION_CLIENT_IDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, check_password, identify_hasher, make_password, mask_hash
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import IntrospectTokenView
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

logger = logging.getLogger(__name__)

ALGORITHM = "ebox_hmac_sha256"
# The grants eBox's clients use; password and implicit are refused even if an Application allows them.
ALLOWED_GRANT_TYPES = frozenset({"authorization_code", "client_credentials", "refresh_token"})


def _secret_key() -> bytes:
    return settings.EBOX_CLIENT_SECRET_KEY.encode()


def secret_digest(secret: str) -> str:
    return hmac.new(_secret_key(), secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


class ClientSecretHasher(BasePasswordHasher):
    """`ebox_hmac_sha256$<hex HMAC-SHA256(server key, secret)>`, for high-entropy client secrets only.

    Never the first entry of PASSWORD_HASHERS: people's passwords keep Django's slow hashes.
    No salt: the secret is random and the key is secret; the HMAC is the whole defence."""

    algorithm = ALGORITHM

    def salt(self) -> str:
        return ""

    def encode(self, password, salt, *args, **kwargs) -> str:
        return f"{self.algorithm}${secret_digest(password)}"

    def decode(self, encoded: str) -> dict:
        algorithm, digest = encoded.split("$", 1)
        return {"algorithm": algorithm, "hash": digest, "salt": ""}

    def verify(self, password, encoded) -> bool:
        return constant_time_compare(self.encode(password, ""), encoded)

    def safe_summary(self, encoded) -> dict:
        return {"algorithm": self.algorithm, "hash": mask_hash(self.decode(encoded)["hash"])}

    def must_update(self, encoded) -> bool:
        return False

    def harden_runtime(self, password, encoded) -> None:
        pass


class EboxOAuth2Validator(OAuth2Validator):
    def _check_secret(self, provided_secret, stored_secret):
        try:
            hasher = identify_hasher(stored_secret)
        except ValueError:
            return constant_time_compare(provided_secret, stored_secret)  # stored unhashed (HS256 apps)
        if hasher.algorithm == ALGORITHM:
            return hasher.verify(provided_secret, stored_secret)
        # A secret from before this hasher (PBKDF2, ~0.5 s): checked this once, then re-stored (_authenticate).
        return check_password(provided_secret, stored_secret)

    def _authenticate_basic_auth(self, request):
        return self._authenticate(request, super()._authenticate_basic_auth)

    def _authenticate_request_body(self, request):
        return self._authenticate(request, super()._authenticate_request_body)

    def _authenticate(self, request, method) -> bool:
        valid = method(request)
        client = request.client
        if not valid and client is None:
            # Unknown client id: spend the HMAC a known one costs, so timing does not tell them apart.
            hmac.compare_digest(secret_digest(_provided_secret(request)), "0" * 64)
        elif valid and client.hash_client_secret and not client.client_secret.startswith(ALGORITHM + "$"):
            client.client_secret = make_password(_provided_secret(request), hasher=ALGORITHM)
            type(client).objects.filter(pk=client.pk).update(client_secret=client.client_secret)
            logger.info("client %s: secret re-stored as %s", client.client_id, ALGORITHM)
        return valid

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type not in ALLOWED_GRANT_TYPES:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if response_type != "code":  # no implicit, no hybrid
            return False
        if getattr(request, "code_challenge_method", None) == "plain":
            # DOT refuses it only when the code is issued, after the citizen consented: say so before.
            raise oauth2_errors.InvalidRequestError(
                description='PKCE "plain" is not accepted: use S256', request=request
            )
        return super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)


def _provided_secret(request) -> str:
    secret = getattr(request, "client_secret", None) or ""
    auth = request.headers.get("HTTP_AUTHORIZATION") or request.headers.get("Authorization") or ""
    if not secret and auth.startswith("Basic "):
        import base64
        import binascii

        try:
            secret = unquote_plus(base64.b64decode(auth[6:]).decode("utf-8", "replace").partition(":")[2])
        except (binascii.Error, ValueError):
            secret = ""
    return secret


class IntrospectView(IntrospectTokenView):
    """RFC 7662 introspection for the resource servers named in EBOX_INTROSPECTION_CLIENT_IDS only.

    DOT's view answers any authenticated client (or any token) about any token; here the caller
    must authenticate as an allowed client, and the answer leaves out the username (for a partner
    token it names the citizen)."""

    http_method_names = ["post", "options"]

    def dispatch(self, request, *args, **kwargs):
        if request.method.upper() == "OPTIONS":
            return View.dispatch(self, request, *args, **kwargs)
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        authenticated = core.server.request_validator.authenticate_client(oauth_request)
        client = getattr(oauth_request, "client", None)
        if not authenticated or client is None:
            return JsonResponse(
                {"error": "invalid_client"}, status=401, headers={"WWW-Authenticate": 'Basic realm="ebox"'}
            )
        if client.client_id not in settings.EBOX_INTROSPECTION_CLIENT_IDS:
            return JsonResponse({"error": "unauthorized_client"}, status=403)
        return View.dispatch(self, request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        data = json.loads(response.content)
        if data.pop("username", None) is not None:
            return JsonResponse(data, status=response.status_code)
        return response


def safe_next(request, default: str) -> str:
    """`next` from the request (POST, then GET) when it is one of our own paths, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
