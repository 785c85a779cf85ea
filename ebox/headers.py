"""Response headers every answer gets (issue 15), and bearer tokens only in the Authorization header.

* `Cache-Control: no-store` on every answer that sets no caching policy of its own: portal pages,
  evidence.json, the partner and sender APIs all show personal data; the few public answers that
  may be cached (static files, JWKS, public logos) say so themselves.
* Every cookie is `Secure` when the site is served over https (SESSION_COOKIE_SECURE): the session
  and CSRF cookies by their settings, the language cookie and any other by this middleware.
* The inline PDF of a message is the one answer the portal frames (an <object> in the message
  page): it alone gets `frame-ancestors 'self'` and X-Frame-Options SAMEORIGIN; all else is DENY.
  The API documentation has no exception: its template (templates/drf_spectacular/) has no inline style.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from ebox.status_message import status_message

# Where the portal frames its own answer (route names, see RoutePolicyMiddleware).
FRAMED_ROUTES = {"citizens:attachment"}


class ResponseHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        if settings.SESSION_COOKIE_SECURE:
            for morsel in response.cookies.values():
                morsel["secure"] = True
        return response


class RoutePolicyMiddleware:
    """The exception to the site-wide policy, by route: the message's inline PDF may be framed by our
    own page. Sits inside django-csp's and XFrameOptionsMiddleware, so both see what it decides."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in FRAMED_ROUTES:
            response["X-Frame-Options"] = "SAMEORIGIN"
            response._csp_replace = {"frame-ancestors": ["'self'"]}
        return response


class BearerHeaderOnlyMiddleware:
    """The API takes access tokens from the Authorization header only (RFC 6750 §2.1).

    A token in the query string lands in access logs, proxies and browser history; one in a form
    body is just as easy to leak by a cross-site form. Both are refused with a 401 StatusMessage,
    before any view could accept them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/") and self._token_elsewhere(request):
            response = JsonResponse(
                status_message(
                    401,
                    "access tokens are accepted only in the Authorization header (Authorization: Bearer <token>)",
                ),
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="ebox", error="invalid_request"'
            return response
        return self.get_response(request)

    @staticmethod
    def _token_elsewhere(request) -> bool:
        if "access_token" in request.GET:
            return True
        content_type = request.META.get("CONTENT_TYPE", "")
        return content_type.startswith("application/x-www-form-urlencoded") and "access_token" in request.POST
